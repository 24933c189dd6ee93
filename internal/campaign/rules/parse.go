package rules

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// maxErrors caps the errors one Parse reports; a binary file given by
// mistake should not print thousands of lines.
const maxErrors = 20

// LineError is a problem on one line of a rules file.
type LineError struct {
	File string
	Line int
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Load reads the rules file at path. Errors name the file and line.
func Load(path string) (*Rules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads a rules file; name is used in errors and by Name. On a bad
// line it goes on reading and returns every *LineError found (up to 20)
// joined with errors.Join, and no rules.
func Parse(r io.Reader, name string) (*Rules, error) {
	br := bufio.NewReader(r)
	rs := &Rules{name: name}
	var errs []error
	for n := 1; ; n++ {
		line, rerr := br.ReadString('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, fmt.Errorf("%s: %w", name, rerr)
		}
		if rerr == io.EOF && line == "" {
			break
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff") // a byte order mark from a Windows editor
		}
		ru, skip, err := parseLine(line)
		switch {
		case err != nil:
			if len(errs) == maxErrors {
				errs = append(errs, fmt.Errorf("%s: too many errors", name))
				return nil, errors.Join(errs...)
			}
			errs = append(errs, &LineError{File: name, Line: n, Msg: err.Error()})
		case !skip:
			ru.Line = n
			rs.rules = append(rs.rules, ru)
		}
		if rerr == io.EOF {
			break
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rs, nil
}

const shape = "want RESULT REPLY DOMAINS [PHASE] /PATTERN/ [!/EXCEPT/]"

// parseLine parses one line; skip is true for a blank or comment line.
func parseLine(line string) (r Rule, skip bool, err error) {
	t := strings.TrimSpace(line)
	if t == "" || t[0] == '#' {
		return r, true, nil
	}
	slash := strings.IndexByte(line, '/')
	if slash < 0 {
		return r, false, errors.New("no /PATTERN/: " + shape)
	}
	head := strings.Fields(line[:slash])
	if len(head) < 3 || len(head) > 4 {
		return r, false, fmt.Errorf("%d fields before the pattern: %s", len(head), shape)
	}
	if r.Result, err = parseResult(head[0]); err != nil {
		return r, false, err
	}
	if r.Reply, err = parseReply(head[1]); err != nil {
		return r, false, err
	}
	if r.Domains, err = parseDomains(head[2]); err != nil {
		return r, false, err
	}
	if len(head) == 4 {
		p, ok := phaseNames[strings.ToLower(head[3])]
		if !ok {
			return r, false, fmt.Errorf("phase %q: want greeting, helo, mail, rcpt, data or dot", head[3])
		}
		r.Phase = p
	}
	rest := line[slash:]
	if r.Pattern, r.re, rest, err = cutPattern(rest); err != nil {
		return r, false, err
	}
	rest = strings.TrimLeft(rest, " \t")
	if strings.HasPrefix(rest, "!/") {
		if r.Except, r.except, rest, err = cutPattern(rest[1:]); err != nil {
			return r, false, fmt.Errorf("except: %w", err)
		}
	}
	if rest = strings.TrimSpace(rest); rest != "" && rest[0] != '#' {
		return r, false, fmt.Errorf("unexpected %q after the pattern (a slash inside a pattern is written \\/)", clip(rest))
	}
	return r, false, nil
}

func parseResult(s string) (int, error) {
	switch s {
	case "801":
		return 801, nil
	case "850":
		return 850, nil
	}
	return 0, fmt.Errorf("result %q: want 801 or 850", clip(s))
}

// parseReply accepts "*" or three characters: 4 or 5, then digits or x.
func parseReply(s string) (string, error) {
	if s == "*" {
		return s, nil
	}
	s = strings.ToLower(s)
	ok := len(s) == 3 && (s[0] == '4' || s[0] == '5')
	for i := 1; ok && i < 3; i++ {
		ok = s[i] == 'x' || (s[i] >= '0' && s[i] <= '9')
	}
	if !ok {
		return "", fmt.Errorf("reply %q: want a 4xx or 5xx code (550), x for any digit (55x, 5xx), or *", clip(s))
	}
	return s, nil
}

// parseDomains accepts "*" or a comma-separated list of domain names.
func parseDomains(s string) ([]string, error) {
	if s == "*" {
		return nil, nil
	}
	var out []string
	for _, d := range strings.Split(strings.ToLower(s), ",") {
		d = strings.TrimSuffix(d, ".")
		if strings.HasPrefix(d, "*.") {
			return nil, fmt.Errorf("domain %q: write %s, which covers its subdomains", clip(d), clip(d[2:]))
		}
		if !validDomain(d) {
			return nil, fmt.Errorf("domain %q: want * or domain names separated by commas", clip(d))
		}
		out = append(out, d)
	}
	return out, nil
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// cutPattern takes "/PATTERN/..." apart at the first slash not escaped by
// a backslash, and compiles the pattern case-insensitively.
func cutPattern(s string) (src string, re *regexp.Regexp, rest string, err error) {
	end := -1
	for i := 1; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == '/' {
			end = i
			break
		}
	}
	if end < 0 {
		return "", nil, "", errors.New("pattern has no closing /")
	}
	src = s[1:end]
	if src == "" {
		return "", nil, "", errors.New("empty pattern")
	}
	re, err = regexp.Compile("(?i)" + src)
	if err != nil {
		return "", nil, "", fmt.Errorf("bad regexp: %v", err)
	}
	return src, re, s[end+1:], nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
