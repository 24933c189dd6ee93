package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/hikyaku/hikyaku/internal/store/storetest"
)

// BenchmarkRecordBounces measures bounces recorded per second as serve's
// intake records them: batches of 256 (one transaction each), each a 550
// user unknown for a sent row of its own, so every one sets the final and
// moves a score. RowExists is the receiver's check at RCPT.
func BenchmarkRecordBounces(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name+"/batch256", func(b *testing.B) {
			ctx := context.Background()
			s := openT(b, e.Fresh(b), Options{})
			name := benchBounceCampaign(b, s, b.N)
			b.ResetTimer()
			batch := make([]Bounce, 0, 256)
			for i := 0; i < b.N; i++ {
				u := bounceOf(550, "5.1.1", "userunknown", "recipient", fmt.Sprintf("key-%d", i))
				u.Campaign, u.Row = name, int64(i+1)
				if batch = append(batch, u); len(batch) == cap(batch) || i == b.N-1 {
					outs, err := s.RecordBounces(ctx, batch)
					if err != nil {
						b.Fatal(err)
					}
					for _, o := range outs {
						if o != BounceRecorded {
							b.Fatalf("outcome %q", o)
						}
					}
					batch = batch[:0]
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bounces/s")
		})
		b.Run(e.Name+"/RowExists", func(b *testing.B) {
			ctx := context.Background()
			s := openT(b, e.Fresh(b), Options{})
			name := benchBounceCampaign(b, s, 1000)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if ok, err := s.RowExists(ctx, name, int64(i%1000+1)); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// benchBounceCampaign loads n rows, each sent (final 250).
func benchBounceCampaign(b *testing.B, s *Store, n int) string {
	ctx := context.Background()
	cid, err := s.CreateCampaign(ctx, Campaign{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	rs := make([]Recipient, n)
	for i := range rs {
		rs[i] = Recipient{Row: int64(i + 1), Email: fmt.Sprintf("user%d@d%d.example", i, i%500)}
	}
	for start := 0; start < len(rs); start += 10000 {
		if err := s.AddRecipients(ctx, cid, rs[start:min(start+10000, len(rs))]); err != nil {
			b.Fatal(err)
		}
	}
	var fs []Final
	for after := int64(0); ; {
		page, err := s.Recipients(ctx, cid, after, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		fs = fs[:0]
		for _, r := range page {
			fs = append(fs, Final{RecipientID: r.ID, Result: result(250, "2.0.0")})
			after = r.Row
		}
		if _, err := s.FinishBatch(ctx, fs); err != nil {
			b.Fatal(err)
		}
	}
	return "bench"
}
