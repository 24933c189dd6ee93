package main

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// runIdle opens n sessions, reads each greeting, says EHLO, prints
// "ready opened=N failed=F" and holds the sessions until signalled (or
// -hold passes), so the caller can read the server's memory in between.
func runIdle(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:2525", "server address")
	n := fs.Int("n", 10000, "sessions to open")
	par := fs.Int("parallel", 64, "sessions being opened at once")
	hold := fs.Duration("hold", 10*time.Minute, "longest time to hold the sessions")
	timeout := fs.Duration("timeout", 30*time.Second, "per-step timeout")
	_ = fs.Parse(args)

	conns := make([]*conn, *n)
	var failed atomic.Int64
	var firstErr atomic.Value
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < *par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				c, err := dial(*addr, *timeout)
				if err == nil {
					if err = c.greet(); err != nil {
						c.close()
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				conns[i] = c
			}
		}()
	}
	start := time.Now()
	for i := 0; i < *n && ctx.Err() == nil; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	opened := *n - int(failed.Load())
	fmt.Printf("ready opened=%d failed=%d seconds=%.1f\n", opened, failed.Load(), time.Since(start).Seconds())
	if e := firstErr.Load(); e != nil {
		fmt.Printf("first error: %s\n", e)
	}

	select {
	case <-ctx.Done():
	case <-time.After(*hold):
	}
	// Sessions the server dropped while held count as failures too.
	dropped := 0
	for _, c := range conns {
		if c == nil {
			continue
		}
		if err := c.cmd("NOOP", 250); err != nil {
			dropped++
		}
		c.close()
	}
	fmt.Printf("released opened=%d dropped_while_held=%d\n", opened, dropped)
	if failed.Load() > 0 || dropped > 0 {
		return fmt.Errorf("%d sessions failed to open, %d dropped while held", failed.Load(), dropped)
	}
	return nil
}
