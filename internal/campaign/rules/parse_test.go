package rules

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hikyaku/hikyaku/internal/codes"
)

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

func sameRules(a, b []Rule) bool {
	return slices.EqualFunc(a, b, func(x, y Rule) bool {
		return x.Result == y.Result && x.Reply == y.Reply && slices.Equal(x.Domains, y.Domains) &&
			x.Phase == y.Phase && x.Pattern == y.Pattern && x.Except == y.Except
	})
}

func mustParse(t *testing.T, text string) *Rules {
	t.Helper()
	rs, err := Parse(strings.NewReader(text), "test.txt")
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// A small file exercising order, domains, phases, classes and exceptions.
const orderFile = `# order and matching
801 5xx *               /disabled/
850 5xx example.jp      /disabled/
801 5xx sub.example.jp  /disabled/
850 55x *               /refused/   # a trailing comment
801 *   *               /refused/
801 4xx *               /gone for now/
850 550 example.jp rcpt /unknown/
850 550 other.jp   dot  /unknown/
801 5xx *               /suspended/  !/sender/
850 5xx *               /https:\/\/example\.com\/gone/
801 5xx a.jp,B.JP.      /listed/
`

func TestMatchOrder(t *testing.T) {
	rs := mustParse(t, orderFile)
	cases := []struct {
		name, why, domain string
		code              int
		enh, text         string
		phase             codes.Phase
		wantLine          int // 0: no rule
	}{
		{"star", "no domain rule applies: the * rule", "other.org", 550, "", "mailbox disabled", codes.PhaseRcpt, 2},
		{"domain beats star", "example.jp's rule before the earlier * rule", "example.jp", 550, "", "mailbox disabled", codes.PhaseRcpt, 3},
		{"subdomain of domain", "x.example.jp is covered by example.jp", "x.example.jp", 550, "", "mailbox disabled", codes.PhaseRcpt, 3},
		{"longest domain first", "sub.example.jp has more labels than example.jp", "a.sub.example.jp", 550, "", "mailbox disabled", codes.PhaseRcpt, 4},
		{"case and trailing dot", "domains compare without case or root dot", "Sub.Example.JP.", 550, "", "mailbox disabled", codes.PhaseRcpt, 4},
		{"not a suffix label", "notexample.jp is another domain", "notexample.jp", 550, "", "mailbox disabled", codes.PhaseRcpt, 2},
		{"parent not covered", "example.jp.evil.test is not under example.jp", "example.jp.evil.test", 550, "", "mailbox disabled", codes.PhaseRcpt, 2},
		{"file order among equals", "two * rules match: the first wins", "other.org", 554, "", "refused", codes.PhaseRcpt, 5},
		{"class pattern", "55x does not cover 500, the later * does", "other.org", 500, "", "refused", codes.PhaseRcpt, 6},
		{"star skips 4xx", "* means any 5xx", "other.org", 450, "", "refused", codes.PhaseRcpt, 0},
		{"explicit 4xx", "a rule naming 4xx takes a 4xx", "other.org", 451, "4.2.1", "gone for now", codes.PhaseRcpt, 7},
		{"phase matches", "rcpt rule for a RCPT reply", "example.jp", 550, "", "unknown", codes.PhaseRcpt, 8},
		{"phase differs", "rcpt rule, reply to the dot", "example.jp", 550, "", "unknown", codes.PhaseDot, 0},
		{"dot phase", "dot rule for a reply to the dot", "other.jp", 550, "", "unknown", codes.PhaseDot, 9},
		{"except", "the except pattern vetoes the rule", "other.org", 550, "", "sender suspended", codes.PhaseMail, 0},
		{"except not hit", "", "other.org", 550, "", "user suspended", codes.PhaseRcpt, 10},
		{"escaped slash", "\\/ is a slash", "other.org", 550, "", "see https://example.com/gone", codes.PhaseRcpt, 11},
		{"enhanced in subject", "the pattern sees the enhanced code", "other.org", 550, "5.7.1", "x", codes.PhaseRcpt, 0},
		{"domain list", "second listed domain, normalised", "x.b.jp", 550, "", "listed", codes.PhaseRcpt, 12},
		{"own code", "never a 6xx", "other.org", 623, "", "mailbox disabled", codes.PhaseRcpt, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ru, ok := rs.Match(tc.domain, reply(tc.code, tc.enh, tc.text, tc.phase))
			got := 0
			if ok {
				got = ru.Line
			}
			if got != tc.wantLine {
				t.Errorf("%s: matched line %d, want %d", tc.why, got, tc.wantLine)
			}
		})
	}
}

func TestClassifyFourXX(t *testing.T) {
	rs := mustParse(t, "801 4xx * /gone/\n")
	r := reply(450, "4.2.1", "gone", codes.PhaseRcpt)
	got, ok := rs.Classify("x.jp", r)
	if !ok || got.Code != 801 || got.Enhanced != "5.2.1" || got.Reason != "suspend" || !got.Permanent() {
		t.Fatalf("got %+v, want a permanent 801 with the table's 5.2.1 (the remote's 4.2.1 says transient)", got)
	}
	if got.Text != "gone" {
		t.Errorf("text %q lost", got.Text)
	}
}

func TestSubject(t *testing.T) {
	got := Subject(reply(550, "5.2.1", "line one\nline two", codes.PhaseRcpt))
	if want := "550 5.2.1 line one line two"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := Subject(reply(554, "", "", codes.PhaseRcpt)); got != "554" {
		t.Errorf("got %q", got)
	}
}

func TestNilRules(t *testing.T) {
	var rs *Rules
	r := reply(550, "5.2.1", "mailbox disabled", codes.PhaseRcpt)
	if got, ok := rs.Classify("x.jp", r); ok || got != r || rs.Len() != 0 {
		t.Error("a nil *Rules must classify nothing")
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, why, text, want string
	}{
		{"no pattern", "the fourth field is required", "801 5xx *\n", "test.txt:1: no /PATTERN/"},
		{"result", "only 801 and 850 come from rules", "# c\n\n802 5xx * /x/\n", "test.txt:3: result \"802\""},
		{"reply 6xx", "our own codes are never reclassified", "801 6xx * /x/\n", "test.txt:1: reply \"6xx\""},
		{"reply x first", "the class digit must be named", "801 x50 * /x/\n", "reply \"x50\""},
		{"reply long", "three characters", "801 5500 * /x/\n", "reply \"5500\""},
		{"wildcard domain", "a domain covers its subdomains already", "801 5xx *.docomo.ne.jp /x/\n", "write docomo.ne.jp"},
		{"bad domain", "no empty label", "801 5xx a..jp /x/\n", "domain \"a..jp\""},
		{"star in list", "* stands alone", "801 5xx a.jp,* /x/\n", "domain \"*\""},
		{"phase", "unknown phase name", "801 5xx * quit /x/\n", "phase \"quit\""},
		{"too many fields", "at most four before the pattern", "801 5xx * rcpt extra /x/\n", "5 fields"},
		{"too few fields", "three at least", "801 * /x/\n", "2 fields"},
		{"bad regexp", "RE2 syntax", "801 5xx * /(unclosed/\n", "test.txt:1: bad regexp"},
		{"backreference", "RE2 has none", "801 5xx * /(a)\\1/\n", "bad regexp"},
		{"empty pattern", "it would match everything", "801 5xx * //\n", "empty pattern"},
		{"unterminated", "no closing slash", "801 5xx * /abc\n", "no closing /"},
		{"escaped end", "the last slash is escaped", "801 5xx * /abc\\/\n", "no closing /"},
		{"unescaped slash", "a slash inside must be escaped", "801 5xx * /a/b/\n", "unexpected \"b/\""},
		{"bad except", "the except pattern is checked too", "801 5xx * /a/ !/(/\n", "except: bad regexp"},
		{"junk after", "only a comment may follow", "801 5xx * /a/ junk\n", "unexpected \"junk\""},
		{"crlf line 2", "CRLF files count lines the same", "801 5xx * /a/\r\n850 5xx * /(/\r\n", "test.txt:2: bad regexp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := Parse(strings.NewReader(tc.text), "test.txt")
			if err == nil || rs != nil {
				t.Fatalf("%s: parsed, want an error with %q", tc.why, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: error %q, want it to contain %q", tc.why, err, tc.want)
			}
			var le *LineError
			if !errors.As(err, &le) || le.File != "test.txt" || le.Line < 1 {
				t.Errorf("error %T is no *LineError with file and line", err)
			}
		})
	}
}

func TestParseReportsEveryLine(t *testing.T) {
	_, err := Parse(strings.NewReader("801 5xx * /ok/\n802 5xx * /a/\n801 5xx * /b/\n850 5xx * /(/\n"), "f.txt")
	if err == nil {
		t.Fatal("parsed")
	}
	msg := err.Error()
	if !strings.Contains(msg, "f.txt:2:") || !strings.Contains(msg, "f.txt:4:") || strings.Contains(msg, "f.txt:3:") {
		t.Errorf("want errors for lines 2 and 4 only, got:\n%s", msg)
	}
	many := strings.Repeat("bad\n", 100)
	_, err = Parse(strings.NewReader(many), "f.txt")
	if n := strings.Count(err.Error(), "\n"); n > maxErrors+1 {
		t.Errorf("%d error lines for a garbage file, want at most %d", n+1, maxErrors+1)
	}
}

func TestParseAccepts(t *testing.T) {
	rs := mustParse(t, "\ufeff# a byte order mark is skipped\n  # indented comment\n\t\n801 5XX * /x/\n850 550 Docomo.NE.JP Dot /y/ !/z/ # c\n801 5xx * /last line without newline/")
	if rs.Len() != 3 {
		t.Fatalf("%d rules, want 3:\n%s", rs.Len(), rs)
	}
	r := rs.Rules()
	if r[0].Reply != "5xx" || r[0].Line != 4 || r[1].Domains[0] != "docomo.ne.jp" || r[1].Phase != codes.PhaseDot || r[1].Except != "z" || r[2].Line != 6 {
		t.Errorf("normalised wrong: %+v", r)
	}
	want := "801 5xx  *                          /x/\n850 550  docomo.ne.jp               dot  /y/ !/z/\n801 5xx  *                          /last line without newline/\n"
	if got := rs.String(); got != want {
		t.Errorf("written:\n%q\nwant\n%q", got, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	if err := os.WriteFile(p, []byte("801 5xx * /x/\n850 5xx * /(/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if err == nil || !strings.HasPrefix(err.Error(), p+":2: bad regexp") {
		t.Errorf("error %v, want it to start with %s:2:", err, p)
	}
	if _, err := Load(filepath.Join(dir, "missing.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}
