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
