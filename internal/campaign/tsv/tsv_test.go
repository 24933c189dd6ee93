package tsv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/hikyaku/hikyaku/internal/codes"
)

func writeList(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "list.tsv")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readAll(t *testing.T, r *Reader) []Row {
	t.Helper()
	var rows []Row
	for {
		row, err := r.Next()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		rows = append(rows, row)
	}
}

func TestOpenErrors(t *testing.T) {
	cases := []struct {
		name    string
		content *string // nil: the file does not exist
		code    int
		line    int
		msg     string
		why     string
	}{
		{"missing", nil, -8, 0, "no such file or directory", "a list that is not there is -8, not a crash"},
		{"empty", ptr(""), -9, 1, "no header line", "an empty file has no header to read"},
		{"blank lines only", ptr("\n\r\n  \n"), -9, 3, "no header line", "blank lines are skipped; none is a header"},
		{"bom only", ptr("\xEF\xBB\xBF"), -9, 1, "no header line", "the BOM alone is still an empty file"},
		{"shift_jis header", ptr("email\t\x96\xbc\x91\x4f\n"), -9, 1, "not UTF-8", "Excel on Japanese Windows saves Shift_JIS; refuse it clearly"},
		{"no email column", ptr("mail\tname\na@b.jp\tx\n"), -10, 1, `no "email" column`, "the address column is required"},
		{"duplicate", ptr("email\tname\tname\n"), -10, 1, `duplicate column name: "name" (columns 2 and 3)`, "a duplicate would make one merge field shadow the other"},
		{"duplicate by case", ptr("Email\tEMAIL\n"), -10, 1, `duplicate column name: "EMAIL"`, "two email columns differ only in case: which is the address?"},
		{"empty name", ptr("email\t\tname\n"), -10, 1, "a column has no name: column 2", "a field without a name cannot be merged"},
		{"trailing tab", ptr("email\tname\t\n"), -10, 1, "a column has no name: column 3", "a trailing tab makes an empty third column"},
		{"header after blank", ptr("\n\nname\n"), -10, 3, `no "email" column`, "the line number counts skipped blank lines"},
		{"header too long", ptr("email\t" + strings.Repeat("x", MaxLine+1) + "\n"), -9, 1, "too long", "a header beyond MaxLine is not read into memory whole"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "list.tsv")
			if c.content != nil {
				p = writeList(t, *c.content)
			}
			r, err := Open(p)
			if err == nil {
				r.Close()
				t.Fatalf("Open succeeded; want %d (%s)", c.code, c.why)
			}
			var e *codes.SystemError
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not *codes.SystemError", err, err)
			}
			if e.Code != c.code || e.Line != c.line || !strings.Contains(e.Error(), c.msg) || e.File != p {
				t.Errorf("got %+v, want code %d line %d msg containing %q (%s)", e, c.code, c.line, c.msg, c.why)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestErrorText(t *testing.T) {
	p := writeList(t, "name\n")
	_, err := Open(p)
	want := fmt.Sprintf(`-10 TSV header cannot be parsed: no "email" column (%s line 1)`, p)
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	_, err = Open(filepath.Join(t.TempDir(), "nope.tsv"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file's error %v does not unwrap to fs.ErrNotExist", err)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "-8 Recipient TSV file cannot be opened: no such file or directory (") {
		t.Errorf("missing file text %q", err)
	}
	dir := t.TempDir()
	if _, err = Open(dir); err == nil || !strings.Contains(err.Error(), "-8 ") {
		t.Errorf("a directory opened as a list: %v", err)
	}
}

func TestRows(t *testing.T) {
	type want struct {
		line    int
		email   string
		fields  map[string]string
		problem string
	}
	cases := []struct {
		name    string
		content string
		header  []string
		rows    []want
		why     string
	}{
		{"lf", "email\tname\na@example.jp\t太郎\n", []string{"email", "name"},
			[]want{{2, "a@example.jp", map[string]string{"email": "a@example.jp", "name": "太郎"}, ""}},
			"the plain case"},
		{"crlf and bom", "\xEF\xBB\xBFEmail\tname\r\na@example.jp\t花子\r\n", []string{"Email", "name"},
			[]want{{2, "a@example.jp", map[string]string{"Email": "a@example.jp", "name": "花子"}, ""}},
			"Windows editors write a BOM and CRLF; neither may reach a field or a name"},
		{"no final newline", "email\na@example.jp", []string{"email"},
			[]want{{2, "a@example.jp", map[string]string{"email": "a@example.jp"}, ""}},
			"the last row without a newline is still a row"},
		{"blank lines", "email\n\na@example.jp\n \n\r\nb@example.jp\n\n\n", []string{"email"},
			[]want{
				{3, "a@example.jp", map[string]string{"email": "a@example.jp"}, ""},
				{6, "b@example.jp", map[string]string{"email": "b@example.jp"}, ""},
			}, "blank lines are not recipients, but line numbers still count them"},
		{"spaces trimmed", "email \t name\n  a@example.jp \t 山田　太郎 \n", []string{"email", "name"},
			[]want{{2, "a@example.jp", map[string]string{"email": "a@example.jp", "name": "山田　太郎"}, ""}},
			"ASCII spaces around fields go; the ideographic space inside a name stays"},
		{"quotes are data", "email\tname\na@example.jp\t\"Taro\" Yamada\n", []string{"email", "name"},
			[]want{{2, "a@example.jp", map[string]string{"email": "a@example.jp", "name": `"Taro" Yamada`}, ""}},
			"no quoting: the quotes are part of the name"},
		{"column count", "email\tname\tcity\na@example.jp\tx\nb@example.jp\tx\ty\tz\n", []string{"email", "name", "city"},
			[]want{
				{2, "a@example.jp", nil, "wrong column count (2, header has 3)"},
				{3, "b@example.jp", nil, "wrong column count (4, header has 3)"},
			}, "a short or long row is recorded, not fatal, with its email column as written"},
		{"column count, no email column", "name\tcity\temail\nx\ty\nz\t \t c@example.jp \tw\n", []string{"name", "city", "email"},
			[]want{
				{2, "", nil, "wrong column count (2, header has 3)"},
				{3, "c@example.jp", nil, "wrong column count (4, header has 3)"},
			}, "a row too short to reach the email column has none; a long one keeps it, trimmed"},
		{"empty trailing field", "email\tname\na@example.jp\t\n", []string{"email", "name"},
			[]want{{2, "a@example.jp", map[string]string{"email": "a@example.jp", "name": ""}, ""}},
			"a tab before an empty last field keeps the count right"},
		{"malformed", "email\tn\nnot-an-address\tx\n\tx\nx@@y\tx\n", []string{"email", "n"},
			[]want{
				{2, "not-an-address", map[string]string{"email": "not-an-address", "n": "x"}, "malformed address: missing @domain"},
				{3, "", map[string]string{"email": "", "n": "x"}, "malformed address: empty"},
				{4, "x@@y", map[string]string{"email": "x@@y", "n": "x"}, "malformed address: invalid character in domain"},
			}, "bad addresses become 800 in the caller"},
		{"carrier local parts", "email\ntaro..yamada@docomo.ne.jp\ntaro.@ezweb.ne.jp\n.taro@softbank.ne.jp\n", []string{"email"},
			[]want{
				{2, "taro..yamada@docomo.ne.jp", map[string]string{"email": "taro..yamada@docomo.ne.jp"}, ""},
				{3, "taro.@ezweb.ne.jp", map[string]string{"email": "taro.@ezweb.ne.jp"}, ""},
				{4, ".taro@softbank.ne.jp", map[string]string{"email": ".taro@softbank.ne.jp"}, ""},
			}, "docs/spec.md §3: legacy carrier mailboxes are real, never 800"},
		{"idn kept", "email\nuser@例え.jp\n", []string{"email"},
			[]want{{2, "user@例え.jp", map[string]string{"email": "user@例え.jp"}, ""}},
			"the delivery engine converts to A-labels; the list keeps what was written"},
		{"angle brackets", "email\n<a@example.jp>\n", []string{"email"},
			[]want{{2, "a@example.jp", map[string]string{"email": "<a@example.jp>"}, ""}},
			"brackets around an address are not part of it"},
		{"not utf-8 row", "email\tname\na@example.jp\t\x8e\x52\x93\x63\n", []string{"email", "name"},
			[]want{{2, "", nil, "line is not UTF-8 (save the list as UTF-8)"}},
			"a Shift_JIS name would reach the recipient as mojibake"},
		{"long row", "email\n" + strings.Repeat("y", MaxLine+10) + "\nb@example.jp\n", []string{"email"},
			[]want{
				{2, "", nil, fmt.Sprintf("line longer than %d octets", MaxLine)},
				{3, "b@example.jp", map[string]string{"email": "b@example.jp"}, ""},
			}, "a runaway line is a bad row and reading resumes after it"},
		{"long but allowed", "email\tnote\na@example.jp\t" + strings.Repeat("z", 100000) + "\n", []string{"email", "note"},
			[]want{{2, "a@example.jp", map[string]string{"email": "a@example.jp", "note": strings.Repeat("z", 100000)}, ""}},
			"a line longer than the read buffer but under MaxLine is assembled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Open(writeList(t, c.content))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.Header(); !reflect.DeepEqual(got, c.header) {
				t.Errorf("Header = %q, want %q", got, c.header)
			}
			rows := readAll(t, r)
			if len(rows) != len(c.rows) {
				t.Fatalf("%d rows, want %d (%s): %+v", len(rows), len(c.rows), c.why, rows)
			}
			for i, w := range c.rows {
				g := rows[i]
				if g.Line != w.line || g.Email != w.email || g.Problem != w.problem || !reflect.DeepEqual(g.Fields, w.fields) {
					t.Errorf("row %d = {%d %q %q %q}, want {%d %q %q %q} (%s)",
						i, g.Line, g.Email, g.Fields, g.Problem, w.line, w.email, w.fields, w.problem, c.why)
				}
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("Next after the end = %v, want io.EOF again", err)
			}
		})
	}
}

// TestUTF16 reads what Excel's "Unicode text" writes: UTF-16LE with a BOM.
func TestUTF16(t *testing.T) {
	for _, order := range []string{"le", "be"} {
		text := "email\tname\r\na@example.jp\t山田\r\n"
		units := utf16.Encode([]rune("\uFEFF" + text))
		var b []byte
		for _, u := range units {
			if order == "le" {
				b = append(b, byte(u), byte(u>>8))
			} else {
				b = append(b, byte(u>>8), byte(u))
			}
		}
		r, err := Open(writeList(t, string(b)))
		if err != nil {
			t.Fatalf("%s: %v", order, err)
		}
		rows := readAll(t, r)
		r.Close()
		if len(rows) != 1 || rows[0].Email != "a@example.jp" || rows[0].Fields["name"] != "山田" {
			t.Errorf("%s: rows %+v", order, rows)
		}
	}
}

// TestMillionRows streams a generated list and checks that the heap does
// not grow with it: constant memory is the package's promise (docs/spec.md §3).
func TestMillionRows(t *testing.T) {
	n := 1_000_000
	if raceEnabled || testing.Short() {
		n = 100_000
	}
	start := time.Now()
	p := filepath.Join(t.TempDir(), "big.tsv")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("email\tname\tcity\n")
	for i := range n {
		fmt.Fprintf(w, "user%d@d%d.example.jp\t名前%d\t東京\n", i, i%1000, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	generated := time.Since(start)

	r, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var before, mid, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	count := 0
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if row.Problem != "" {
			t.Fatalf("line %d: %s", row.Line, row.Problem)
		}
		count++
		if count == n/10 {
			runtime.GC()
			runtime.ReadMemStats(&mid)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if count != n {
		t.Fatalf("read %d rows, want %d", count, n)
	}
	// Live heap after all rows is what it was after a tenth of them: the
	// reader keeps nothing per row.
	if growth := int64(after.HeapAlloc) - int64(mid.HeapAlloc); growth > 256<<10 {
		t.Errorf("live heap grew by %d bytes between row %d and row %d", growth, n/10, n)
	}
	if held := int64(after.HeapAlloc) - int64(before.HeapAlloc); held > 1<<20 {
		t.Errorf("reader holds %d bytes after %d rows", held, n)
	}
	t.Logf("%d rows: generated in %v, read in %v (%.0f rows/s), %d mallocs/row",
		n, generated, time.Since(start)-generated, float64(n)/(time.Since(start)-generated).Seconds(),
		(after.Mallocs-before.Mallocs)/uint64(n))
}

func TestAllocsPerRow(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	var b strings.Builder
	b.WriteString("email\tname\tcity\n")
	for range 2000 {
		b.WriteString("a@example.jp\t太郎\t東京\n")
	}
	r, err := Open(writeList(t, b.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	})
	// The line's string, the map and its one bucket group.
	if allocs > 3 {
		t.Errorf("%.1f allocations per row, want at most 3", allocs)
	}
}

func BenchmarkNext(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("email\tname\tcity\tcode\n")
	for i := range 100000 {
		fmt.Fprintf(&sb, "user%d@example.jp\t山田 太郎\t東京都\t%d\n", i, i)
	}
	p := writeList(b, sb.String())
	b.SetBytes(int64(sb.Len() / 100000))
	b.ReportAllocs()
	r, err := Open(p)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := r.Next(); err == io.EOF {
			r.Close()
			if r, err = Open(p); err != nil {
				b.Fatal(err)
			}
		}
	}
	r.Close()
}
