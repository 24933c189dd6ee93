package tsv

import (
	"bytes"
	"io"
	"testing"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/protocol"
)

// FuzzReader feeds arbitrary files to the reader: it must never panic,
// line numbers must rise, and a row without a Problem must be usable.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"email\tname\na@b.jp\tx\n",
		"\xEF\xBB\xBFEmail\r\nx..y@docomo.ne.jp\r\n\r\n",
		"\xFF\xFEe\x00m\x00a\x00i\x00l\x00\n\x00",
		"email\tname\n\t\n\x80\tx\n",
		"name\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := newReader(io.NopCloser(bytes.NewReader(data)), "fuzz.tsv")
		if err != nil {
			if _, ok := err.(*codes.SystemError); !ok {
				t.Fatalf("Open error %T is not *codes.SystemError", err)
			}
			return
		}
		defer r.Close()
		n := len(r.Header())
		last := 0
		for {
			row, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if row.Line <= last {
				t.Fatalf("line %d after line %d", row.Line, last)
			}
			last = row.Line
			if row.Problem != "" {
				continue
			}
			if len(row.Fields) != n {
				t.Fatalf("%d fields, header has %d", len(row.Fields), n)
			}
			if _, err := protocol.ParseAddress(row.Email); err != nil {
				t.Fatalf("row without a problem has a bad address %q: %v", row.Email, err)
			}
		}
	})
}
