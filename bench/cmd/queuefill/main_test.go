package main

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/hikyaku/hikyaku/internal/queue"
)

func TestMakeBody(t *testing.T) {
	cases := []struct {
		name string
		size int
		want int
	}{
		{"zero", 0, 0},                   // -size 0 is a header-only message
		{"one line", 50, 50},             // shorter than one full line
		{"exact lines", 78 * 3, 78 * 3},  // 76 characters + CRLF, three times
		{"smtp-source size", 1024, 1024}, // the benchmark's size, exact
		{"one left over", 79, 80},        // a bare CR would be left: one octet over instead
		{"two left over", 80, 80},        // exactly a CRLF line of its own
		{"large", 100000, 100000},        // many lines, still within 998 octets each
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := makeBody(c.size)
			if len(b) != c.want {
				t.Fatalf("len = %d, want %d", len(b), c.want)
			}
			if len(b) > 0 && !bytes.HasSuffix(b, []byte("\r\n")) {
				t.Fatalf("body does not end in CRLF: %q", b[max(0, len(b)-4):])
			}
			for i, l := range bytes.Split(bytes.TrimSuffix(b, []byte("\r\n")), []byte("\r\n")) {
				if bytes.ContainsAny(l, "\r\n") || len(l) > 76 || bytes.HasPrefix(l, []byte(".")) {
					t.Fatalf("line %d %q: bare CR/LF, over 76 or starting with a dot", i, l)
				}
			}
		})
	}
}

// fill must leave exactly n items, each with its one queued recipient on
// the expected domain and its data file beside it: that is what the
// benchmark then times hikyaku delivering.
func TestFill(t *testing.T) {
	cases := []struct {
		name    string
		n       int
		domains int
		workers int
	}{
		{"one domain", 7, 0, 3},             // every message to -to
		{"many domains", 25, 10, 4},         // u<i>@d<i mod 10>.test
		{"more workers than msgs", 2, 5, 8}, // idle workers must not write anything
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			octets, err := fill(dir, c.n, 100, c.domains, c.workers, "s@example.test", "u@sink.test")
			if err != nil {
				t.Fatal(err)
			}
			st, err := queue.OpenStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			items, err := st.List()
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != c.n {
				t.Fatalf("%d items, want %d", len(items), c.n)
			}
			var sum int64
			for _, it := range items {
				sum += it.Size
			}
			if sum != octets {
				t.Errorf("fill reported %d octets, the queue holds %d", octets, sum)
			}
			perDomain := map[string]int{}
			for _, it := range items {
				if len(it.Recipients) != 1 || it.Recipients[0].Status != queue.StatusQueued || it.From != "s@example.test" {
					t.Fatalf("item %s: %+v", it.ID, it)
				}
				if data, err := st.Data(it.ID); err != nil || int64(len(data)) != it.Size {
					t.Fatalf("item %s: octets %d (%v), want %d", it.ID, len(data), err, it.Size)
				}
				addr := it.Recipients[0].Address
				_, dom, _ := bytes.Cut([]byte(addr), []byte("@"))
				perDomain[string(dom)]++
				if c.domains == 0 && addr != "u@sink.test" {
					t.Fatalf("item %s to %s, want u@sink.test", it.ID, addr)
				}
			}
			if c.domains > 0 {
				for d := range c.domains {
					want := c.n / c.domains
					if d < c.n%c.domains {
						want++
					}
					if got := perDomain[fmt.Sprintf("d%d.test", d)]; got != want {
						t.Errorf("d%d.test: %d messages, want %d", d, got, want)
					}
				}
			}
		})
	}
}
