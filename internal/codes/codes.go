package codes

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Tenths is an error-score weight kept in integer tenths, so that ten 0.1
// weights make exactly 1.0 (docs/spec.md §4).
type Tenths int

// String formats the weight as a decimal ("0.1", "1", "0.5").
func (t Tenths) String() string {
	if t%10 == 0 {
		return strconv.Itoa(int(t / 10))
	}
	sign := ""
	if t < 0 {
		sign, t = "-", -t
	}
	return fmt.Sprintf("%s%d.%d", sign, t/10, t%10)
}

// Class says what kind of outcome a code is.
type Class int

const (
	ClassUnknown      Class = iota
	ClassPreliminary        // 1xx
	ClassSuccess            // 2xx
	ClassIntermediate       // 3xx
	ClassTransient          // 4xx and transient result codes: retried
	ClassPermanent          // 5xx and permanent result codes: not retried
	ClassSystem             // negative codes: the run failed, no address blamed
)

var classNames = [...]string{"unknown", "preliminary", "success", "intermediate", "transient", "permanent", "system"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// Blame says on whose side seed 001's 問題箇所 column puts a result code.
type Blame int

const (
	BlameNone   Blame = iota
	BlameUser         // ユーザ: the recipient address (counts toward its score)
	BlameSystem       // システム: our side or the network
)

// Code is one numeric code: a basic SMTP reply code (250, 550) or a result
// code of seed 001 (623, 730, -11).
type Code struct {
	Code   int
	EN, JA string // short meaning
	// Seed is seed 001's 内容 column as the seed writes it, kept where JA
	// cannot be it because the seed has an English placeholder there
	// ("DNS Error 1", "MySQL DB init faild") rather than a meaning.
	Seed string
	// DetailEN/DetailJA explain cause and remedy (seed 000's second line,
	// seed 001's 原因 column) for `explain`.
	DetailEN, DetailJA string
	Class              Class
	Blame              Blame
	Weight             Tenths // default weight added to the address's error score
	Status             string // DSN status for codes hikyaku makes itself ("4.4.2")
	Reason             string // Sisimai-compatible reason name ("userunknown")
	Ref                string // where it is defined ("RFC 5321 §4.2.3", "seed 001")
}

// Enhanced is one enhanced status code of RFC 3463 and its registry
// (RFC 5248). Keyed by "class.subject.detail" with class written as "X" in
// the registry for codes valid with any class; Lookup tries the exact key
// first, then the X form.
type Enhanced struct {
	Status string // "X.1.1" or "5.7.23"
	EN, JA string
	Ref    string
	// Reason is the Sisimai reason name the code implies in its permanent
	// (5.x.x) form, "" when it implies none; the bounce reader prefers it
	// to the basic code's reason because it is more specific.
	Reason string
}

// Reply is one situation the receiver answers (docs/spec.md §2): the basic code,
// the enhanced code and the text. Text may hold fmt verbs filled by Format.
type Reply struct {
	Name     string // stable identifier used in logs and metrics ("rcpt_unknown_user")
	Code     int
	Enhanced string // "" for the greeting and HELO/EHLO replies
	EN, JA   string
}

// Format fills the English text's verbs.
func (r Reply) Format(args ...any) string {
	if len(args) == 0 {
		return r.EN
	}
	return fmt.Sprintf(r.EN, args...)
}

// Transient says whether the reply is a 4xx.
func (r Reply) Transient() bool { return r.Code >= 400 && r.Code < 500 }

// LookupCode finds a basic reply code or result code. ok is false when the
// code is in no table; Describe still explains it by its digits.
func LookupCode(code int) (Code, bool) {
	c, ok := index().code[code]
	return c, ok
}

// LookupEnhanced finds an enhanced status code ("5.7.1"), trying the exact
// entry first and then the registry's "X.s.d" form.
func LookupEnhanced(status string) (Enhanced, bool) {
	ix := index()
	if e, ok := ix.enhanced[status]; ok {
		return e, true
	}
	if i := strings.IndexByte(status, '.'); i > 0 {
		if e, ok := ix.enhanced["X"+status[i:]]; ok {
			return e, true
		}
	}
	return Enhanced{}, false
}

// Codes returns every numeric code, in table order.
func Codes() []Code { return append([]Code(nil), allCodes()...) }

// Enhanceds returns every enhanced status code, in table order.
func Enhanceds() []Enhanced { return append([]Enhanced(nil), allEnhanced...) }

// Replies returns every receiver situation, in table order.
func Replies() []Reply { return append([]Reply(nil), allReplies...) }

// Weight returns the default weight of a code: its table weight, or, for a
// remote reply code not listed, 0.
func Weight(code int) Tenths {
	c, _ := LookupCode(code)
	return c.Weight
}

// indexes are the tables keyed for lookup. They are built on first use,
// not in init(): every process that imports codes (each hikyaku command,
// bench/cmd/bouncetime) would otherwise pay ~118 KB and 157 allocations at
// start whether or not it looks a code up.
type indexes struct {
	code     map[int]Code
	enhanced map[string]Enhanced
	reply    map[string]Reply
}

var index = sync.OnceValue(func() *indexes {
	all := allCodes()
	ix := &indexes{
		code:     make(map[int]Code, len(all)),
		enhanced: make(map[string]Enhanced, len(allEnhanced)),
		reply:    make(map[string]Reply, len(allReplies)),
	}
	for _, c := range all {
		if _, dup := ix.code[c.Code]; dup {
			panic(fmt.Sprintf("codes: %d listed twice", c.Code))
		}
		ix.code[c.Code] = c
	}
	for _, e := range allEnhanced {
		if _, dup := ix.enhanced[e.Status]; dup {
			panic("codes: enhanced " + e.Status + " listed twice")
		}
		ix.enhanced[e.Status] = e
	}
	for _, r := range allReplies {
		if _, dup := ix.reply[r.Name]; dup {
			panic("codes: reply " + r.Name + " listed twice")
		}
		ix.reply[r.Name] = r
	}
	return ix
})

// ReplyByName finds a situation by its Name.
func ReplyByName(name string) (Reply, bool) {
	r, ok := index().reply[name]
	return r, ok
}

// String names the blame as seed 001's 問題箇所 column does, in English.
func (b Blame) String() string {
	switch b {
	case BlameUser:
		return "user"
	case BlameSystem:
		return "system"
	}
	return "none"
}

// MarshalText writes the class name, so JSON output reads "permanent"
// rather than 5.
func (c Class) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a class name written by MarshalText.
func (c *Class) UnmarshalText(b []byte) error {
	for i, n := range classNames {
		if n == string(b) {
			*c = Class(i)
			return nil
		}
	}
	return fmt.Errorf("codes: unknown class %q", b)
}

// MarshalText writes the blame name ("user", "system", "none").
func (b Blame) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText reads a blame name written by MarshalText.
func (b *Blame) UnmarshalText(text []byte) error {
	for _, v := range []Blame{BlameNone, BlameUser, BlameSystem} {
		if v.String() == string(text) {
			*b = v
			return nil
		}
	}
	return fmt.Errorf("codes: unknown blame %q", text)
}

// MarshalJSON writes the weight as a JSON number in its decimal form
// ("0.1", not 1), the unit people configure and read.
func (t Tenths) MarshalJSON() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalJSON reads a weight written as a number or a string ("0.1").
func (t *Tenths) UnmarshalJSON(b []byte) error {
	v, err := ParseTenths(strings.Trim(string(b), `"`))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ParseTenths reads a decimal weight with at most one significant decimal
// place ("1", "0.1", "0.50", "-0.5"). More precision is an error rather than
// a silent rounding, because a weight of 0.15 cannot be kept exactly.
func ParseTenths(s string) (Tenths, error) {
	bad := fmt.Errorf("codes: weight %q is not a decimal with at most one decimal place", s)
	neg := false
	rest := s
	if strings.HasPrefix(rest, "-") {
		neg, rest = true, rest[1:]
	} else if strings.HasPrefix(rest, "+") {
		rest = rest[1:]
	}
	whole, frac, hasDot := strings.Cut(rest, ".")
	if whole == "" && (!hasDot || frac == "") {
		return 0, bad
	}
	if hasDot && frac == "" {
		return 0, bad
	}
	n := 0
	for _, r := range whole {
		if r < '0' || r > '9' || n > 1e8 {
			return 0, bad
		}
		n = n*10 + int(r-'0')
	}
	n *= 10
	for i, r := range frac {
		if r < '0' || r > '9' || (i > 0 && r != '0') {
			return 0, bad
		}
		if i == 0 {
			n += int(r - '0')
		}
	}
	if neg {
		n = -n
	}
	return Tenths(n), nil
}
