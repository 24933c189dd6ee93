package mailbox

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkDeliverBatch measures durable deliveries per second of 1 KiB
// messages to 10 mailboxes, per batch size and per way of syncing the tmp
// files. "concurrent" runs GOMAXPROCS Deliver calls at once, as sessions
// and the queue do.
func BenchmarkDeliverBatch(b *testing.B) {
	modes := []struct {
		name string
		mode syncMode
	}{{"fsync-parallel", syncParallel}, {"fsync-each", syncEach}, {"syncfs", syncFS}}
	body := "Subject: bench\r\n\r\n" + strings.Repeat("0123456789abcde\r\n", 1024/17)
	for _, m := range modes {
		for _, size := range []int{1, 64} {
			for _, concurrent := range []bool{false, true} {
				name := fmt.Sprintf("%s/batch=%d", m.name, size)
				if concurrent {
					name += "/concurrent"
				}
				b.Run(name, func(b *testing.B) {
					s := newTestStore(b, StoreOptions{})
					s.sync = m.mode
					var seq atomic.Int64
					one := func() {
						qid := fmt.Sprintf("B%d", seq.Add(1))
						ds := make([]Delivery, size)
						for i := range ds {
							ds[i] = delivery(fmt.Sprintf("example.test/u%d", i%10), qid, i, body)
						}
						for _, err := range s.Deliver(ds, false) {
							if err != nil {
								b.Fatal(err)
							}
						}
					}
					b.ResetTimer()
					if concurrent {
						b.RunParallel(func(pb *testing.PB) {
							for pb.Next() {
								one()
							}
						})
					} else {
						for b.Loop() {
							one()
						}
					}
					b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "deliveries/s")
				})
			}
		}
	}
}
