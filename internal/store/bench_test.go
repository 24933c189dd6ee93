package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/store/storetest"
)

// BenchmarkFinish measures status writes per second: one final outcome per
// operation (recipient state, score, a suppression every tenth), committed
// alone ("single", one disk sync each) or 100 to a transaction ("batch100",
// as a runner that collects results for a few milliseconds would).
// "attempt+batch100" also records each recipient's attempt, in a batch of
// its own: the whole status cost of one delivered recipient.
func BenchmarkFinish(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name+"/single", func(b *testing.B) { benchFinish(b, e.Fresh(b), 1, false) })
		b.Run(e.Name+"/batch100", func(b *testing.B) { benchFinish(b, e.Fresh(b), 100, false) })
		b.Run(e.Name+"/attempt+batch100", func(b *testing.B) { benchFinish(b, e.Fresh(b), 100, true) })
	}
}

func benchFinish(b *testing.B, dsn string, batch int, attempts bool) {
	ctx := context.Background()
	s := openT(b, dsn, Options{})
	cid, err := s.CreateCampaign(ctx, Campaign{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	rs := make([]Recipient, b.N)
	for i := range rs {
		rs[i] = Recipient{Row: int64(i + 1), Email: fmt.Sprintf("user%d@d%d.example", i, i%500),
			Fields: map[string]string{"name": "名前", "id": fmt.Sprint(i)}}
	}
	for start := 0; start < len(rs); start += 10000 {
		if err := s.AddRecipients(ctx, cid, rs[start:min(start+10000, len(rs))]); err != nil {
			b.Fatal(err)
		}
	}
	// The first recipient's id; ids are consecutive in a fresh store.
	first, err := s.Recipients(ctx, cid, 0, 1)
	if err != nil || len(first) != 1 {
		b.Fatal(err)
	}
	final := func(i int) Final {
		f := Final{RecipientID: first[0].ID + int64(i), Result: result(250, "2.0.0")}
		if i%10 == 0 {
			f.Result, f.Weight = result(550, "5.1.1"), 10
		}
		return f
	}
	b.ResetTimer()
	fs := make([]Final, 0, batch)
	as := make([]Attempt, 0, batch)
	for i := 0; i < b.N; i++ {
		if batch == 1 {
			f := final(i)
			if err := s.Finish(ctx, f.RecipientID, f.Result, f.Weight); err != nil {
				b.Fatal(err)
			}
			continue
		}
		fs = append(fs, final(i))
		if attempts {
			as = append(as, Attempt{RecipientID: fs[len(fs)-1].RecipientID, Result: fs[len(fs)-1].Result,
				Duration: 30 * time.Millisecond})
		}
		if len(fs) == batch || i == b.N-1 {
			if len(as) > 0 {
				if err := s.RecordAttempt(ctx, as...); err != nil {
					b.Fatal(err)
				}
				as = as[:0]
			}
			if _, err := s.FinishBatch(ctx, fs); err != nil {
				b.Fatal(err)
			}
			fs = fs[:0]
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkAddRecipients measures loading a list: rows per second, in
// calls of 5000 rows (one transaction each).
func BenchmarkAddRecipients(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			ctx := context.Background()
			s := openT(b, e.Fresh(b), Options{})
			cid, err := s.CreateCampaign(ctx, Campaign{Name: "load"})
			if err != nil {
				b.Fatal(err)
			}
			rs := make([]Recipient, 0, 5000)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rs = append(rs, Recipient{Row: int64(i + 1), Email: fmt.Sprintf("user%d@d%d.example", i, i%500),
					Fields: map[string]string{"name": "名前", "id": fmt.Sprint(i)}})
				if len(rs) == cap(rs) || i == b.N-1 {
					if err := s.AddRecipients(ctx, cid, rs); err != nil {
						b.Fatal(err)
					}
					rs = rs[:0]
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkClaim measures handing out work: recipients claimed per second
// in batches of 100 (each batch then finished, so the next claim has to
// look past nothing).
func BenchmarkClaim(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			ctx := context.Background()
			s := openT(b, e.Fresh(b), Options{})
			addrs := make([]string, b.N)
			for i := range addrs {
				addrs[i] = fmt.Sprintf("user%d@d%d.example", i, i%500)
			}
			cid, _ := campaignWith(b, s, addrs...)
			b.ResetTimer()
			for claimed := 0; claimed < b.N; {
				got, err := s.Claim(ctx, cid, "bench", 100, time.Minute)
				if err != nil || len(got) == 0 {
					b.Fatalf("Claim: %d, %v", len(got), err)
				}
				claimed += len(got)
				b.StopTimer()
				fs := make([]Final, len(got))
				for i, r := range got {
					fs[i] = Final{RecipientID: r.ID, Result: result(250, "")}
				}
				if _, err := s.FinishBatch(ctx, fs); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "claims/s")
		})
	}
}
