package bounce

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The own samples (issue 12): testdata/samples/*.eml, written by hand as
// the real MTAs and carriers produce them, and testdata/samples/expected.tsv,
// one line per (file, recipient):
//
//	file  recipient  original  code  status  reason  blame  kind
//
// An empty original means the bounce does not tell the address we sent to
// apart from the final recipient (Read may then leave Original empty or set
// it to the recipient). A file that is not a bounce (KindNone, KindAutoReply)
// has one line; its recipient is empty for KindNone and the From address for
// an auto-reply.

const samplesDir = "testdata/samples"

type sampleRow struct {
	line      int
	file      string
	recipient string
	original  string
	code      int
	status    string
	reason    string
	blame     Blame
	kind      Kind
}

func loadSampleRows(t testing.TB) map[string][]sampleRow {
	t.Helper()
	f, err := os.Open(filepath.Join(samplesDir, "expected.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string][]sampleRow{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "file\t") {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 8 {
			t.Fatalf("expected.tsv:%d: %d columns, want 8", n, len(c))
		}
		code, err := strconv.Atoi(c[3])
		if err != nil {
			t.Fatalf("expected.tsv:%d: code %q: %v", n, c[3], err)
		}
		if _, ok := LookupReason(c[5]); !ok {
			t.Fatalf("expected.tsv:%d: reason %q is not in Reasons", n, c[5])
		}
		rows[c[0]] = append(rows[c[0]], sampleRow{
			line: n, file: c[0], recipient: c[1], original: c[2], code: code,
			status: c[4], reason: c[5], blame: Blame(c[6]), kind: Kind(c[7]),
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func readSample(t testing.TB, name string) Report {
	t.Helper()
	msg, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Read(msg, Options{})
	if err != nil {
		t.Fatalf("%s: Read: %v", name, err)
	}
	return rep
}

// TestSamples reads every own sample and reports every field that differs
// from expected.tsv, and ends with the agreement figure.
func TestSamples(t *testing.T) {
	rows := loadSampleRows(t)
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("%d samples, want at least 20", len(files))
	}
	seen := map[string]bool{}
	total, agree := 0, 0
	for _, path := range files {
		name := filepath.Base(path)
		seen[name] = true
		want := rows[name]
		total += len(want)
		t.Run(strings.TrimSuffix(name, ".eml"), func(t *testing.T) {
			if len(want) == 0 {
				t.Fatalf("%s has no line in expected.tsv", name)
			}
			agree += checkSample(t, name, readSample(t, name), want)
		})
	}
	for name := range rows {
		if !seen[name] {
			t.Errorf("expected.tsv names %s, which is not in %s", name, samplesDir)
		}
	}
	t.Logf("samples agreement: %d/%d rows (%.1f%%)", agree, total, 100*float64(agree)/float64(max(total, 1)))
}

// checkSample compares one report with its expected rows; it returns the
// number of rows that agree in every field.
func checkSample(t *testing.T, name string, rep Report, want []sampleRow) int {
	t.Helper()
	if rep.Kind != want[0].kind {
		t.Errorf("%s: kind %q, want %q", name, rep.Kind, want[0].kind)
	}
	if len(rep.Results) == 0 {
		t.Errorf("%s: no results; every mail gives at least one", name)
		return 0
	}
	got := map[string]Result{}
	for _, r := range rep.Results {
		key := strings.ToLower(r.Recipient)
		if _, dup := got[key]; dup {
			t.Errorf("%s: recipient %q given twice", name, r.Recipient)
		}
		got[key] = r
	}
	agree := 0
	for _, w := range want {
		r, ok := got[w.recipient]
		if !ok {
			t.Errorf("%s (expected.tsv:%d): no result for recipient %q; got %s", name, w.line, w.recipient, recipients(rep))
			continue
		}
		delete(got, w.recipient)
		var diffs []string
		if w.original == "" {
			if r.Original != "" && !strings.EqualFold(r.Original, r.Recipient) {
				diffs = append(diffs, fmt.Sprintf("original %q, want none", r.Original))
			}
		} else if !strings.EqualFold(r.Original, w.original) {
			diffs = append(diffs, fmt.Sprintf("original %q, want %q", r.Original, w.original))
		}
		if r.Code != w.code {
			diffs = append(diffs, fmt.Sprintf("code %d, want %d", r.Code, w.code))
		}
		if r.Status != w.status {
			diffs = append(diffs, fmt.Sprintf("status %q, want %q", r.Status, w.status))
		}
		if r.Reason != w.reason {
			diffs = append(diffs, fmt.Sprintf("reason %q, want %q", r.Reason, w.reason))
		}
		if r.Blame != w.blame {
			diffs = append(diffs, fmt.Sprintf("blame %q, want %q", r.Blame, w.blame))
		}
		if rep.Kind != w.kind {
			diffs = append(diffs, fmt.Sprintf("kind %q, want %q", rep.Kind, w.kind))
		}
		if len(diffs) == 0 {
			agree++
			continue
		}
		t.Errorf("%s (expected.tsv:%d) %s: %s (reply %q, format %q)", name, w.line, w.recipient, strings.Join(diffs, "; "), r.Reply, r.Format)
	}
	for _, k := range sortedKeys(got) {
		t.Errorf("%s: unexpected recipient %q (code %d, reason %q)", name, got[k].Recipient, got[k].Code, got[k].Reason)
	}
	return agree
}

func recipients(rep Report) string {
	var s []string
	for _, r := range rep.Results {
		s = append(s, fmt.Sprintf("%q", r.Recipient))
	}
	return "[" + strings.Join(s, " ") + "]"
}

func sortedKeys(m map[string]Result) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// TestSamplesFeedbackType: an ARF report's Feedback-Type is kept.
func TestSamplesFeedbackType(t *testing.T) {
	for file, want := range map[string]string{
		"arf-yahoo-abuse.eml": "abuse",
		"arf-fraud.eml":       "fraud",
	} {
		rep := readSample(t, file)
		if len(rep.Results) == 0 {
			t.Errorf("%s: no results", file)
			continue
		}
		if got := rep.Results[0].Feedback; got != want {
			t.Errorf("%s: feedback %q, want %q", file, got, want)
		}
	}
}

// TestSamplesSubjectDecoded: RFC 2047 ISO-2022-JP subjects are decoded.
func TestSamplesSubjectDecoded(t *testing.T) {
	for file, want := range map[string]string{
		"jp-docomo-unknown.eml": "メール配信エラーのお知らせ",
		"jp-nifty-unknown.eml":  "配信不能のお知らせ",
	} {
		if got := readSample(t, file).Subject; !strings.Contains(got, want) {
			t.Errorf("%s: subject %q, want it to contain %q", file, got, want)
		}
	}
}

// TestSamplesReplyKept: the remote's reply is kept, one line, with the
// Japanese text decoded from its charset.
func TestSamplesReplyKept(t *testing.T) {
	for file, want := range map[string]string{
		"jp-ocn-disabled.eml":            "このアカウントは無効です",
		"jp-softbank-refused.eml":        "受信拒否",
		"gmail-nosuchuser-multiline.eml": "does not exist",
		"jp-docomo-unknown.eml":          "Unknown user",
	} {
		rep := readSample(t, file)
		if len(rep.Results) == 0 {
			t.Errorf("%s: no results", file)
			continue
		}
		r := rep.Results[0].Reply
		if !strings.Contains(r, want) {
			t.Errorf("%s: reply %q, want it to contain %q", file, r, want)
		}
		if strings.ContainsAny(r, "\r\n") {
			t.Errorf("%s: reply %q is more than one line", file, r)
		}
	}
}

// TestDocNamesEveryReason keeps docs/bounce.md and Reasons together: the
// reasons table of the doc has a row for every reason, with the same
// status and blame, and names no reason the reader does not give.
func TestDocNamesEveryReason(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "bounce.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The "## Reasons" section, up to the next section.
	_, section, ok := strings.Cut(string(doc), "\n## Reasons\n")
	if !ok {
		t.Fatal("docs/bounce.md has no \"## Reasons\" section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	// | `name` | code | status | blame | weight | meaning |
	row := regexp.MustCompile("(?m)^\\|\\s*`([a-z]+)`\\s*\\|([^|]*)\\|([^|]*)\\|([^|]*)\\|")
	rows := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		if _, dup := rows[m[1]]; dup {
			t.Errorf("docs/bounce.md: reason %q has two rows", m[1])
		}
		rows[m[1]] = []string{strings.TrimSpace(m[2]), strings.TrimSpace(m[3]), strings.TrimSpace(m[4])}
	}
	for _, r := range Reasons {
		cols, ok := rows[r.Name]
		if !ok {
			t.Errorf("docs/bounce.md: no table row for reason %q", r.Name)
			continue
		}
		status := strings.Trim(cols[1], "`")
		if status == "—" || status == "-" {
			status = ""
		}
		if status != r.Status {
			t.Errorf("docs/bounce.md: %s: status %q, reasons.go says %q", r.Name, cols[1], r.Status)
		}
		blame := cols[2]
		if blame == "—" || blame == "-" {
			blame = ""
		}
		if blame != string(r.Blame) {
			t.Errorf("docs/bounce.md: %s: blame %q, reasons.go says %q", r.Name, cols[2], r.Blame)
		}
		if r.Code != 0 && !strings.Contains(cols[0], strconv.Itoa(r.Code)) {
			t.Errorf("docs/bounce.md: %s: code column %q does not name %d", r.Name, cols[0], r.Code)
		}
	}
	for name := range rows {
		if _, ok := LookupReason(name); !ok {
			t.Errorf("docs/bounce.md: reasons table has a row for %q, which is not in Reasons", name)
		}
	}
	if len(rows) != len(Reasons) {
		t.Errorf("docs/bounce.md: %d reason rows, Reasons has %d", len(rows), len(Reasons))
	}
}

// sampleVERP reads the samples' return paths, bounce+CAMPAIGN-ROW-HASH@…,
// without checking HASH (the samples' hashes are made up).
func sampleVERP(addr string) (string, int64, bool) {
	m := verpRE.FindStringSubmatch(strings.ToLower(addr))
	if m == nil {
		return "", 0, false
	}
	row, err := strconv.ParseInt(m[2], 10, 64)
	return m[1], row, err == nil
}

var verpRE = regexp.MustCompile(`^bounce\+([a-z0-9]+)-([0-9]+)-[0-9a-z]+@bounce\.example\.com$`)

// TestSamplesVERP: a bounce or complaint that came back to (or quotes) a
// VERP return path names its campaign and row on every result, found in
// the headers when no envelope is given.
func TestSamplesVERP(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(samplesDir, "*.eml"))
	find := regexp.MustCompile(`bounce\+[a-z0-9]+-[0-9]+-[0-9a-z]+@bounce\.example\.com`)
	n := 0
	for _, path := range files {
		msg, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		addr := find.Find(msg)
		if addr == nil {
			continue
		}
		camp, row, _ := sampleVERP(string(addr))
		rep, err := Read(msg, Options{VERP: sampleVERP})
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		if rep.Kind != KindBounce && rep.Kind != KindFeedback {
			continue
		}
		n++
		for _, r := range rep.Results {
			if r.Campaign != camp || r.Row != row {
				t.Errorf("%s: %s: campaign %q row %d, want %q %d (from %s)", filepath.Base(path), r.Recipient, r.Campaign, r.Row, camp, row, addr)
			}
		}
	}
	if n < 15 {
		t.Errorf("only %d samples checked for VERP", n)
	}
}

// TestSamplesCRLF: a mail as it comes off the wire (CRLF line ends) reads
// the same as the LF samples on disk.
func TestSamplesCRLF(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(samplesDir, "*.eml"))
	for _, path := range files {
		msg, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		crlf := []byte(strings.ReplaceAll(string(msg), "\n", "\r\n"))
		lf, err1 := Read(msg, Options{})
		wire, err2 := Read(crlf, Options{})
		if err1 != nil || err2 != nil {
			t.Errorf("%s: errors %v / %v", filepath.Base(path), err1, err2)
			continue
		}
		if !reflect.DeepEqual(lf, wire) {
			t.Errorf("%s: CRLF reads differently:\n LF   %+v\n CRLF %+v", filepath.Base(path), lf, wire)
		}
	}
}
