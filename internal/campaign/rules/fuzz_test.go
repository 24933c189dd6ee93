package rules

import (
	"errors"
	"strings"
	"testing"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// FuzzParse feeds arbitrary files to the parser: it must never panic, a
// failure must name the file and a line, and rules it accepts, written out
// and parsed again, must be the same rules.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		DefaultText(),
		orderFile,
		"801 5xx * /x/\n",
		"850 550 docomo.ne.jp dot /unknown user/ !/x/ # c\r\n",
		"801 4XX A.JP,b.jp. rcpt /a\\/b/\n",
		"\ufeff801 * * /受信拒否/",
		"801 5xx * /abc\\/\n",
		"801 5xx * //\n801 5xx * /(/\n",
		"801 5xx * /a/ !/",
		"# only a comment",
		"",
	} {
		f.Add(s)
	}
	probes := []struct {
		domain string
		code   int
		text   string
	}{
		{"docomo.ne.jp", 550, "Unknown user x@docomo.ne.jp"},
		{"a.jp", 450, "mailbox disabled"},
		{"", 554, ""},
	}
	f.Fuzz(func(t *testing.T, data string) {
		rs, err := Parse(strings.NewReader(data), "fuzz.txt")
		if err != nil {
			var le *LineError
			if rs != nil || (!errors.As(err, &le) && !strings.Contains(err.Error(), "fuzz.txt")) {
				t.Fatalf("error without file and line: %v", err)
			}
			return
		}
		written := rs.String()
		again, err := Parse(strings.NewReader(written), "again.txt")
		if err != nil {
			t.Fatalf("written rules do not parse: %v\n%s", err, written)
		}
		if !sameRules(rs.Rules(), again.Rules()) || again.String() != written {
			t.Fatalf("round trip changed the rules:\n%s\n%s", written, again)
		}
		for _, p := range probes {
			for _, ph := range []codes.Phase{codes.PhaseRcpt, codes.PhaseDot} {
				got, ok := rs.Classify(p.domain, reply(p.code, "", p.text, ph))
				if ok && got.Code != 801 && got.Code != 850 {
					t.Fatalf("classified as %d", got.Code)
				}
			}
		}
	})
}
