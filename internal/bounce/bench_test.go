package bounce

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"
)

// loadCorpusMails reads every file of the corpus's maildir-bsd folder into
// memory, sorted by name; it skips the benchmark when the corpus is absent.
func loadCorpusMails(b *testing.B) ([]string, [][]byte, int) {
	b.Helper()
	dir, ok := findCorpusMails()
	if !ok {
		b.Fatalf("the bounce corpus is missing from %s", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	mails := make([][]byte, 0, len(names))
	total := 0
	for _, n := range names {
		m, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			b.Fatal(err)
		}
		mails = append(mails, m)
		total += len(m)
	}
	if len(mails) == 0 {
		b.Skipf("no mails in %s", dir)
	}
	return names, mails, total
}

// BenchmarkReadCorpus reads the whole public corpus once per iteration
// (the mails are in memory: this is the reader alone, not the disk) and
// reports mails/s, allocations and octets allocated per mail.
//
//	go test ./internal/bounce -run '^$' -bench ReadCorpus -benchtime 20x
func BenchmarkReadCorpus(b *testing.B) {
	names, mails, total := loadCorpusMails(b)
	opt := Options{}
	for _, m := range mails { // warm up: rules, charset tables
		Read(m, opt)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		for _, m := range mails {
			if _, err := Read(m, opt); err != nil && err != ErrNotMessage {
				b.Fatal(err)
			}
		}
		n += len(mails)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "mails/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(n), "allocs/mail")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n), "B/mail")
	b.ReportMetric(float64(len(mails)), "mails/op")
	logSlowest(b, names, mails, 5)
}

// logSlowest logs the k mails that take longest to read (best of 3), to
// tell where the time goes.
func logSlowest(b *testing.B, names []string, mails [][]byte, k int) {
	type cost struct {
		name string
		d    time.Duration
	}
	costs := make([]cost, len(mails))
	for i, m := range mails {
		best := time.Duration(1 << 62)
		for range 3 {
			t0 := time.Now()
			Read(m, Options{})
			best = min(best, time.Since(t0))
		}
		costs[i] = cost{names[i], best}
	}
	sort.Slice(costs, func(i, j int) bool { return costs[i].d > costs[j].d })
	for _, c := range costs[:min(k, len(costs))] {
		b.Logf("slow: %s %v", c.name, c.d.Round(time.Microsecond))
	}
}
