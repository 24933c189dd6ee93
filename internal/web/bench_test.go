package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/metrics"
	"github.com/hikyaku/hikyaku/internal/queue"
	"github.com/hikyaku/hikyaku/internal/spool"
	"github.com/hikyaku/hikyaku/internal/store"
	"github.com/hikyaku/hikyaku/internal/store/storetest"
)

// BenchmarkPages renders every page server side over a status store
// holding one campaign of a million rows (HIKYAKU_BENCH_ROWS to change),
// on the embedded store and, when HIKYAKU_TEST_MYSQL_DSN is set, MariaDB.
// ns/op is one warm render (the snapshots in place, as every view after
// the first); cold-ms is the first view, which waits firstWait at most for
// its snapshots and else says it is counting; the campaign page also
// reports query-ms, what computing its snapshot took, and counted-ms and
// grouped-ms, what its results by code, domain and reason take read from
// the kept counts (as the page does) and grouped from the rows. Bounded:
// run with -benchtime=20x.
//
//	go test ./internal/web -run '^$' -bench Pages -benchtime=20x
func BenchmarkPages(b *testing.B) {
	rows := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("HIKYAKU_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	for _, e := range []struct {
		name string
		dsn  func(testing.TB) string
	}{
		{"sqlite", func(tb testing.TB) string { return "sqlite:" + filepath.Join(tb.TempDir(), "status.db") }},
		{"mysql", storetest.FreshMySQL},
	} {
		b.Run(e.name, func(b *testing.B) { benchPages(b, e.dsn(b), rows) })
	}
}

// benchQueue is the relay queue's size in BenchmarkPages.
const benchQueue = 1000

func benchPages(b *testing.B, dsn string, rows int) {
	defer func(w time.Duration) { firstWait = w }(firstWait)
	firstWait = 50 * time.Millisecond // as served; TestMain lengthens it for the tests
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	t0 := time.Now()
	cid := fillCampaign(b, dsn, st, "big", rows, time.Now().Add(-time.Hour))
	b.Logf("filled %d rows, %d attempts in %v", rows, rows*9/10, time.Since(t0).Round(time.Millisecond))
	// A second handle for the snapshots' queries, as serve gives it.
	bg, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer bg.Close()
	q, err := queue.OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	for i := 0; i < benchQueue; i++ {
		to := []spool.Recipient{{Address: fmt.Sprintf("r%d@d%d.test", i, i%20), Relay: fmt.Sprintf("r%d@d%d.test", i, i%20)}}
		data := []byte("Subject: x\r\n\r\nbody\r\n")
		msg := &spool.Message{Envelope: spool.Envelope{ID: fmt.Sprintf("Q%d", i), From: "s@here.test", ReceivedAt: time.Now(),
			Size: int64(len(data)), Recipients: to}, Data: data}
		if err := q.Add(msg, to); err != nil {
			b.Fatal(err)
		}
	}
	m := metrics.New()
	h := New(Options{Queue: q, Listen: "127.0.0.1:8025", Metrics: m.Handler(), Gatherer: m.Registry, Sessions: func() int { return 0 },
		Store:      func(context.Context) (*store.Store, error) { return st, nil },
		Background: func(context.Context) (*store.Store, error) { return bg, nil }})
	defer h.Close()
	render := func(tb testing.TB, path string) string {
		req := httptest.NewRequest("GET", path, nil)
		req.Host = "127.0.0.1:8025"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			tb.Fatalf("%s: %d %s", path, w.Code, w.Body.String())
		}
		return w.Body.String()
	}
	// The rows fillCampaign gives 250 (x%10 < 7).
	sent := 0
	for x := 1; x <= rows; x++ {
		if x%10 < 7 {
			sent++
		}
	}
	for _, p := range []struct{ name, path string }{
		{"overview", "/"}, {"campaigns", "/campaigns"}, {"campaign", fmt.Sprintf("/campaigns/%d", cid)},
		{"api-campaign", fmt.Sprintf("/api/campaigns/%d", cid)}, {"suppressions", "/suppressions"},
		{"suppressions-search", "/suppressions?q=u17"}, {"address", "/address?a=u7@d7.test"}, {"codes", "/codes"},
		{"queue", "/queue"},
	} {
		// The first view waits for any snapshot it needs; b.Run calls its
		// function more than once, so it is timed out here.
		start := time.Now()
		body := render(b, p.path)
		cold := time.Since(start)
		// The counts the store keeps are exact on the first view.
		if want := fmt.Sprintf(`<tr data-code="250"><td><a href="/codes#code-250">250</a></td><td data-n="%d"`, sent); p.name == "campaign" && !strings.Contains(body, want) {
			b.Fatalf("first view of the campaign lacks %s", want)
		}
		// The warm renders are of the whole page: its snapshots in place.
		h.snaps.wait()
		render(b, p.path)
		h.snaps.wait()
		first := h.snaps.peek(snapKey("agg", store.Campaign{ID: cid, State: store.CampaignRunning}))
		b.Run(p.name, func(b *testing.B) {
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				render(b, p.path)
			}
			b.StopTimer()
			b.ReportMetric(float64(cold.Microseconds())/1000, "cold-ms")
			if first != nil && p.name == "campaign" {
				b.ReportMetric(float64(first.took.Microseconds())/1000, "query-ms")
			}
			if p.name == "campaign" {
				// The results by code, domain and reason, as the page reads
				// them (kept counts) and as the rows give them.
				t0 := time.Now()
				if _, err := st.CountedGroups(ctx, cid); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(time.Since(t0).Microseconds())/1000, "counted-ms")
				t0 = time.Now()
				if _, err := st.CampaignGroups(ctx, cid); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(time.Since(t0).Microseconds())/1000, "grouped-ms")
			}
			// A refresh a render started runs on; let it end before the
			// next page is timed, as it would compete for the store.
			h.snaps.wait()
		})
	}
}
