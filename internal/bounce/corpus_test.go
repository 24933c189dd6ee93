package bounce

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// corpusDir is the corpus's maildir-bsd folder (findCorpusMails); a
// missing corpus fails the test unless $HIKYAKU_BOUNCE_CORPUS names another
// folder on purpose.
func corpusDir(t testing.TB) string {
	mails, ok := findCorpusMails()
	if !ok {
		if os.Getenv("HIKYAKU_BOUNCE_CORPUS") != "" {
			t.Skipf("no maildir-bsd/ in $HIKYAKU_BOUNCE_CORPUS (%s)", mails)
		}
		t.Fatalf("the bounce corpus is missing from %s", mails)
	}
	return mails
}

type corpusRow struct {
	file, recipient, reason, status string
}

func loadCorpusTable(t testing.TB) []corpusRow {
	f, err := os.Open(filepath.Join("testdata", "corpus.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []corpusRow
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		if first {
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 4 {
			t.Fatalf("corpus.tsv: short line %q", sc.Text())
		}
		rows = append(rows, corpusRow{c[0], c[1], c[2], c[3]})
	}
	return rows
}

// TestCorpus reads every mail of the public corpus and compares
// (recipient, reason, status) with the reviewed table.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	rows := loadCorpusTable(t)
	byFile := map[string][]corpusRow{}
	var files []string
	for _, r := range rows {
		if _, ok := byFile[r.file]; !ok {
			files = append(files, r.file)
		}
		byFile[r.file] = append(byFile[r.file], r)
	}
	sort.Strings(files)
	total, good := 0, 0
	var diffs []string
	empty := 0
	for _, file := range files {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Read(data, Options{})
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		got := map[string]Result{}
		for _, res := range rep.Results {
			got[res.Recipient] = res
		}
		want := byFile[file]
		named := false // the table names a recipient for this file
		for _, w := range byFile[file] {
			named = named || w.recipient != ""
		}
		if named && rep.Kind == KindBounce && (len(rep.Results) == 0 || len(rep.Results) == 1 && rep.Results[0].Recipient == "") {
			empty++
		}
		for _, w := range want {
			total++
			g, ok := got[w.recipient]
			if !ok {
				var have []string
				for _, res := range rep.Results {
					have = append(have, res.Recipient+"/"+res.Reason+"/"+res.Status)
				}
				diffs = append(diffs, file+"\tmissing "+w.recipient+" ("+w.reason+" "+w.status+"); got "+strings.Join(have, ", "))
				continue
			}
			delete(got, w.recipient)
			if g.Reason == w.reason && g.Status == w.status {
				good++
				continue
			}
			diffs = append(diffs, file+"\t"+w.recipient+"\twant "+w.reason+" "+w.status+"\tgot "+g.Reason+" "+g.Status+"\t"+truncate(g.Reply, 160))
		}
		for rcpt, g := range got {
			total++
			diffs = append(diffs, file+"\textra "+rcpt+" ("+g.Reason+" "+g.Status+")")
		}
	}
	pct := 100 * float64(good) / float64(total)
	t.Logf("corpus agreement: %d/%d rows (%.1f%%), %d files without a recipient", good, total, pct, empty)
	if out := os.Getenv("HIKYAKU_CORPUS_DIFF"); out != "" {
		os.WriteFile(out, []byte(strings.Join(diffs, "\n")+"\n"), 0o644)
	}
	if pct < 97 {
		for _, d := range diffs {
			t.Log(d)
		}
		t.Errorf("corpus agreement %.1f%% is under 97%%", pct)
	}
	if empty > 0 {
		t.Errorf("%d corpus bounces yield no recipient", empty)
	}
}

// TestCorpusOne prints what Read makes of $HIKYAKU_BOUNCE_FILE (a
// debugging aid; skipped otherwise).
func TestCorpusOne(t *testing.T) {
	name := os.Getenv("HIKYAKU_BOUNCE_FILE")
	if name == "" {
		t.Skip("set HIKYAKU_BOUNCE_FILE to a corpus file name")
	}
	for _, n := range strings.Fields(name) {
		data, err := os.ReadFile(filepath.Join(corpusDir(t), n))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Read(data, Options{})
		t.Logf("%s: kind %s err %v", n, rep.Kind, err)
		for _, r := range rep.Results {
			t.Logf("  %+v", r)
		}
	}
}

// eachCorpusMail calls fn with the name and contents of every corpus mail,
// in name order.
func eachCorpusMail(t testing.TB, fn func(name string, mail []byte)) {
	t.Helper()
	dir := corpusDir(t)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		m, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fn(e.Name(), m)
	}
}
