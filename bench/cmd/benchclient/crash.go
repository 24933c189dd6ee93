package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// runCrash sends messages on -sessions parallel sessions, each carrying a
// unique token (prefix-session-seq) in an X-Bench-Token header. A token is
// appended to -acked only after its 250 reply has been read, and to -doubt
// when the terminator was sent but no reply came (the server died in
// between: the message may or may not be kept, but never twice). A session
// ends at its first broken connection: the server is meant to be killed
// under it. The run ends when every session has ended or -duration passes.
func runCrash(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("crash", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:2525", "server address")
	from := fs.String("from", "sender@example.test", "envelope sender")
	to := fs.String("to", "alice@example.test", "envelope recipient")
	prefix := fs.String("prefix", "run", "token prefix, unique per run")
	sessions := fs.Int("sessions", 8, "parallel sessions")
	size := fs.Int("size", 1024, "message size in octets")
	ackedPath := fs.String("acked", "acked.txt", "file receiving acknowledged tokens")
	doubtPath := fs.String("doubt", "doubt.txt", "file receiving tokens sent but not answered")
	duration := fs.Duration("duration", time.Minute, "longest run")
	timeout := fs.Duration("timeout", 10*time.Second, "per-step timeout")
	_ = fs.Parse(args)

	acked, err := os.OpenFile(*ackedPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer acked.Close()
	doubt, err := os.OpenFile(*doubtPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer doubt.Close()

	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var mu sync.Mutex // one line per write, whole lines only
	record := func(f *os.File, token string) {
		mu.Lock()
		defer mu.Unlock()
		if _, err := f.WriteString(token + "\n"); err != nil {
			fmt.Fprintf(os.Stderr, "benchclient crash: write %s: %v\n", f.Name(), err)
			os.Exit(1)
		}
	}

	var nAcked, nDoubt, nRefused atomic.Int64
	var wg sync.WaitGroup
	for s := 0; s < *sessions; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial(*addr, *timeout)
			if err == nil {
				if err = c.greet(); err != nil {
					c.close()
				}
			}
			if err != nil {
				return
			}
			defer c.close()
			for seq := 0; ctx.Err() == nil; seq++ {
				token := fmt.Sprintf("%s-%d-%d", *prefix, s, seq)
				dotSent, err := crashOne(c, *from, *to, token, *size)
				switch {
				case err == nil:
					record(acked, token)
					nAcked.Add(1)
				case isReplyError(err):
					// Refused, not stored: a server under a kill test may
					// legitimately answer 4xx while recovering.
					nRefused.Add(1)
					if c.cmd("RSET", 250) != nil {
						return
					}
				default:
					if dotSent {
						record(doubt, token)
						nDoubt.Add(1)
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("crash acked=%d in_doubt=%d refused=%d\n", nAcked.Load(), nDoubt.Load(), nRefused.Load())
	return nil
}

// crashOne sends one message; dotSent says the terminator left us, so a
// missing reply leaves the outcome open.
func crashOne(c *conn, from, to, token string, size int) (dotSent bool, err error) {
	if err := c.cmd("MAIL FROM:<"+from+">", 250); err != nil {
		return false, err
	}
	if err := c.cmd("RCPT TO:<"+to+">", 250); err != nil {
		return false, err
	}
	if err := c.cmd("DATA", 354); err != nil {
		return false, err
	}
	if err := c.send(message(from, to, token, size) + "\r\n.\r\n"); err != nil {
		// Part of the terminator may have gone out; treat it as sent.
		return true, err
	}
	code, text, err := c.reply()
	if err != nil {
		return true, err
	}
	if code != 250 {
		return true, &replyError{cmd: "end of data", code: code, text: text}
	}
	return true, nil
}
