package bounce

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"
)

//go:embed rules.txt
var defaultRules string

// Rules are the provider texts that tell reasons (rules.txt), in order.
type Rules struct {
	rules []rule
	index *textIndex
}

type rule struct {
	reason string
	code   int
	text   string // lower case substring, when re is nil
	re     *regexp.Regexp
	line   int
	// pat is the index pattern the rule needs: its text, or a literal
	// every match of re holds (-1: re must always run). hazards, for a
	// regexp, are the runes that make that literal no proof.
	pat     int
	hazards []string
}

var defaultOnce = sync.OnceValue(func() *Rules {
	r, err := parseRules(defaultRules)
	if err != nil {
		panic("bounce: built-in rules.txt: " + err.Error())
	}
	return r
})

// Default returns the built-in rules.
func Default() *Rules { return defaultOnce() }

// LoadRules reads a rules file.
func LoadRules(path string) (*Rules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := ParseRules(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// ParseRules reads rules in the rules.txt format. An unknown reason, a bad
// code or a bad pattern is an error naming the line.
func ParseRules(in io.Reader) (*Rules, error) {
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, err
	}
	return parseRules(string(data))
}

// parseRules is ParseRules on the text; every process that reads a
// bounce parses the built-in file once, so it is sized from the start.
func parseRules(data string) (*Rules, error) {
	lines := strings.Count(data, "\n") + 1
	rs := &Rules{rules: make([]rule, 0, lines)}
	pats := make([]string, 0, lines)
	ids := make(map[string]int, lines)
	patID := func(p string) int {
		id, ok := ids[p]
		if !ok {
			id = len(pats)
			ids[p] = id
			pats = append(pats, p)
		}
		return id
	}
	for n, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		head, text, ok := strings.Cut(line, " ")
		text = strings.TrimSpace(text)
		if !ok || text == "" {
			return nil, fmt.Errorf("line %d: want REASON TEXT", n+1)
		}
		r := rule{line: n + 1}
		name, code, hasCode := strings.Cut(head, ":")
		if _, ok := LookupReason(name); !ok {
			return nil, fmt.Errorf("line %d: unknown reason %q", n+1, name)
		}
		r.reason = name
		if hasCode {
			c, err := strconv.Atoi(code)
			if err != nil {
				return nil, fmt.Errorf("line %d: bad code %q", n+1, code)
			}
			r.code = c
		}
		if len(text) > 2 && text[0] == '/' && text[len(text)-1] == '/' {
			re, err := regexp.Compile("(?i)" + text[1:len(text)-1])
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", n+1, err)
			}
			r.re = re
			r.pat = -1
			if tree, err := syntax.Parse("(?i)"+text[1:len(text)-1], syntax.Perl); err == nil {
				if lit := requiredLiteral(tree); lit != "" {
					r.pat = patID(lit)
					r.hazards = foldHazards(lit)
				}
			}
		} else {
			r.text = strings.ToLower(text)
			r.pat = patID(r.text)
		}
		rs.rules = append(rs.rules, r)
	}
	rs.index = newTextIndex(pats)
	return rs, nil
}

// match returns the first rule matching the lower-cased diagnostic.
func (rs *Rules) match(lower string) (rule, bool) { return rs.matchExcept(lower, "") }

// matchExcept is match skipping the rules of one reason. It gives what
// trying each rule in turn gives (matchNaive in the tests), from one
// scan of the text.
func (rs *Rules) matchExcept(lower, reason string) (rule, bool) {
	if rs.index == nil {
		return rule{}, false // a zero Rules has no rules
	}
	var buf [16]uint64
	found := bitset(buf[:])
	if n := (len(rs.index.pats) + 63) / 64; n > len(buf) {
		found = make(bitset, n)
	} else {
		found = found[:n]
	}
	rs.index.scan(lower, found)
	for _, r := range rs.rules {
		if r.reason == reason {
			continue
		}
		if r.re == nil {
			if found.has(r.pat) {
				return r, true
			}
			continue
		}
		if r.pat >= 0 && !found.has(r.pat) && !containsAny(lower, r.hazards) {
			continue
		}
		if r.re.MatchString(lower) {
			return r, true
		}
	}
	return rule{}, false
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
