package bounce

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// splitHeaderLineByLine is splitHeader as it was, a string per line: the
// one-copy parse must give the same fields and rest.
func splitHeaderLineByLine(b []byte) (header, []byte) {
	var h header
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		var line []byte
		rest := b[:0]
		if i < 0 {
			line, rest = b, nil
		} else {
			line, rest = b[:i], b[i+1:]
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			return h, rest
		}
		if (line[0] == ' ' || line[0] == '\t') && len(h) > 0 {
			v := &h[len(h)-1].value
			if len(*v) < 16384 {
				*v += " " + string(bytes.TrimSpace(line))
			}
			b = rest
			continue
		}
		c := bytes.IndexByte(line, ':')
		if len(h) > 0 && strings.HasSuffix(h[len(h)-1].value, ";") && (c < 0 || bytes.IndexByte(line, '=') >= 0 && bytes.IndexByte(line, '=') < c) {
			h[len(h)-1].value += " " + string(bytes.TrimSpace(line))
			b = rest
			continue
		}
		if c <= 0 || bytes.ContainsAny(line[:c], " \t") && !bytes.HasPrefix(line, []byte("From ")) {
			if len(h) == 0 && bytes.HasPrefix(line, []byte("From ")) {
				b = rest
				continue
			}
			return h, b
		}
		h = append(h, field{string(line[:c]), string(bytes.TrimSpace(line[c+1:]))})
		b = rest
	}
	return h, nil
}

func checkHeader(t *testing.T, msg []byte) {
	t.Helper()
	h, rest := splitHeader(msg)
	wh, wrest := splitHeaderLineByLine(msg)
	if len(h) == 0 && len(wh) == 0 {
		h, wh = nil, nil
	}
	if !reflect.DeepEqual(h, wh) || len(rest) != len(wrest) || (rest == nil) != (wrest == nil) {
		t.Fatalf("%.200q:\n%s", msg, headerDiff(h, wh, len(rest), len(wrest)))
	}
	sh, srest := splitHeaderString(string(msg))
	if len(sh) == 0 {
		sh = nil
	}
	if !reflect.DeepEqual(sh, wh) || len(srest) != len(wrest) {
		t.Fatalf("%.200q: splitHeaderString:\n%s", msg, headerDiff(sh, wh, len(srest), len(wrest)))
	}
}

// headerDiff tells the first difference, briefly: the headers can be huge.
func headerDiff(h, want header, rest, wantRest int) string {
	for i := 0; i < max(len(h), len(want)); i++ {
		if i >= len(h) || i >= len(want) || h[i] != want[i] {
			var got, w field
			if i < len(h) {
				got = h[i]
			}
			if i < len(want) {
				w = want[i]
			}
			return fmt.Sprintf("field %d of %d: %.80q: %.80q, want field %d of %d: %.80q: %.80q", i, len(h), got.name, got.value, i, len(want), w.name, w.value)
		}
	}
	return fmt.Sprintf("same fields, rest %d octets, want %d", rest, wantRest)
}

// TestSplitHeaderSameAsLineByLine: on the corpus (whole mails and from
// each blank line on, which reaches the parts' headers) and on random
// headers of folds, parameters without folding, blank and mbox lines.
func TestSplitHeaderSameAsLineByLine(t *testing.T) {
	for _, s := range []string{
		"", "\n", "\r\n", "a: b", "a: b\n", "a: b\n\nbody", "a: b\r\n\r\nbody", "From x\nFrom y\na: b\n\n", " lead: x\n", "a: b;\nc=d\n\n",
		"a: b;\n x\nno colon\n", "a: b;\n\tc;\nd=e: f\n\n", "a:\n \n \nb: c\n", "a: b\nbroken line\nc: d\n", "a b: c\n", "From a b: c\n",
		"x: " + strings.Repeat("y", 20000) + "\n " + strings.Repeat("z", 10) + "\n", "a: b\n" + strings.Repeat(" folded\n", 3000) + "\n",
		"a: b\n\r\n", "a: b\r\r\n\r\n", "a: b;\r\n", ":x\n",
	} {
		checkHeader(t, []byte(s))
	}
	// Beyond maxHeaderCopy: a header that goes on, one that stops.
	long := "a: b\n" + strings.Repeat(" "+strings.Repeat("f", 70)+"\n", (maxHeaderCopy/72)+10) + "c: d\n\nbody"
	checkHeader(t, []byte(long))
	checkHeader(t, []byte("a: b\nstop here\n"+strings.Repeat("x", maxHeaderCopy+10)))
	checkHeader(t, []byte("a: b\n"+strings.Repeat("c: d\n", maxHeaderCopy/5+10)))

	rng := rand.New(rand.NewPCG(5, 6))
	pieces := []string{"Subject: x", "To: a@b.c", " folded", "\tfolded;", "boundary=\"q\"", "x=y: z", "no colon", "From ", "From mbox", "", "\r", ";", "a;b", " ", ":", "a b: c"}
	for n := 0; n < 30000; n++ {
		var b strings.Builder
		for k := rng.IntN(8); k >= 0; k-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
			if rng.IntN(3) > 0 {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
			if rng.IntN(4) > 0 {
				b.WriteByte('\n')
			}
		}
		checkHeader(t, []byte(b.String()))
	}

	eachCorpusMail(t, func(_ string, m []byte) {
		for off := 0; off < len(m); {
			checkHeader(t, m[off:])
			i := bytes.Index(m[off:], []byte("\n\n"))
			if i < 0 {
				break
			}
			off += i + 2
		}
	})
}
