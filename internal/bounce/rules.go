package bounce

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

//go:embed rules.txt
var defaultRules string

// Rules are the provider texts that tell reasons (rules.txt), in order.
type Rules struct {
	rules []rule
}

type rule struct {
	reason string
	code   int
	text   string // lower case substring, when re is nil
	re     *regexp.Regexp
	line   int
}

var defaultOnce = sync.OnceValue(func() *Rules {
	r, err := ParseRules(strings.NewReader(defaultRules))
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
	rs := &Rules{}
	for n, line := range strings.Split(string(data), "\n") {
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
		} else {
			r.text = strings.ToLower(text)
		}
		rs.rules = append(rs.rules, r)
	}
	return rs, nil
}

// match returns the first rule matching the lower-cased diagnostic.
func (rs *Rules) match(lower string) (rule, bool) { return rs.matchExcept(lower, "") }

// matchExcept is match skipping the rules of one reason.
func (rs *Rules) matchExcept(lower, reason string) (rule, bool) {
	for _, r := range rs.rules {
		if r.reason == reason {
			continue
		}
		if r.re != nil {
			if r.re.MatchString(lower) {
				return r, true
			}
		} else if strings.Contains(lower, r.text) {
			return r, true
		}
	}
	return rule{}, false
}
