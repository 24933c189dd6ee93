package bounce

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestReadDetaches: a result keeps nothing of the message it was read
// from nor of the pooled scratch the next Read reuses. Every sample (and
// the corpus, when there) is read and its result written down; then
// every message is overwritten and read again, which reuses the scratch;
// the first results must still read as written down.
func TestReadDetaches(t *testing.T) {
	var files []string
	dirs := []string{filepath.Join("testdata", "samples")}
	if dir, ok := findCorpusMails(); ok {
		dirs = append(dirs, dir)
	}
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				files = append(files, filepath.Join(d, e.Name()))
			}
		}
	}
	sort.Strings(files)
	if len(files) < 30 {
		t.Fatalf("only %d sample mails", len(files))
	}
	msgs := make([][]byte, len(files))
	reps := make([]Report, len(files))
	want := make([][]byte, len(files))
	subjects := 0
	for i, f := range files {
		m, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = m
		reps[i], _ = Read(m, Options{VERP: func(addr string) (string, int64, bool) {
			if at := strings.IndexByte(addr, '@'); at > 0 {
				return addr[:at], 1, true // a campaign that is a substring of the address
			}
			return "", 0, false
		}})
		if reps[i].Subject != "" {
			subjects++
		}
		if want[i], err = json.Marshal(reps[i]); err != nil {
			t.Fatal(err)
		}
	}
	if subjects < len(files)/2 {
		t.Fatalf("only %d of %d mails have a subject read", subjects, len(files))
	}
	for i := range msgs {
		for j := range msgs[i] {
			msgs[i][j] = 'Z'
		}
	}
	for _, f := range files {
		m, _ := os.ReadFile(f)
		Read(m, Options{})
	}
	for i := range msgs {
		Read(msgs[i], Options{})
	}
	for i := range reps {
		got, _ := json.Marshal(reps[i])
		if !bytes.Equal(got, want[i]) {
			t.Errorf("%s: the result changed after its message and the scratch were reused:\nwas %s\nnow %s", files[i], want[i], got)
		}
	}
}

// TestToUTF8InScratch: decoding into scratch gives what transform.Bytes
// gives, on every sample as raw octets in each charset (most are not
// valid in most, so the decoders' error paths are read too).
func TestToUTF8InScratch(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("testdata", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	charsets := []string{"iso-2022-jp", "shift_jis", "euc-jp", "iso-8859-1", "windows-1252", "koi8-r", "gb2312", "big5", "euc-kr", "utf-16le"}
	a := new(scratch)
	n := 0
	for _, e := range ents {
		m, err := os.ReadFile(filepath.Join("testdata", "samples", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, cs := range charsets {
			want := toUTF8(m, cs)
			if got := toUTF8In(a, m, cs); got != want {
				t.Errorf("%s as %s: scratch decoding differs from transform.Bytes", e.Name(), cs)
			}
			n++
		}
		a.reset()
	}
	if n < 300 {
		t.Fatalf("only %d decodings", n)
	}
}
