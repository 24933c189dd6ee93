package bounce

import (
	"bytes"
	"math/rand/v2"
	"mime"
	"strings"
	"testing"
)

func checkMediaType(t *testing.T, v string) {
	t.Helper()
	mt, p, failed, ok := parseMediaTypeASCII(v)
	if !ok {
		return
	}
	wmt, params, err := mime.ParseMediaType(v)
	if failed != (err != nil) {
		t.Fatalf("%q: failed %v, mime.ParseMediaType error %v", v, failed, err)
	}
	if err == nil && (mt != wmt || p.boundary != params["boundary"] || p.charset != params["charset"]) {
		t.Fatalf("%q: %q %q %q, mime.ParseMediaType %q %q", v, mt, p.boundary, p.charset, wmt, params)
	}
}

// TestMediaTypeASCII: where parseMediaTypeASCII answers, it answers what
// mime.ParseMediaType does: on the corpus's Content-Type values and on
// random ones made of tokens, quotes, escapes, blanks and separators.
func TestMediaTypeASCII(t *testing.T) {
	for _, v := range []string{
		"text/plain", "TEXT/Plain; Charset=ISO-2022-JP", `multipart/report; report-type=delivery-status; boundary="=_x/y"`, "text/plain;",
		"text/plain; ;", "text/plain;charset", "text/plain; charset=", `text/plain; charset=""`, `a/b; x="q\"r"`, `a/b; x="q\r"`,
		`a/b; x="unclosed`, "a/b; x=1; x=1", "a/b; x=1; x=2", "a/b; x*=utf-8''q", "/b", "a/", "a", "a/b c", "a/b; charset=utf-8 junk",
		"a/b;\tboundary=\"b\"\r\n", `a/b; x="\a\\"`, "a/b; \v x=y", "", " ", ";", "a/b; 1=2; 3=4; 5=6; 7=8; 9=0; a=1; b=2; c=3; d=4; e=5; f=6; g=7; h=8; i=9; j=0; k=1; l=2",
	} {
		checkMediaType(t, v)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	pieces := []string{"text", "/", "plain", ";", " ", "\t", "charset", "boundary", "=", `"`, `\`, "x", "*", "utf-8", "\r", "\n", "(", "@", "Q", "'", "\v"}
	for n := 0; n < 200000; n++ {
		var b strings.Builder
		for k := rng.IntN(12); k >= 0; k-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		checkMediaType(t, b.String())
	}
	seen := 0
	eachCorpusMail(t, func(_ string, m []byte) {
		for off := 0; off < len(m); {
			h, _ := splitHeader(m[off:])
			if v := h.get("Content-Type"); v != "" {
				checkMediaType(t, v)
				seen++
			}
			i := bytes.Index(m[off:], []byte("\n\n"))
			if i < 0 {
				break
			}
			off += i + 2
		}
	})
	if seen < 500 {
		t.Fatalf("only %d Content-Type values in the corpus", seen)
	}
}
