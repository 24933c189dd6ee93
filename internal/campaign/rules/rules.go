package rules

import (
	_ "embed"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/outcome"
)

// FileName is the rules file looked for under data_dir when
// campaign.reply_rules is "".
const FileName = "reply-rules.txt"

// DefaultName is the source name of the built-in rules.
const DefaultName = "built-in defaults"

//go:embed default.txt
var defaultText string

// Rule is one line of a rules file.
type Rule struct {
	Result  int         // 801 or 850
	Reply   string      // "550", "55x", "5xx", "4xx", or "*" (any 5xx)
	Domains []string    // lower case; nil means any domain ("*")
	Phase   codes.Phase // codes.PhaseOther means any phase
	Pattern string      // the source between the slashes
	Except  string      // "" for none
	Line    int         // line in the file it came from

	re, except *regexp.Regexp
}

// Rules is a parsed rules file. It is read-only once parsed and safe for
// concurrent use.
type Rules struct {
	name  string
	rules []Rule
}

// phaseNames are the PHASE words, in the order of codes.Phase.
var phaseNames = map[string]codes.Phase{
	"greeting": codes.PhaseGreeting,
	"helo":     codes.PhaseHelo,
	"mail":     codes.PhaseMail,
	"rcpt":     codes.PhaseRcpt,
	"data":     codes.PhaseData,
	"dot":      codes.PhaseDot,
}

func phaseName(p codes.Phase) string {
	for n, q := range phaseNames {
		if q == p {
			return n
		}
	}
	return ""
}

var defaultRules = sync.OnceValue(func() *Rules {
	rs, err := Parse(strings.NewReader(defaultText), DefaultName)
	if err != nil {
		panic("rules: built-in default.txt: " + err.Error()) // a test keeps it valid
	}
	return rs
})

// Default returns the built-in rules of default.txt.
func Default() *Rules { return defaultRules() }

// DefaultText is default.txt as shipped, comments included: the start of
// a file of one's own.
func DefaultText() string { return defaultText }

// Name is the file the rules came from (DefaultName for the built-in ones).
func (rs *Rules) Name() string {
	if rs == nil {
		return ""
	}
	return rs.name
}

// Len is the number of rules.
func (rs *Rules) Len() int {
	if rs == nil {
		return 0
	}
	return len(rs.rules)
}

// Rules returns a copy of the rules in file order.
func (rs *Rules) Rules() []Rule {
	if rs == nil {
		return nil
	}
	return slices.Clone(rs.rules)
}

// String is the rule as one line of a rules file.
func (r Rule) String() string {
	var b strings.Builder
	dom := "*"
	if r.Domains != nil {
		dom = strings.Join(r.Domains, ",")
	}
	fmt.Fprintf(&b, "%d %-4s %-26s ", r.Result, r.Reply, dom)
	if r.Phase != codes.PhaseOther {
		fmt.Fprintf(&b, "%-4s ", phaseName(r.Phase))
	}
	b.WriteString("/" + r.Pattern + "/")
	if r.Except != "" {
		b.WriteString(" !/" + r.Except + "/")
	}
	return b.String()
}

// Write prints the rules, one per line in file order, as a rules file
// that parses back to the same rules.
func (rs *Rules) Write(w io.Writer) error {
	for _, r := range rs.Rules() {
		if _, err := fmt.Fprintln(w, r.String()); err != nil {
			return err
		}
	}
	return nil
}

// String is what Write prints.
func (rs *Rules) String() string {
	var b strings.Builder
	rs.Write(&b)
	return b.String()
}

// Subject is the one line a PATTERN is matched against: the code, the
// enhanced code when there is one, and the text with its lines joined by
// a space.
func Subject(r outcome.Result) string {
	s := strconv.Itoa(r.Code)
	if r.Enhanced != "" {
		s += " " + r.Enhanced
	}
	if r.Text != "" {
		s += " " + strings.ReplaceAll(r.Text, "\n", " ")
	}
	return s
}

// Match finds the rule that applies to a remote reply r for a recipient at
// domain: only remote 4xx and 5xx replies are looked at, never the codes
// hikyaku makes itself.
func (rs *Rules) Match(domain string, r outcome.Result) (Rule, bool) {
	if rs == nil || r.Code < 400 || r.Code >= 600 {
		return Rule{}, false
	}
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	type cand struct{ i, rank int }
	var cands []cand
	for i, ru := range rs.rules {
		rank := ru.domainRank(domain)
		if rank < 0 || !ru.replyMatches(r.Code) || (ru.Phase != codes.PhaseOther && ru.Phase != r.Phase) {
			continue
		}
		cands = append(cands, cand{i, rank})
	}
	if len(cands) == 0 {
		return Rule{}, false
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return b.rank - a.rank })
	subject := Subject(r)
	for _, c := range cands {
		ru := rs.rules[c.i]
		if ru.re.MatchString(subject) && (ru.except == nil || !ru.except.MatchString(subject)) {
			return ru, true
		}
	}
	return Rule{}, false
}

// Classify turns a remote reply into 801 or 850 when a rule matches, and
// says whether one did. The result keeps the remote's text, command,
// phase, host and IP; its enhanced code is the remote's when that is a
// 5.x.x one (else the table's DSN status: an 801/850 is permanent), its
// reason the table's.
func (rs *Rules) Classify(domain string, r outcome.Result) (outcome.Result, bool) {
	ru, ok := rs.Match(domain, r)
	if !ok {
		return r, false
	}
	c, _ := codes.LookupCode(ru.Result)
	out := r
	out.Code = ru.Result
	out.Reason = c.Reason
	if !strings.HasPrefix(r.Enhanced, "5.") {
		out.Enhanced = c.Status
	}
	return out, true
}

// domainRank is how closely the rule names domain: the label count of the
// longest listed domain that is domain or a parent of it, 0 for "*", -1
// when the rule does not apply.
func (r Rule) domainRank(domain string) int {
	if r.Domains == nil {
		return 0
	}
	best := -1
	for _, d := range r.Domains {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			best = max(best, strings.Count(d, ".")+1)
		}
	}
	return best
}

func (r Rule) replyMatches(code int) bool {
	if r.Reply == "*" {
		return code >= 500 && code < 600
	}
	s := strconv.Itoa(code)
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if r.Reply[i] != 'x' && r.Reply[i] != s[i] {
			return false
		}
	}
	return true
}
