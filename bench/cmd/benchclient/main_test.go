package main

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

func TestReply(t *testing.T) {
	cases := []struct {
		name     string
		input    string
		wantCode int
		wantLine string
		wantErr  bool
	}{
		// The EHLO answer is multi-line; only its last line ends the reply.
		{"multi-line", "250-mx.example.test\r\n250-PIPELINING\r\n250 SIZE 100\r\n", 250, "250 SIZE 100", false},
		// A bare code with no text is a complete reply (RFC 5321 §4.2).
		{"code only", "354\r\n", 354, "354", false},
		// The crash test must tell a reply from garbage, not count it as 250.
		{"not a code", "hello\r\n", 0, "hello", true},
		// A connection cut mid-reply is an error, never a reply.
		{"cut", "250-first\r\n", 0, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			defer client.Close()
			go func() {
				_, _ = server.Write([]byte(tc.input))
				server.Close()
			}()
			c := &conn{c: client, r: bufio.NewReader(client), w: bufio.NewWriter(client), timeout: time.Second}
			code, line, err := c.reply()
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if code != tc.wantCode || (!tc.wantErr && line != tc.wantLine) {
				t.Errorf("got %d %q, want %d %q", code, line, tc.wantCode, tc.wantLine)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	m := message("a@example.test", "b@example.test", "k1-2-3", 1024)
	// crashtest.sh counts tokens with one grep per header line: exactly one.
	if n := strings.Count(m, "\r\nX-Bench-Token: k1-2-3\r\n"); n != 1 {
		t.Errorf("token header appears %d times, want 1", n)
	}
	// The caller sends "\r\n.\r\n"; a trailing CRLF here would add a line.
	if strings.HasSuffix(m, "\r\n") {
		t.Error("message ends with CRLF")
	}
	if len(m) < 1024-2 {
		t.Errorf("message is %d octets, want about 1024", len(m))
	}
	// Only CRLF line ends: hikyaku rejects bare LF by default.
	if strings.Count(m, "\n") != strings.Count(m, "\r\n") {
		t.Error("message has a bare LF")
	}
}

func TestPct(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		d := make([]time.Duration, len(n))
		for i, v := range n {
			d[i] = time.Duration(v) * time.Millisecond
		}
		return d
	}
	cases := []struct {
		name   string
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{"empty", nil, 99, 0}, // no samples must not panic
		{"median of odd", ms(1, 2, 3), 50, 2 * time.Millisecond},               // nearest rank
		{"p99 of 100 is the 99th", ms(seq(100)...), 99, 99 * time.Millisecond}, // not the max
		{"p99 of 10 is the max", ms(seq(10)...), 99, 10 * time.Millisecond},    // few samples: rank rounds up
		{"p100 is the max", ms(1, 5, 9), 100, 9 * time.Millisecond},
	}
	for _, tc := range cases {
		if got := pct(tc.sorted, tc.p); got != tc.want {
			t.Errorf("%s: pct(%d) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i + 1
	}
	return s
}
