package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hikyaku/hikyaku/internal/queue"
	"github.com/hikyaku/hikyaku/internal/spool"
)

func main() {
	dir := flag.String("dir", "", "relay queue directory (<data_dir>/queue), created if missing (required)")
	n := flag.Int("n", 20000, "messages to queue")
	size := flag.Int("size", 1024, "body octets per message")
	domains := flag.Int("domains", 0, "spread recipients over d0.test … d<N-1>.test; 0: every message to -to")
	to := flag.String("to", "u@sink.test", "recipient when -domains is 0")
	from := flag.String("from", "s@example.test", "envelope sender")
	workers := flag.Int("workers", 16, "messages added at once (they share commits)")
	flag.Parse()
	if *dir == "" || *n < 0 || *size < 0 || *domains < 0 || *workers < 1 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	start := time.Now()
	octets, err := fill(*dir, *n, *size, *domains, *workers, *from, *to)
	if err != nil {
		fmt.Fprintf(os.Stderr, "queuefill: %v\n", err)
		os.Exit(1)
	}
	// The last line is read by bench/campaign.sh.
	fmt.Fprintf(os.Stderr, "queuefill: %d messages in %s in %.1fs\n", *n, *dir, time.Since(start).Seconds())
	fmt.Fprintf(os.Stderr, "queuefill: octets per message: %d\n", octets/int64(max(*n, 1)))
}

// fill writes n messages with workers goroutines into one Store, whose
// writer commits what they add meanwhile together.
func fill(dir string, n, size, domains, workers int, from, to string) (octets int64, err error) {
	body := makeBody(size)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	st, err := queue.OpenStore(dir)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	var total atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				rcpt := to
				if domains > 0 {
					rcpt = fmt.Sprintf("u%d@d%d.test", i, i%domains)
				}
				msg, rcpts := message(i, from, rcpt, body)
				total.Add(int64(len(msg.Data)))
				if err := st.Add(msg, rcpts); err != nil {
					errs <- fmt.Errorf("message %d: %w", i, err)
					next.Store(int64(n)) // stop the others too
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return total.Load(), <-errs
}

// message builds the spooled form of message i: the receiver's Received
// header on top, as the Router would hand it to the Store.
func message(i int, from, rcpt string, body []byte) (*spool.Message, []spool.Recipient) {
	id := spool.NewID()
	now := time.Now()
	var b bytes.Buffer
	fmt.Fprintf(&b, "Received: from bench.example.test ([127.0.0.1])\r\n\tby mx.example.test (hikyaku) with ESMTP id %s\r\n\tfor <%s>; %s\r\n", id, rcpt, now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: queuefill %d\r\nDate: %s\r\nMessage-ID: <%s@example.test>\r\n\r\n", from, rcpt, i, now.Format(time.RFC1123Z), id)
	b.Write(body)
	rcpts := []spool.Recipient{{Address: rcpt, Relay: rcpt}}
	msg := &spool.Message{
		Envelope: spool.Envelope{
			ID: id, From: from, Recipients: rcpts, ReceivedAt: now,
			ClientIP: "127.0.0.1", Helo: "bench.example.test", Proto: "ESMTP",
			Body: "7BIT", Size: int64(b.Len()),
		},
		Data: b.Bytes(),
	}
	return msg, rcpts
}

// makeBody returns size octets (size+1 when a bare CR would be left over)
// of CRLF-terminated lines of at most 76 characters, none starting with a
// dot.
func makeBody(size int) []byte {
	const line = 76
	var b bytes.Buffer
	for b.Len() < size {
		left := size - b.Len()
		if left <= 2 {
			b.WriteString("\r\n") // one octet over rather than a bare CR
			break
		}
		w := min(line, left-2)
		b.WriteString(strings.Repeat("x", w))
		b.WriteString("\r\n")
	}
	return b.Bytes()
}
