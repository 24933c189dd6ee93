package longline

import (
	"strings"
	"testing"
)

// Benchmarks for the shapes Fix meets: the fast path every relayed message
// takes, and worst cases that must stay linear (a huge header of
// encoded-words, a huge one-line body, many parts).
func BenchmarkFix(b *testing.B) {
	shapes := []struct {
		name string
		in   []byte
	}{
		{"no long line 1MiB", msg("Subject: hi\n\n" + strings.Repeat(words(900)+"\n", 1150))},
		{"header of encoded-words 1MiB", msg("Subject: " + strings.Repeat("=?UTF-8?Q?a b?= ", 65536) + "\n\nbody\n")},
		{"one-line body 1MiB", msg("Content-Type: text/html\n\n" + solid(1<<20) + "\n")},
		{"1000 parts", msg("Content-Type: multipart/mixed; boundary=b\n\n" + strings.Repeat("--b\nContent-Type: text/plain\n\n"+solid(1100)+"\n", 1000) + "--b--\n")},
	}
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(s.in)))
			for b.Loop() {
				if _, err := Fix(s.in, 998); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
