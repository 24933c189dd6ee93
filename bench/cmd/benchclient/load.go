package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runLoad is smtp-source with what smtp-source cannot do: STARTTLS and
// AUTH. -sessions clients send -messages in all, each opening a new
// connection every -per-session messages, so that the TLS handshake (and
// the AUTH hash) is paid once per connection as a real client pays it.
// It prints one line: messages/s, connections, and the mean time of the
// STARTTLS step (command to finished handshake) and of AUTH.
//
//	benchclient load -addr 127.0.0.1:2525 -messages 20000 -sessions 20 -per-session 10 -tls -auth alice@example.test:pw
func runLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:2525", "server address")
	from := fs.String("from", "sender@example.test", "envelope sender")
	to := fs.String("to", "alice@example.test", "envelope recipient")
	size := fs.Int("size", 1024, "message size in octets")
	total := fs.Int("messages", 10000, "messages to send in all")
	sessions := fs.Int("sessions", 20, "concurrent connections")
	perSession := fs.Int("per-session", 10, "messages per connection")
	useTLS := fs.Bool("tls", false, "STARTTLS after EHLO (certificate not checked)")
	resume := fs.Bool("resume", false, "keep TLS sessions for resumption, as MTAs with a session cache do")
	authArg := fs.String("auth", "", "user:password for AUTH PLAIN after STARTTLS")
	timeout := fs.Duration("timeout", 30*time.Second, "per-step timeout")
	_ = fs.Parse(args)
	user, pass, _ := strings.Cut(*authArg, ":")
	tlsConf := &tls.Config{InsecureSkipVerify: true}
	if *resume {
		tlsConf.ClientSessionCache = tls.NewLRUClientSessionCache(*sessions)
	}

	var (
		next                atomic.Int64 // messages handed out
		sent, conns, errs   atomic.Int64
		tlsNanos, authNanos atomic.Int64
		lastErrMu           sync.Mutex
		lastErr             error
	)
	fail := func(err error) {
		errs.Add(1)
		lastErrMu.Lock()
		lastErr = err
		lastErrMu.Unlock()
	}
	t0 := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *sessions; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				first := next.Add(int64(*perSession)) - int64(*perSession)
				if first >= int64(*total) {
					return
				}
				n := min(int64(*perSession), int64(*total)-first)
				c, err := dial(*addr, *timeout)
				if err == nil {
					conns.Add(1)
					err = c.greet()
				}
				if err == nil && *useTLS {
					t := time.Now()
					err = c.startTLS(tlsConf)
					tlsNanos.Add(int64(time.Since(t)))
				}
				if err == nil && user != "" {
					t := time.Now()
					err = c.cmd("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)), 235)
					authNanos.Add(int64(time.Since(t)))
				}
				for i := int64(0); err == nil && i < n; i++ {
					if _, err = probeOne(c, *from, *to, fmt.Sprintf("load-%d-%d", os.Getpid(), first+i), *size); err == nil {
						sent.Add(1)
					}
				}
				if err == nil {
					err = c.cmd("QUIT", 221)
				}
				if c != nil {
					c.close()
				}
				if err != nil {
					fail(err)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(t0).Seconds()
	mean := func(total *atomic.Int64) float64 {
		if conns.Load() == 0 {
			return 0
		}
		return float64(total.Load()) / float64(conns.Load()) / 1e6
	}
	fmt.Printf("load messages=%d seconds=%.3f msgs_per_s=%.0f connections=%d tls=%v resume=%v starttls_ms=%.2f auth_ms=%.2f errors=%d\n",
		sent.Load(), secs, float64(sent.Load())/secs, conns.Load(), *useTLS, *resume, mean(&tlsNanos), mean(&authNanos), errs.Load())
	if errs.Load() > 0 {
		return fmt.Errorf("%d errors, last: %v", errs.Load(), lastErr)
	}
	return nil
}

// startTLS upgrades the connection and says EHLO again (RFC 3207).
func (c *conn) startTLS(conf *tls.Config) error {
	if err := c.cmd("STARTTLS", 220); err != nil {
		return err
	}
	tc := tls.Client(c.c, conf)
	if err := tc.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return err
	}
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	c.c, c.r, c.w = tc, bufio.NewReaderSize(tc, 4096), bufio.NewWriterSize(tc, 8192)
	return c.cmd("EHLO bench.example.test", 250)
}
