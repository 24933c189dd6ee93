package bounce

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// collect runs Open and returns name → data in call order.
func collect(t *testing.T, path string) ([]Source, error) {
	t.Helper()
	var got []Source
	err := Open(path, func(s Source) error {
		got = append(got, s)
		return nil
	})
	return got, err
}

func names(ss []Source) []string {
	var n []string
	for _, s := range ss {
		n = append(n, s.Name)
	}
	return n
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSingleFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "one.eml")
	msg := "Subject: x\n\nbody\nFrom here on a line\n"
	write(t, p, msg)
	got, err := collect(t, p)
	if err != nil {
		t.Fatal(err)
	}
	// a file not starting "From " is one message, kept byte for byte
	want := []Source{{Name: p, Data: []byte(msg)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestOpenMbox(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "box")
	write(t, p, "From MAILER-DAEMON Thu Apr 29 23:34:45 2015\n"+
		"Subject: one\n\nline\n>From the start\n>>From two\n> From not escaped\n\n"+
		"From a@example.com Thu Apr 29 23:34:46 2015\n"+
		"Subject: two\n\nbody\n"+ // no empty line before the next (seen in the corpus)
		"From b@example.com Thu Apr 29 23:34:47 2015\r\n"+
		"Subject: three\r\n\r\nbody\r\n\r\n")
	got, err := collect(t, p)
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{
		{p + "#1", []byte("Subject: one\n\nline\nFrom the start\n>From two\n> From not escaped\n")},
		{p + "#2", []byte("Subject: two\n\nbody\n")},
		{p + "#3", []byte("Subject: three\r\n\r\nbody\r\n")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

// An mbox of one message keeps the file's name: a corpus file that starts
// with its envelope line is still "file".
func TestOpenMboxOfOne(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.eml")
	write(t, p, "From MAILER-DAEMON Thu Apr 29 23:34:45 2015\nSubject: one\n\nbody\n")
	got, err := collect(t, p)
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{{p, []byte("Subject: one\n\nbody\n")}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestOpenMaildir(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "new", "200.b"), "Subject: new b\n\n")
	write(t, filepath.Join(dir, "new", "100.a"), "Subject: new a\n\n")
	write(t, filepath.Join(dir, "cur", "150.c:2,S"), "Subject: cur\n\n")
	write(t, filepath.Join(dir, "tmp", "300.t"), "Subject: tmp, not delivered yet\n\n")
	write(t, filepath.Join(dir, "new", ".hidden"), "Subject: hidden\n\n")
	got, err := collect(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, "cur", "150.c:2,S"),
		filepath.Join(dir, "new", "100.a"),
		filepath.Join(dir, "new", "200.b"),
	}
	if !reflect.DeepEqual(names(got), want) {
		t.Fatalf("got %q, want %q", names(got), want)
	}
	if string(got[1].Data) != "Subject: new a\n\n" {
		t.Fatalf("data %q", got[1].Data)
	}
}

func TestOpenFolder(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "b.eml"), "Subject: b\n\n")
	write(t, filepath.Join(dir, "a.eml"), "Subject: a\n\n")
	write(t, filepath.Join(dir, "c.mbox"), "From x Thu Apr 29 23:34:45 2015\nSubject: c1\n\nFrom y Thu Apr 29 23:34:45 2015\nSubject: c2\n\n")
	write(t, filepath.Join(dir, "sub", "d.eml"), "Subject: below, not read\n\n")
	write(t, filepath.Join(dir, ".e.eml"), "Subject: hidden\n\n")
	got, err := collect(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, "a.eml"),
		filepath.Join(dir, "b.eml"),
		filepath.Join(dir, "c.mbox") + "#1",
		filepath.Join(dir, "c.mbox") + "#2",
	}
	if !reflect.DeepEqual(names(got), want) {
		t.Fatalf("got %q, want %q", names(got), want)
	}
}

func TestOpenMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nothere.eml")
	_, err := collect(t, p)
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v, want one naming %s", err, p)
	}
}

// A file of a folder that cannot be read is named; the others still come.
func TestOpenFolderUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads a 0000 file")
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.eml"), "Subject: a\n\n")
	write(t, filepath.Join(dir, "b.eml"), "Subject: b\n\n")
	write(t, filepath.Join(dir, "c.eml"), "Subject: c\n\n")
	if err := os.Chmod(filepath.Join(dir, "b.eml"), 0); err != nil {
		t.Fatal(err)
	}
	got, err := collect(t, dir)
	if err == nil || !strings.Contains(err.Error(), "b.eml") {
		t.Fatalf("err = %v, want one naming b.eml", err)
	}
	if len(got) != 2 {
		t.Fatalf("got %q", names(got))
	}
}

// The callback's error stops the walk and comes back unchanged.
func TestOpenCallbackError(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.eml"), "Subject: a\n\n")
	write(t, filepath.Join(dir, "b.eml"), "Subject: b\n\n")
	stop := errors.New("stop")
	calls := 0
	err := Open(dir, func(Source) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
}

func TestSplitReader(t *testing.T) {
	var got []string
	err := Split("-", strings.NewReader("From x Mon Dec  7 00:00:00 2026\nA: 1\n\nFrom y Mon Dec  7 00:00:00 2026\nA: 2\n"), func(s Source) error {
		got = append(got, s.Name+"="+string(s.Data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-#1=A: 1\n", "-#2=A: 2\n"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	// short inputs
	for _, in := range []string{"", "F", "From", "From "} {
		var n int
		if err := Split("-", strings.NewReader(in), func(Source) error { n++; return nil }); err != nil {
			t.Errorf("%q: %v", in, err)
		}
		if n > 1 {
			t.Errorf("%q: %d messages", in, n)
		}
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	n := min(len(p), r.n)
	copy(p, bytes.Repeat([]byte("From x\n"), n)[:n])
	r.n -= n
	return n, nil
}

func TestSplitReadError(t *testing.T) {
	err := Split("in.mbox", &failingReader{n: 100}, func(Source) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "in.mbox") || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v", err)
	}
}

// mboxGen writes msgs messages of about size octets each, never holding
// the whole mbox.
type mboxGen struct {
	msgs, size, i int
	buf           []byte
}

func (g *mboxGen) Read(p []byte) (int, error) {
	if len(g.buf) == 0 {
		if g.i == g.msgs {
			return 0, io.EOF
		}
		g.i++
		var b bytes.Buffer
		b.WriteString("From MAILER-DAEMON Mon Dec  7 00:00:00 2026\nSubject: m\n\n")
		line := strings.Repeat("x", 76) + "\n"
		for b.Len() < g.size {
			b.WriteString(line)
		}
		b.WriteString(">From escaped\n\n")
		g.buf = b.Bytes()
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

// A big mbox is read one message at a time: 400 MB through a process
// whose heap stays near one message.
func TestSplitBigMboxConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const msgs, size = 200, 2 << 20
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak uint64
	n := 0
	err := Split("big", &mboxGen{msgs: msgs, size: size}, func(s Source) error {
		n++
		if len(s.Data) < size || !bytes.HasSuffix(s.Data, []byte("\nFrom escaped\n")) {
			t.Fatalf("message %d: %d octets, ends %q", n, len(s.Data), s.Data[len(s.Data)-20:])
		}
		if n%20 == 0 {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != msgs {
		t.Fatalf("%d messages, want %d", n, msgs)
	}
	if grow := int64(peak) - int64(before.HeapInuse); grow > 64<<20 {
		t.Fatalf("heap grew %d MB reading %d MB", grow>>20, msgs*size>>20)
	}
}

// A line longer than the reader's buffer stays whole, and a "From " inside
// it is not a separator.
func TestSplitLongLine(t *testing.T) {
	long := strings.Repeat("a", 200<<10) + "From not a separator" + strings.Repeat("b", 100<<10)
	in := "From x Mon Dec  7 00:00:00 2026\nSubject: l\n\n" + long + "\nFrom y Mon Dec  7 00:00:00 2026\nSubject: 2\n"
	var got []Source
	if err := Split("l", strings.NewReader(in), func(s Source) error { got = append(got, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[0].Data) != "Subject: l\n\n"+long+"\n" {
		t.Fatalf("got %d messages, first %d octets", len(got), len(got[0].Data))
	}
}
