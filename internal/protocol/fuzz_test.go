package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"MAIL FROM:<a@b>", "mail from:x", "QUIT", "", " ", "NO\x00OP", "héLO x", "GET / HTTP/1.1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		c := ParseCommand(line)
		if len(c.Verb) > len(line) || strings.ContainsRune(c.Verb, ' ') {
			t.Fatalf("verb %q from %q", c.Verb, line)
		}
		for i := 0; i < len(c.Verb); i++ {
			if 'a' <= c.Verb[i] && c.Verb[i] <= 'z' {
				t.Fatalf("verb %q not upper-cased", c.Verb)
			}
		}
		if strings.Trim(c.Arg, " \t") != c.Arg {
			t.Fatalf("arg %q not trimmed", c.Arg)
		}
		if again := ParseCommand([]byte(c.Verb + " " + c.Arg)); c.Arg != "" && again != c {
			t.Fatalf("%+q reparses as %+q", c, again)
		}
	})
}

// checkRoundTrip: the String of a parsed path parses back to the same path.
func checkRoundTrip(t *testing.T, arg string, parse func(string) (Path, Params, error), kw string) {
	p, _, err := parse(arg)
	if err != nil {
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("%q: error %T is not a *SyntaxError", arg, err)
		}
		return
	}
	back, _, err := parse(kw + "<" + p.String() + ">")
	if err != nil {
		t.Fatalf("%q: parsed to %+q, whose String %q does not parse: %v", arg, p, p.String(), err)
	}
	if p.Postmaster {
		if !back.Postmaster {
			t.Fatalf("%q: postmaster lost", arg)
		}
		return
	}
	if back != p {
		t.Fatalf("%q: %+q -> %q -> %+q", arg, p, p.String(), back)
	}
	if a, err := ParseAddress(p.Addr.String()); !p.Null && (err != nil || a != p.Addr) {
		t.Fatalf("%q: ParseAddress(%q) = %+q, %v", arg, p.Addr.String(), a, err)
	}
}

var pathSeeds = []string{
	"FROM:<a@example.com> SIZE=100", "from:c1e08@st.seiai.ed.jp", "FROM:<>", "TO:<Postmaster>",
	`FROM:<"a\"b c"@example.com>`, "FROM:<taro..yamada@docomo.ne.jp>", "TO:<@a,@b:c@d>",
	"FROM:<a@[IPv6:2001:db8::1]>", "FROM:<用户@例子.广告>", "TO:<a@b.> NOTIFY=NEVER",
}

func FuzzParseMail(f *testing.F) {
	for _, s := range pathSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) { checkRoundTrip(t, arg, ParseMail, "FROM:") })
}

func FuzzParseRcpt(f *testing.F) {
	for _, s := range pathSeeds {
		f.Add(strings.Replace(s, "FROM:", "TO:", 1))
	}
	f.Fuzz(func(t *testing.T, arg string) { checkRoundTrip(t, arg, ParseRcpt, "TO:") })
}

// refReadData is the plain statement of the DATA rules, written for
// clarity rather than speed. The end is the first CRLF "." CRLF, counting
// the start of the content as following a CRLF: that is the whole
// anti-smuggling property, checked here without any state machine.
func refReadData(in []byte, normalize bool, max int64) (out []byte, res DataResult, consumed int, ok bool) {
	k := bytes.Index(append([]byte("\r\n"), in...), []byte("\r\n.\r\n"))
	if k < 0 {
		return nil, res, 0, false
	}
	content := in[:k] // with the CRLF before the dot
	for i, c := range content {
		if c == '\r' && (i+1 == len(content) || content[i+1] != '\n') {
			res.BareLineEnding = true // a bare CR, in either mode
		}
		if c == '\n' && (i == 0 || content[i-1] != '\r') && !normalize {
			res.BareLineEnding = true
		}
	}
	sep := "\r\n"
	if normalize {
		sep = "\n"
	}
	lines := strings.Split(string(content), sep)
	lines = lines[:len(lines)-1] // content ends with its separator, or is empty
	prevBareLF := false
	for _, l := range lines {
		bareLF := false
		if normalize {
			if strings.HasSuffix(l, "\r") {
				l = l[:len(l)-1]
			} else {
				bareLF = true
			}
		}
		if strings.HasPrefix(l, ".") {
			if l == "." && (prevBareLF || bareLF) {
				res.BareLineEnding = true
			}
			l = l[1:]
		}
		out = append(append(out, l...), "\r\n"...)
		prevBareLF = bareLF
	}
	res.Size = int64(len(out))
	res.TooBig = max > 0 && res.Size > max
	return out, res, k + 3, true
}

// chunkReader returns its input in pieces of random length.
type chunkReader struct {
	b   []byte
	rng *rand.Rand
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := 1 + r.rng.IntN(min(len(p), len(r.b), 40))
	n = copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}

func runReadData(in []byte, opt DataOptions, br *bufio.Reader) ([]byte, DataResult, int, error) {
	var out bytes.Buffer
	res, err := ReadData(br, &out, opt)
	rest, _ := io.ReadAll(br)
	return out.Bytes(), res, len(in) - len(rest), err
}

func FuzzReadData(f *testing.F) {
	for _, c := range dataCases {
		if len(c.in) < 1000 { // large seeds slow the mutator to a crawl
			f.Add([]byte(c.in), c.normalize, c.max, uint64(len(c.in)))
		}
	}
	f.Add([]byte("a\r\n.\r\n.\r\n"), false, int64(0), uint64(1))
	f.Add([]byte("\r\n\n.\n\r\n.\r\n"), true, int64(3), uint64(7))
	f.Fuzz(func(t *testing.T, in []byte, normalize bool, max int64, seed uint64) {
		if max < 0 {
			max = -max
		}
		opt := DataOptions{MaxSize: max, NormalizeBareLF: normalize}
		wantOut, want, wantConsumed, ok := refReadData(in, normalize, max)

		whole := bufio.NewReaderSize(bytes.NewReader(in), 4096)
		split := bufio.NewReaderSize(&chunkReader{in, rand.New(rand.NewPCG(seed, 1))}, 16)
		for name, br := range map[string]*bufio.Reader{"whole": whole, "split": split} {
			out, res, consumed, err := runReadData(in, opt, br)
			if !ok {
				if err != io.ErrUnexpectedEOF {
					t.Fatalf("%s: no CRLF.CRLF in %q, yet err = %v", name, in, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %q: %v", name, in, err)
			}
			if consumed != wantConsumed {
				t.Fatalf("%s: %q: ended after %d octets, the first CRLF.CRLF ends at %d", name, in, consumed, wantConsumed)
			}
			if res != want {
				t.Fatalf("%s: %q (normalize %v, max %d): %+v, want %+v", name, in, normalize, max, res, want)
			}
			if !res.TooBig && !res.BareLineEnding && !bytes.Equal(out, wantOut) {
				t.Fatalf("%s: %q: wrote %q, want %q", name, in, out, wantOut)
			}
			if max > 0 && int64(len(out)) > max {
				t.Fatalf("%s: wrote %d octets over MaxSize %d", name, len(out), max)
			}
		}
	})
}

func FuzzLineEndingChecker(f *testing.F) {
	f.Add([]byte("a\r\nb\r\n"), false, int64(0), uint64(1))
	f.Add([]byte("a\nb\r"), true, int64(3), uint64(2))
	f.Fuzz(func(t *testing.T, in []byte, normalize bool, max int64, seed uint64) {
		if max < 0 {
			max = -max
		}
		// Reference: the same rules as DATA, minus dots and terminator.
		var want DataResult
		var wantOut []byte
		for i, c := range in {
			switch {
			case c == '\r' && (i+1 == len(in) || in[i+1] != '\n'):
				want.BareLineEnding = true
			case c == '\n' && (i == 0 || in[i-1] != '\r'):
				if !normalize {
					want.BareLineEnding = true
				}
				wantOut = append(wantOut, '\r')
			}
			wantOut = append(wantOut, c)
		}
		if !normalize {
			wantOut = in
		}
		want.Size = int64(len(wantOut))
		want.TooBig = max > 0 && want.Size > max

		var out bytes.Buffer
		c := NewLineEndingChecker(&out, normalize, max)
		rng := rand.New(rand.NewPCG(seed, 2))
		for rest := in; len(rest) > 0; {
			n := 1 + rng.IntN(len(rest))
			if _, err := c.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if got := c.Finish(); got != want {
			t.Fatalf("%q: %+v, want %+v", in, got, want)
		}
		if !want.TooBig && !want.BareLineEnding && !bytes.Equal(out.Bytes(), wantOut) {
			t.Fatalf("%q: wrote %q, want %q", in, out.Bytes(), wantOut)
		}
	})
}

func FuzzReadLine(f *testing.F) {
	f.Add([]byte("HELO a\r\nMAIL\nX\r\n"), uint64(1))
	f.Add([]byte("a\rb\r\n\r\n"), uint64(3))
	f.Fuzz(func(t *testing.T, in []byte, seed uint64) {
		// Reference: split at every CRLF; a piece with CR or LF is bare.
		const max = 40
		whole := bufio.NewReaderSize(bytes.NewReader(in), 16)
		split := bufio.NewReaderSize(&chunkReader{in, rand.New(rand.NewPCG(seed, 3))}, 16)
		rest := in
		for {
			i := bytes.Index(rest, []byte("\r\n"))
			var want error
			var wantLine []byte
			switch {
			case len(rest) == 0:
				want = io.EOF
			case i < 0:
				want = io.ErrUnexpectedEOF
			case i+2 > max:
				want = ErrLineTooLong
			case bytes.ContainsAny(rest[:i], "\r\n"):
				want = ErrBareLineEnding
			default:
				wantLine = rest[:i]
			}
			for name, r := range map[string]*bufio.Reader{"whole": whole, "split": split} {
				line, err := ReadLine(r, max)
				if err != want || !bytes.Equal(line, wantLine) {
					t.Fatalf("%s: %q: got (%q, %v), want (%q, %v)", name, rest, line, err, wantLine, want)
				}
			}
			if i < 0 {
				return
			}
			rest = rest[i+2:]
		}
	})
}
