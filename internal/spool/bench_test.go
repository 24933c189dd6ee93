package spool

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCommit1KiB measures durable commits of 1 KiB messages on the real
// disk under the test's temporary directory, from one session and from 20
// concurrent ones. commits/s is the receiver's ceiling for 250 replies;
// records/sync shows how many sessions share each fdatasync.
func BenchmarkCommit1KiB(b *testing.B) {
	for _, sessions := range []int{1, 20} {
		b.Run(fmt.Sprintf("sessions=%d", sessions), func(b *testing.B) {
			var syncs atomic.Int64
			var syncTime atomic.Int64
			opt := Options{
				Logger: slog.New(slog.DiscardHandler),
				OnSync: func(d time.Duration, _ int) {
					syncs.Add(1)
					syncTime.Add(int64(d))
				},
			}
			s, _, err := Open(b.TempDir(), opt)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			commit := func(env *Envelope, data []byte) {
				env.ID = NewID()
				if err := s.Commit(context.Background(), env, data); err != nil {
					b.Error(err)
				}
				s.Done(env.ID)
			}
			b.SetBytes(1024)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			if sessions == 1 {
				env, data := testEnvelope(0), make([]byte, 1024)
				for range b.N {
					commit(env, data)
				}
			} else {
				b.SetParallelism((sessions + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.RunParallel(func(pb *testing.PB) {
					env, data := testEnvelope(0), make([]byte, 1024)
					for pb.Next() {
						commit(env, data)
					}
				})
			}
			elapsed := time.Since(start)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "commits/s")
			if n := syncs.Load(); n > 0 {
				b.ReportMetric(float64(b.N)/float64(n), "records/sync")
				b.ReportMetric(float64(syncTime.Load())/float64(n)/1e3, "µs/sync")
			}
		})
	}
}
