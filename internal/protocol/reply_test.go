package protocol

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hikyaku/hikyaku/internal/codes"
)

func TestReplyWire(t *testing.T) {
	tests := []struct {
		name string
		why  string
		r    Reply
		want string
	}{
		{"one line", "the common case",
			NewReply(codes.RcptOK, "a@example.com"),
			"250 2.1.5 <a@example.com> recipient ok\r\n"},
		{"enhanced on every line", "RFC 2034 §4: HELP and EXPN lines included",
			Reply{Code: 214, Enhanced: "2.0.0", Lines: []string{"a", "b", "c"}},
			"214-2.0.0 a\r\n214-2.0.0 b\r\n214 2.0.0 c\r\n"},
		{"no enhanced", "EHLO keyword lines go without (docs/spec.md §2)",
			Reply{Code: 250, Lines: []string{"mx.example", "PIPELINING", "SIZE 100"}},
			"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n"},
		{"greeting", "220 carries no enhanced code",
			NewReply(codes.Greeting, "mx.example"),
			"220 mx.example ESMTP hikyaku ready\r\n"},
		{"CRLF in text", "a client-supplied HELO name must not inject a reply line",
			Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{"a\r\n250 fake\nx\ry"}},
			"250 2.0.0 a  250 fake x y\r\n"},
		{"no lines", "a bare code is still one line",
			Reply{Code: 250}, "250\r\n"},
		{"empty text with enhanced", "no trailing space",
			Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{""}}, "250 2.0.0\r\n"},
		{"354", "the DATA go-ahead has no enhanced code",
			NewReply(codes.StartData), "354 start mail input; end with <CRLF>.<CRLF>\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewReplyWriter(&buf)
			if err := w.Write(tt.r); err != nil {
				t.Fatal(err)
			}
			if buf.Len() != 0 {
				t.Fatalf("written before Flush: %q", buf.String())
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("%s\n got %q\nwant %q", tt.why, got, tt.want)
			}
			wantLog := strings.ReplaceAll(strings.TrimSuffix(tt.want, "\r\n"), "\r\n", "\n")
			if got := tt.r.String(); got != wantLog {
				t.Errorf("String() = %q, want %q", got, wantLog)
			}
		})
	}
}

// TestReplyWrap: a text too long for one 512-octet line (RFC 5321
// §4.5.3.1.5) is carried on several, each with the code and enhanced code.
func TestReplyWrap(t *testing.T) {
	words := strings.Repeat("word ", 300) // 1500 octets
	jp := strings.Repeat("日本語", 200)      // 1800 octets, no space
	tests := []struct {
		name, why string
		text      string
		sep       string // how the pieces join back into the text
	}{
		{"at spaces", "break where a reader expects it", strings.TrimSpace(words), " "},
		{"no space", "a hard cut must not split a UTF-8 character", jp, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Reply{Code: 550, Enhanced: "5.1.1", Lines: []string{tt.text, "tail"}}
			wire := string(appendReply(nil, r))
			lines := strings.SplitAfter(wire, "\r\n")
			lines = lines[:len(lines)-1]
			if len(lines) < 4 {
				t.Fatalf("%s: want the text wrapped, got %d lines", tt.why, len(lines))
			}
			var pieces []string
			for i, l := range lines {
				if len(l) > 512 {
					t.Errorf("line %d is %d octets", i, len(l))
				}
				mark := "550-5.1.1 "
				if i == len(lines)-1 {
					mark = "550 5.1.1 "
				}
				if !strings.HasPrefix(l, mark) {
					t.Fatalf("line %d = %.20q, want prefix %q", i, l, mark)
				}
				pieces = append(pieces, strings.TrimSuffix(l[len(mark):], "\r\n"))
			}
			if got := strings.Join(pieces[:len(pieces)-1], tt.sep); got != tt.text {
				t.Errorf("%s: text not kept across the wrap", tt.why)
			}
			if pieces[len(pieces)-1] != "tail" {
				t.Errorf("last line = %q", pieces[len(pieces)-1])
			}
		})
	}
}

// TestReplyWriterPipelining: replies accumulate until Flush (RFC 2920), and
// Reset moves the writer to a new connection after STARTTLS.
func TestReplyWriterPipelining(t *testing.T) {
	var a, b bytes.Buffer
	w := NewReplyWriter(&a)
	w.Write(NewReply(codes.SenderOK, "x@y"))
	w.Write(NewReply(codes.RcptOK, "z@y"))
	if a.Len() != 0 || w.Buffered() == 0 {
		t.Fatalf("replies not held: conn %d, buffered %d", a.Len(), w.Buffered())
	}
	w.Flush()
	if want := "250 2.1.0 <x@y> sender ok\r\n250 2.1.5 <z@y> recipient ok\r\n"; a.String() != want {
		t.Errorf("got %q, want %q", a.String(), want)
	}
	w.Write(NewReply(codes.NoopOK))
	w.Reset(&b)
	if w.Buffered() != 0 {
		t.Error("Reset kept a reply meant for the old connection")
	}
	w.Write(NewReply(codes.NoopOK))
	w.Flush()
	if b.String() != "250 2.0.0 OK\r\n" || strings.Count(a.String(), "\r\n") != 2 {
		t.Errorf("after Reset: old %q new %q", a.String(), b.String())
	}
}

func TestReplyWriterNoAlloc(t *testing.T) {
	w := NewReplyWriter(discard{})
	r := Reply{Code: 250, Enhanced: "2.1.5", Lines: []string{"<a@example.com> recipient ok"}}
	w.Write(r)
	if n := testing.AllocsPerRun(100, func() { w.Write(r); w.Flush() }); n != 0 {
		t.Errorf("Write allocates %.0f times per reply", n)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
