package smtpclient

import (
	"bufio"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	cases := []struct {
		name, why, in string
		code          int
		enhanced      string
		lines         []string
		err           error // errMalformed, io.EOF, io.ErrUnexpectedEOF
	}{
		{"one line", "the common case", "250 ok\r\n", 250, "", []string{"ok"}, nil},
		{"code only", "RFC 5321 §4.2: the text is optional", "250\r\n", 250, "", []string{""}, nil},
		{"enhanced", "RFC 2034 code after the reply code", "550 5.1.1 no such user\r\n", 550, "5.1.1", []string{"no such user"}, nil},
		{"enhanced only", "no text after the enhanced code", "250 2.0.0\r\n", 250, "2.0.0", []string{""}, nil},
		{"multi-line repeated enhanced", "RFC 2034 §4 repeats it; taken off every line",
			"550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n", 550, "5.7.1", []string{"first", "second", "third"}, nil},
		{"multi-line enhanced once", "lines without it stay as they are",
			"451-4.3.0 first\r\n451 second\r\n", 451, "4.3.0", []string{"first", "second"}, nil},
		{"EHLO", "keywords are the lines after the first",
			"250-peer.test\r\n250-PIPELINING\r\n250 SIZE 100\r\n", 250, "", []string{"peer.test", "PIPELINING", "SIZE 100"}, nil},
		{"class mismatch", "an enhanced code of another class is text",
			"550 4.1.1 odd\r\n", 550, "", []string{"4.1.1 odd"}, nil},
		{"version number is not an enhanced code", "\"2.0\" lacks a part", "220 2.0 ready\r\n", 220, "", []string{"2.0 ready"}, nil},
		{"bare LF", "replies are only read: lenient", "250 ok\n", 250, "", []string{"ok"}, nil},
		{"mixed codes", "the first line's code stands", "250-a\r\n251 b\r\n", 250, "", []string{"a", "b"}, nil},
		{"long line", "over 512 octets is accepted up to 4096", "250 " + strings.Repeat("x", 3000) + "\r\n", 250, "", []string{strings.Repeat("x", 3000)}, nil},
		{"too long line", "over 4096 octets is not SMTP", "250 " + strings.Repeat("x", 5000) + "\r\n", 0, "", nil, errMalformed},
		{"garbage", "not a reply", "hello\r\n", 0, "", nil, errMalformed},
		{"short", "two digits", "25\r\n", 0, "", nil, errMalformed},
		{"1yz", "never used by SMTP", "150 go\r\n", 0, "", nil, errMalformed},
		{"bad separator", "fourth octet must be space or hyphen", "250_ok\r\n", 0, "", nil, errMalformed},
		{"second digit 6", "RFC 5321 §4.2 stops at 5", "260 ok\r\n", 0, "", nil, errMalformed},
		{"empty input", "clean EOF: lost", "", 0, "", nil, io.EOF},
		{"cut mid-line", "lost inside a line", "250 o", 0, "", nil, io.EOF},
		{"cut mid-reply", "lost after a continuation line", "250-a\r\n", 0, "", nil, io.EOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := readReply(bufio.NewReaderSize(strings.NewReader(tc.in), 512))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v (%s)", err, tc.err, tc.why)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.code != tc.code || r.enhanced != tc.enhanced || !slices.Equal(r.lines, tc.lines) {
				t.Errorf("got %d %q %q, want %d %q %q (%s)", r.code, r.enhanced, r.lines, tc.code, tc.enhanced, tc.lines, tc.why)
			}
		})
	}
}

// wire writes a parsed reply back as a server would, the enhanced code on
// every line.
func wire(r reply) string {
	var b strings.Builder
	for i, l := range r.lines {
		b.WriteString(strconv.Itoa(r.code))
		if i < len(r.lines)-1 {
			b.WriteByte('-')
		} else {
			b.WriteByte(' ')
		}
		if r.enhanced != "" {
			b.WriteString(r.enhanced + " ")
		}
		b.WriteString(l + "\r\n")
	}
	return b.String()
}

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"250 ok\r\n", "250-a\r\n250 b\r\n", "550-5.1.1 x\r\n550 5.1.1 y\r\n", "220 2.0 x\r\n",
		"250\r\n", "hello\r\n", "250-\r\n250 \r\n", "421 4.7.0 a\rb\r\n", "250-2.0.0 2.0.0\r\n251 x\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := readReply(bufio.NewReaderSize(strings.NewReader(string(in)), 64))
		if err != nil {
			if !errors.Is(err, errMalformed) && !errors.Is(err, io.EOF) {
				t.Fatalf("unexpected error kind %v", err)
			}
			return
		}
		if r.code < 200 || r.code > 559 || len(r.lines) == 0 || (r.enhanced != "" && !validEnhanced(r.enhanced)) {
			t.Fatalf("bad reply %+v", r)
		}
		w := wire(r)
		for _, l := range strings.Split(w, "\r\n") {
			if len(l)+2 > maxReplyLine {
				return // rendering added octets past the limit
			}
		}
		if len(w) > maxReplyBytes {
			return
		}
		again, err := readReply(bufio.NewReader(strings.NewReader(w)))
		if err != nil || again.code != r.code || again.enhanced != r.enhanced || !slices.Equal(again.lines, r.lines) {
			t.Fatalf("%q parsed as %+v, written as %q, parsed again as %+v (%v)", in, r, w, again, err)
		}
	})
}
