package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type dataCase struct {
	name, why string
	in        string // after the 354; "NEXT\r\n" is appended to check the stream stays in step
	normalize bool
	max       int64
	out       string // content written, when no flag is set
	tooBig    bool
	bare      bool
}

var dataCases = []dataCase{
	{"simple", "header, body, terminator", "Subject: x\r\n\r\nbody\r\n.\r\n", false, 0, "Subject: x\r\n\r\nbody\r\n", false, false},
	{"empty message", "a lone dot as the very first line (RFC 5321 §4.1.1.4)", ".\r\n", false, 0, "", false, false},
	{"empty line", "one empty line, then the end", "\r\n.\r\n", false, 0, "\r\n", false, false},
	{"unstuff", "a leading dot is removed (RFC 5321 §4.5.2)", "..leading\r\nx\r\n.\r\n", false, 0, ".leading\r\nx\r\n", false, false},
	{"unstuff lone dot", "\"..\" is a line holding one dot, not the end", "a\r\n..\r\nb\r\n.\r\n", false, 0, "a\r\n.\r\nb\r\n", false, false},
	{"unstuff only one", "\"...\" loses one dot", "...x\r\n.\r\n", false, 0, "..x\r\n", false, false},
	{"dot inside line", "only a dot at the line start is stuffing", "a.b\r\n a.\r\n.\r\n", false, 0, "a.b\r\n a.\r\n", false, false},
	{"dot space", "\". \" is not the terminator", "a\r\n. \r\n.\r\n", false, 0, "a\r\n \r\n", false, false},
	{"NUL", "NUL octets are content", "a\x00b\r\n.\r\n", false, 0, "a\x00b\r\n", false, false},
	{"long line", "lines over 1000 octets are accepted (docs/spec.md §2)", strings.Repeat("L", 5000) + "\r\n.\r\n", false, 0, strings.Repeat("L", 5000) + "\r\n", false, false},
	{"UTF-8", "8BITMIME/SMTPUTF8 content is octets", "件名: テスト\r\n.\r\n", false, 0, "件名: テスト\r\n", false, false},

	// SMTP smuggling (CVE-2023-51764/51765/51766): none of these ends DATA.
	{"LF.LF", "the Postfix/Sendmail smuggling sequence", "a\n.\nMAIL FROM:<x@y>\r\n.\r\n", false, 0, "", false, true},
	{"CRLF.LF", "", "a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n", false, 0, "", false, true},
	{"LF.CRLF", "", "a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n", false, 0, "", false, true},
	{"CR.CR", "the Exim smuggling sequence", "a\r.\rMAIL FROM:<x@y>\r\n.\r\n", false, 0, "", false, true},
	{"CR.CRLF", "a bare CR before the dot", "a\r.\r\nMAIL FROM:<x@y>\r\n.\r\n", false, 0, "", false, true},
	{"CRLF.CR", "a bare CR after the dot", "a\r\n.\rMAIL FROM:<x@y>\r\n.\r\n", false, 0, "", false, true},
	{"LF.LF first", "a smuggling dot as the first line", ".\nMAIL FROM:<x@y>\r\n.\r\n", false, 0, "", false, true},
	{"bare LF", "an ordinary bare LF", "a\nb\r\n.\r\n", false, 0, "", false, true},
	{"bare CR", "an ordinary bare CR", "a\rb\r\n.\r\n", false, 0, "", false, true},
	{"CR CR LF", "a CR before the CRLF", "a\r\r\n.\r\n", false, 0, "", false, true},

	// bare_lf = "normalize" (Postfix 3.9).
	{"normalize LF", "a bare LF is stored as CRLF", "a\nb\r\n.\r\n", true, 0, "a\r\nb\r\n", false, false},
	{"normalize LF LF", "each bare LF", "a\n\nb\n\r\n.\r\n", true, 0, "a\r\n\r\nb\r\n\r\n", false, false},
	{"normalize unstuff", "a line after a bare LF is a line: its stuffing dot goes", "a\n..x\r\n.\r\n", true, 0, "a\r\n.x\r\n", false, false},
	{"normalize LF.LF", "still never the end, and refused: it would store a lone dot", "a\n.\nMAIL FROM:<x@y>\r\n.\r\n", true, 0, "", false, true},
	{"normalize CRLF.LF", "refused likewise", "a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n", true, 0, "", false, true},
	{"normalize LF.CRLF", "refused likewise", "a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n", true, 0, "", false, true},
	{"normalize LF..LF", "a stuffed dot around bare LFs is a dot line, which is fine", "a\n..\nb\r\n.\r\n", true, 0, "a\r\n.\r\nb\r\n", false, false},
	{"normalize CR", "normalization is for LF only: a bare CR is refused", "a\rb\r\n.\r\n", true, 0, "", false, true},
	{"normalize CR.CR", "", "a\r.\rb\r\n.\r\n", true, 0, "", false, true},

	// MaxSize.
	{"at limit", "exactly MaxSize is allowed", "12345678\r\n.\r\n", false, 10, "12345678\r\n", false, false},
	{"over limit", "one over: reported after the terminator, stream kept in step", "123456789\r\n.\r\n", false, 10, "", true, false},
	{"far over limit", "many buffers over", strings.Repeat("x", 100000) + "\r\n.\r\n", false, 100, "", true, false},
	{"over limit and bare", "both reported", "a\nb" + strings.Repeat("x", 100) + "\r\n.\r\n", false, 10, "", true, true},
}

func readers(in string) map[string]*bufio.Reader {
	return map[string]*bufio.Reader{
		"4096":    bufio.NewReader(strings.NewReader(in)),
		"16":      bufio.NewReaderSize(strings.NewReader(in), 16),
		"onebyte": bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(in)), 16),
		"half":    bufio.NewReaderSize(iotest.HalfReader(strings.NewReader(in)), 64),
	}
}

func TestReadData(t *testing.T) {
	for _, tt := range dataCases {
		for rname, r := range readers(tt.in + "NEXT\r\n") {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				var out bytes.Buffer
				res, err := ReadData(r, &out, DataOptions{MaxSize: tt.max, NormalizeBareLF: tt.normalize})
				if err != nil {
					t.Fatalf("%s: %v", tt.why, err)
				}
				if res.TooBig != tt.tooBig || res.BareLineEnding != tt.bare {
					t.Fatalf("%s: TooBig=%v BareLineEnding=%v, want %v %v", tt.why, res.TooBig, res.BareLineEnding, tt.tooBig, tt.bare)
				}
				if !tt.tooBig && !tt.bare {
					if out.String() != tt.out || res.Size != int64(len(tt.out)) {
						t.Errorf("%s: wrote %q (Size %d), want %q", tt.why, out.String(), res.Size, tt.out)
					}
				}
				if tt.max > 0 && int64(out.Len()) > tt.max {
					t.Errorf("wrote %d octets past MaxSize %d", out.Len(), tt.max)
				}
				line, err := ReadLine(r, MaxCommandLine)
				if err != nil || string(line) != "NEXT" {
					t.Errorf("%s: next command = %q, %v: stream out of step", tt.why, line, err)
				}
			})
		}
	}
}

// TestReadDataTruncated: input that ends before the real terminator is an
// error, however much it looks like an end.
func TestReadDataTruncated(t *testing.T) {
	for _, in := range []string{"", "a", "a\r\n", "a\r\n.", "a\r\n.\r", "a\n.\n", "a\r\n.\n", "a\n.\r\n", "a\r.\r", ".", ".\r"} {
		for rname, r := range readers(in) {
			_, err := ReadData(r, io.Discard, DataOptions{})
			if err != io.ErrUnexpectedEOF {
				t.Errorf("%q/%s: err = %v, want io.ErrUnexpectedEOF", in, rname, err)
			}
		}
	}
}

// TestReadDataReadError: a timeout from the connection comes back as is.
func TestReadDataReadError(t *testing.T) {
	boom := errors.New("i/o timeout")
	r := bufio.NewReader(io.MultiReader(strings.NewReader("abc\r\n"), iotest.ErrReader(boom)))
	if _, err := ReadData(r, io.Discard, DataOptions{}); err != boom {
		t.Errorf("err = %v, want the read error", err)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n += len(p); w.n > 10 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// TestReadDataWriteError: when dst fails the message is still read to its
// end, so the session can answer 451 and go on.
func TestReadDataWriteError(t *testing.T) {
	r := bufio.NewReaderSize(strings.NewReader(strings.Repeat("line\r\n", 100)+".\r\nNEXT\r\n"), 16)
	_, err := ReadData(r, &failWriter{}, DataOptions{})
	var we *WriteError
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want *WriteError", err)
	}
	if line, _ := ReadLine(r, MaxCommandLine); string(line) != "NEXT" {
		t.Errorf("next command = %q: out of step after a write error", line)
	}
}

func TestReadDataNoAlloc(t *testing.T) {
	msg := "Subject: x\r\n\r\n" + strings.Repeat("some text of a message\r\n..stuffed\r\n", 200) + ".\r\n"
	sr := strings.NewReader(msg)
	r := bufio.NewReader(sr)
	n := testing.AllocsPerRun(50, func() {
		sr.Reset(msg)
		r.Reset(sr)
		if _, err := ReadData(r, io.Discard, DataOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("ReadData allocates %.1f times per message", n)
	}
}

func TestLineEndingChecker(t *testing.T) {
	tests := []struct {
		name, why string
		chunks    []string
		normalize bool
		max       int64
		out       string
		tooBig    bool
		bare      bool
	}{
		{"clean", "CRLF content passes unchanged", []string{"a\r\nb\r\n"}, false, 0, "a\r\nb\r\n", false, false},
		{"no stuffing", "BDAT content is literal: dots stay (RFC 3030 §2)", []string{"..x\r\n.\r\n"}, false, 0, "..x\r\n.\r\n", false, false},
		{"CRLF across chunks", "CR ends one chunk, LF starts the next", []string{"a\r", "\nb\r\n"}, false, 0, "a\r\nb\r\n", false, false},
		{"bare CR across chunks", "CR ends one chunk, something else starts the next", []string{"a\r", "b\r\n"}, false, 0, "", false, true},
		{"trailing CR", "a CR at the very end of the last chunk", []string{"a\r\nb\r"}, false, 0, "", false, true},
		{"bare LF", "", []string{"a\nb\r\n"}, false, 0, "", false, true},
		{"bare LF first", "an LF opening a chunk after no CR", []string{"a", "\nb"}, false, 0, "", false, true},
		{"normalize", "bare LF stored as CRLF", []string{"a\nb\n", "\nc"}, true, 0, "a\r\nb\r\n\r\nc", false, false},
		{"normalize keeps CRLF", "a CRLF split over chunks is not doubled", []string{"a\r", "\n"}, true, 0, "a\r\n", false, false},
		{"normalize bare CR", "CR is never normalized", []string{"a\rb"}, true, 0, "", false, true},
		{"size", "the limit counts stored octets", []string{"12345", "67890", "1"}, false, 10, "", true, false},
		{"size normalized", "a normalized LF counts two: 10 octets sent, 11 stored", []string{"12345\n6789"}, true, 10, "", true, false},
		{"empty chunk", "BDAT 0 LAST", []string{"a\r\n", ""}, false, 0, "a\r\n", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c := NewLineEndingChecker(&out, tt.normalize, tt.max)
			for _, ch := range tt.chunks {
				if n, err := c.Write([]byte(ch)); err != nil || n != len(ch) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			res := c.Finish()
			if res.TooBig != tt.tooBig || res.BareLineEnding != tt.bare {
				t.Fatalf("%s: TooBig=%v Bare=%v", tt.why, res.TooBig, res.BareLineEnding)
			}
			if !tt.tooBig && !tt.bare && (out.String() != tt.out || res.Size != int64(len(tt.out))) {
				t.Errorf("%s: wrote %q (Size %d), want %q", tt.why, out.String(), res.Size, tt.out)
			}
		})
	}
}

func TestLineEndingCheckerWriteError(t *testing.T) {
	c := NewLineEndingChecker(&failWriter{}, false, 0)
	var we *WriteError
	if _, err := c.Write([]byte(strings.Repeat("x", 20))); !errors.As(err, &we) {
		t.Errorf("err = %v, want *WriteError", err)
	}
}
