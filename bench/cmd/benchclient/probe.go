package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"
)

// runProbe sends messages one after another on one session and times each
// from writing the terminating "\r\n.\r\n" to reading the reply, until
// signalled or -duration passes. It prints the percentiles on exit. A
// broken session is reopened and counted; a reply other than 250 counts as
// an error.
func runProbe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("probe", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:2525", "server address")
	from := fs.String("from", "probe@example.test", "envelope sender")
	to := fs.String("to", "alice@example.test", "envelope recipient")
	size := fs.Int("size", 1024, "message size in octets")
	duration := fs.Duration("duration", 5*time.Minute, "longest run")
	timeout := fs.Duration("timeout", 30*time.Second, "per-step timeout")
	_ = fs.Parse(args)

	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var lat []time.Duration
	errs := 0
	var lastErr error
	var c *conn
	for seq := 0; ctx.Err() == nil; seq++ {
		if c == nil {
			var err error
			if c, err = dial(*addr, *timeout); err == nil {
				err = c.greet()
			}
			if err != nil {
				if c != nil {
					c.close()
					c = nil
				}
				errs++
				lastErr = err
				time.Sleep(50 * time.Millisecond)
				continue
			}
		}
		d, err := probeOne(c, *from, *to, fmt.Sprintf("probe-%d-%d", os.Getpid(), seq), *size)
		if err != nil {
			errs++
			lastErr = err
			if !isReplyError(err) {
				c.close()
				c = nil
			}
			continue
		}
		lat = append(lat, d)
	}
	if c != nil {
		_ = c.cmd("QUIT", 221)
		c.close()
	}
	slices.Sort(lat)
	fmt.Printf("probe n=%d errors=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
		len(lat), errs, ms(pct(lat, 50)), ms(pct(lat, 99)), ms(pct(lat, 100)))
	if errs > 0 {
		return fmt.Errorf("%d errors, last: %v", errs, lastErr)
	}
	if len(lat) == 0 {
		return fmt.Errorf("no message sent")
	}
	return nil
}

func probeOne(c *conn, from, to, token string, size int) (time.Duration, error) {
	if err := c.cmd("MAIL FROM:<"+from+">", 250); err != nil {
		return 0, err
	}
	if err := c.cmd("RCPT TO:<"+to+">", 250); err != nil {
		return 0, err
	}
	if err := c.cmd("DATA", 354); err != nil {
		return 0, err
	}
	if err := c.send(message(from, to, token, size)); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := c.send("\r\n.\r\n"); err != nil {
		return 0, err
	}
	code, text, err := c.reply()
	d := time.Since(t0)
	if err != nil {
		return 0, err
	}
	if code != 250 {
		return 0, &replyError{cmd: "end of data", code: code, text: text}
	}
	return d, nil
}

// pct is the nearest-rank percentile of sorted durations.
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
