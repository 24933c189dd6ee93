package bounce

import (
	"bytes"
	"io"
	"math/rand/v2"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// stdQP is what decodeCTE did before decodeQP.
func stdQP(b []byte) ([]byte, bool) {
	out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
	return out, err != nil
}

func checkQP(t *testing.T, in []byte) {
	t.Helper()
	got, gfail := decodeQP(in)
	want, wfail := stdQP(in)
	if !bytes.Equal(got, want) || gfail != wfail {
		t.Fatalf("%q: decodeQP %q (failed %v), mime/quotedprintable %q (failed %v)", in, got, gfail, want, wfail)
	}
}

// TestDecodeQP: decodeQP gives what mime/quotedprintable gives, octets
// and failure, on the edge cases and on random texts made of the octets
// that matter to it.
func TestDecodeQP(t *testing.T) {
	for _, s := range []string{
		"", "a", "=", "==", "a=", "a==", "=\n", "a=\n", "a= \n", "a=\r\n", "a=  \r\nb", "a=x\n", "a=4", "a=41", "a=4\n", "=41=42\r\n",
		"=4g", "=\r", "=\rX\n", "x\x01y", "x\x7fy", "é=C3=A9", "trail   \nx", "trail \t\r\n", "a\r\r\n", "\n\n", "=\n=\n", "a=\n=",
		"ab=\r\ncd", "soft at end=", "x =  ", "=a=b=c", "=0a=0D", strings.Repeat("x", 4095) + "\n", strings.Repeat("x", 4096) + "\nmore",
		strings.Repeat("y", 5000), strings.Repeat("z", 4095) + "=\nq", strings.Repeat("w", 4094) + "=4\n", strings.Repeat("v", 10000) + "\n",
	} {
		checkQP(t, []byte(s))
	}
	rng := rand.New(rand.NewPCG(7, 8))
	alphabet := []byte("=abAF09 \t\r\n\x01\x7f\xc3\xa9x")
	for n := 0; n < 100000; n++ {
		b := make([]byte, rng.IntN(24))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		checkQP(t, b)
	}
	// Long lines around the reader's buffer.
	for n := 0; n < 300; n++ {
		b := bytes.Repeat([]byte("q"), 4080+rng.IntN(40))
		for k := rng.IntN(4); k >= 0; k-- {
			b[rng.IntN(len(b))] = alphabet[rng.IntN(len(alphabet))]
		}
		checkQP(t, b)
	}
}

// FuzzDecodeQP: decodeQP and mime/quotedprintable agree on any input.
func FuzzDecodeQP(f *testing.F) {
	for _, s := range []string{"a=41\r\nb=\n", "=\rX\n", "x\x01", strings.Repeat("q", 4097)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkQP(t, b) })
}
