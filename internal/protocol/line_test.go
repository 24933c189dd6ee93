package protocol

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type lineResult struct {
	line string
	err  error
}

func TestReadLine(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name, why string
		in        string
		max       int
		want      []lineResult
	}{
		{"simple", "one command", "HELO a\r\n", 2048,
			[]lineResult{{"HELO a", nil}, {"", io.EOF}}},
		{"two", "pipelined commands come one per call", "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n", 2048,
			[]lineResult{{"MAIL FROM:<a@b>", nil}, {"RCPT TO:<c@d>", nil}, {"", io.EOF}}},
		{"empty line", "an empty command is a line too", "\r\nQUIT\r\n", 2048,
			[]lineResult{{"", nil}, {"QUIT", nil}}},
		{"exactly max", "2048 octets including CRLF is allowed (docs/spec.md §2)", long(2046) + "\r\nQUIT\r\n", 2048,
			[]lineResult{{long(2046), nil}, {"QUIT", nil}}},
		{"one over max", "2049 is too long; the rest is discarded and the next line is intact", long(2047) + "\r\nQUIT\r\n", 2048,
			[]lineResult{{"", ErrLineTooLong}, {"QUIT", nil}, {"", io.EOF}}},
		{"far over max", "a line many buffers long is discarded without being kept", long(50000) + "\r\nQUIT\r\n", 2048,
			[]lineResult{{"", ErrLineTooLong}, {"QUIT", nil}}},
		{"auth line", "AUTH responses may be 12288 octets (RFC 4954 §4)", long(12286) + "\r\n*\r\n", MaxAuthLine,
			[]lineResult{{long(12286), nil}, {"*", nil}}},
		{"bare LF not split", "MAIL\\nRCPT is one bad line, never two commands (docs/spec.md §2)", "MAIL FROM:<a@b>\nRCPT TO:<c@d>\r\nNOOP\r\n", 2048,
			[]lineResult{{"", ErrBareLineEnding}, {"NOOP", nil}}},
		{"bare CR", "a CR not followed by LF", "NO\rOP\r\nQUIT\r\n", 2048,
			[]lineResult{{"", ErrBareLineEnding}, {"QUIT", nil}}},
		{"CR CR LF", "the first CR is bare", "NOOP\r\r\nQUIT\r\n", 2048,
			[]lineResult{{"", ErrBareLineEnding}, {"QUIT", nil}}},
		{"only LF", "a bare LF swallows the rest up to the real CRLF", "\nQUIT\r\nNOOP\r\n", 2048,
			[]lineResult{{"", ErrBareLineEnding}, {"NOOP", nil}, {"", io.EOF}}},
		{"too long and bare", "the length is reported first", long(3000) + "\n" + "\r\nQUIT\r\n", 2048,
			[]lineResult{{"", ErrLineTooLong}, {"QUIT", nil}}},
		{"NUL kept", "NUL is an ordinary octet at this layer", "NO\x00OP\r\n", 2048,
			[]lineResult{{"NO\x00OP", nil}}},
		{"UTF-8 kept", "SMTPUTF8 addresses arrive raw", "RCPT TO:<用户@例子.广告>\r\n", 2048,
			[]lineResult{{"RCPT TO:<用户@例子.广告>", nil}}},
		{"eof mid line", "the client went away in the middle", "QUIT", 2048,
			[]lineResult{{"", io.ErrUnexpectedEOF}}},
		{"eof after CR", "a CR then the end", "QUIT\r", 2048,
			[]lineResult{{"", io.ErrUnexpectedEOF}}},
		{"eof while discarding", "a too-long line cut off", long(5000), 2048,
			[]lineResult{{"", io.ErrUnexpectedEOF}}},
		{"clean eof", "nothing at all", "", 2048,
			[]lineResult{{"", io.EOF}}},
	}
	readers := map[string]func(string) *bufio.Reader{
		"4096": func(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) },
		"16":   func(s string) *bufio.Reader { return bufio.NewReaderSize(strings.NewReader(s), 16) },
		"onebyte": func(s string) *bufio.Reader {
			return bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(s)), 16)
		},
	}
	for _, tt := range tests {
		for rname, mk := range readers {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				r := mk(tt.in)
				for i, w := range tt.want {
					got, err := ReadLine(r, tt.max)
					if !errors.Is(err, w.err) || (err == nil && string(got) != w.line) {
						t.Fatalf("%s\nread %d: got (%.40q, %v), want (%.40q, %v)", tt.why, i, got, err, w.line, w.err)
					}
				}
			})
		}
	}
}

// TestReadLineCRAcrossBuffers: a CRLF split between two buffer fills is
// still a CRLF, and a CR at the end of one fill followed by another octet
// is bare.
func TestReadLineCRAcrossBuffers(t *testing.T) {
	for n := 10; n < 40; n++ {
		line := strings.Repeat("y", n)
		r := bufio.NewReaderSize(strings.NewReader(line+"\r\nNEXT\r\n"), 16)
		got, err := ReadLine(r, 100)
		if err != nil || string(got) != line {
			t.Fatalf("len %d: got (%q, %v)", n, got, err)
		}
		r = bufio.NewReaderSize(strings.NewReader(line+"\rz\r\nNEXT\r\n"), 16)
		if _, err := ReadLine(r, 100); err != ErrBareLineEnding {
			t.Fatalf("len %d: bare CR not seen: %v", n, err)
		}
		if got, _ := ReadLine(r, 100); string(got) != "NEXT" {
			t.Fatalf("len %d: out of step: %q", n, got)
		}
	}
}

func TestReadLineNoAlloc(t *testing.T) {
	src := strings.Repeat("RCPT TO:<someone@example.com> NOTIFY=SUCCESS,FAILURE\r\n", 1000)
	sr := strings.NewReader(src)
	r := bufio.NewReader(sr)
	n := testing.AllocsPerRun(100, func() {
		if _, err := ReadLine(r, MaxCommandLine); err != nil {
			sr.Reset(src)
			r.Reset(sr)
		}
	})
	if n != 0 {
		t.Errorf("ReadLine allocates %.1f times per line", n)
	}
}
