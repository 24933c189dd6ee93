package codes

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind says which family a described code belongs to.
type Kind string

const (
	KindReply    Kind = "reply"    // SMTP basic reply code (RFC 5321)
	KindResult   Kind = "result"   // seed 001 delivery result code, 6xx-8xx
	KindSystem   Kind = "system"   // seed 001 system code, below zero
	KindEnhanced Kind = "enhanced" // enhanced status code (RFC 3463)
	KindPattern  Kind = "pattern"  // a digit pattern such as "5xx", "x5x", "X.7.x"
)

// Note is a remark about a query, in both languages.
type Note struct {
	EN string `json:"en"`
	JA string `json:"ja"`
}

// Description is everything the code table knows about one query, for
// `hikyaku explain` (Text for people, JSON for --json).
type Description struct {
	Query    string    `json:"query"`
	Kind     Kind      `json:"kind"`
	Code     string    `json:"code"`  // normalised: "550", "623", "-11", "5.7.1", "x5x"
	Known    bool      `json:"known"` // listed in a table; false: read from its digits only
	EN       string    `json:"en"`
	JA       string    `json:"ja"`
	DetailEN string    `json:"detail_en,omitempty"`
	DetailJA string    `json:"detail_ja,omitempty"`
	Class    Class     `json:"class,omitempty"`
	Blame    Blame     `json:"blame,omitempty"`
	Weight   *Tenths   `json:"weight,omitempty"` // set for reply and result codes only
	Status   string    `json:"status,omitempty"` // DSN status hikyaku reports for its own codes
	Reason   string    `json:"reason,omitempty"` // Sisimai reason; the enhanced code's when it has one
	Ref      string    `json:"ref,omitempty"`
	Digits   []Meaning `json:"digits,omitempty"`
	Notes    []Note    `json:"notes,omitempty"`
	// ReplyText is what followed the codes in a pasted reply line
	// ("550 5.1.1 no such user"), echoed so the reader sees what was read.
	ReplyText string `json:"reply_text,omitempty"`
	// Enhanced is the enhanced code part of a query like "550 5.7.1".
	Enhanced *Description `json:"enhanced,omitempty"`
}

// ErrNotACode is wrapped by Describe's error for a query of no known shape.
var ErrNotACode = errors.New("not a reply code, enhanced status code or result code")

// Describe explains one query: a reply code ("550"), an enhanced status code
// ("5.7.1", "X.1.1"), a result code ("623", "-11"), a reply code with its
// enhanced code ("550 5.7.1", "421-4.7.0", even a whole pasted reply line),
// or a digit pattern from seed 000 ("5xx", "x5x", "4.x.x"). Codes of the
// right shape that no table lists are explained by their digits; anything
// else is an error wrapping ErrNotACode. Full-width digits are accepted.
func Describe(query string) (Description, error) {
	q := normalize(query)
	d, err := describe(q)
	if err != nil {
		return Description{}, fmt.Errorf("codes: %q: %w", query, err)
	}
	d.Query = query
	return d, nil
}

func describe(q string) (Description, error) {
	if q == "" {
		return Description{}, fmt.Errorf("empty query: %w", ErrNotACode)
	}
	if len(q) > 1 && q[1] == '.' {
		// A reply code has three digits before anything else, so a dot in
		// second place can only start an enhanced code.
		return describeEnhanced(q)
	}
	if q[0] == '-' {
		return describeSystem(q)
	}
	head, rest := q, ""
	if len(q) > 3 {
		head, rest = q[:3], q[3:]
	}
	d, err := describeThree(head)
	if err != nil || rest == "" {
		return d, err
	}
	if !isSep(rest[0]) {
		return Description{}, fmt.Errorf("a reply code has three digits: %w", ErrNotACode)
	}
	if d.Kind != KindReply {
		return Description{}, fmt.Errorf("only a reply code (1xx-5xx) can be followed by an enhanced code or text: %w", ErrNotACode)
	}
	return withRest(d, rest)
}

// withRest reads what follows a reply code: an optional enhanced code, then
// the reply text, as in "550-5.7.1 relaying denied".
func withRest(d Description, rest string) (Description, error) {
	rest = strings.TrimLeft(rest, " \t-:/,;_")
	word, text, _ := strings.Cut(rest, " ")
	if looksEnhanced(word) {
		e, err := describeEnhanced(word)
		if err != nil {
			return Description{}, err
		}
		e.Query = word
		d.Enhanced = &e
		if e.Reason != "" {
			d.Reason = e.Reason
		}
		if c := e.Code[0]; c != 'X' && c != 'x' && c != d.Code[0] && d.Code[0] != 'x' {
			d.Notes = append(d.Notes, Note{
				EN: fmt.Sprintf("The enhanced code's class (%c) should match the reply code's first digit (%c) (RFC 2034); the reply is malformed.", c, d.Code[0]),
				JA: fmt.Sprintf("拡張ステータスコードのクラス(%c)は応答コードの1桁目(%c)と一致すべきもの(RFC 2034)。応答の形式が正しくない。", c, d.Code[0]),
			})
		}
		rest = text
	}
	d.ReplyText = strings.TrimSpace(rest)
	return d, nil
}

func looksEnhanced(s string) bool {
	return strings.Count(s, ".") == 2 && len(s) >= 5 && strings.IndexByte("245Xx", s[0]) >= 0 && s[1] == '.'
}

func isSep(c byte) bool { return strings.IndexByte(" \t-:/,;_", c) >= 0 }

// describeThree explains a three-character reply or result code, or a
// pattern of one with 'x' in some positions.
func describeThree(s string) (Description, error) {
	s = strings.ToLower(s)
	if len(s) != 3 {
		return Description{}, fmt.Errorf("a reply code has three digits: %w", ErrNotACode)
	}
	pattern := false
	for i := 0; i < 3; i++ {
		switch c := s[i]; {
		case c == 'x':
			pattern = true
		case c < '0' || c > '9':
			return Description{}, fmt.Errorf("%q is not a digit, so this is no code: %w", c, ErrNotACode)
		}
	}
	first := s[0]
	switch {
	case first == 'x':
	case first < '1' || first > '8':
		return Description{}, fmt.Errorf("the first digit must be 1-5 (reply code) or 6-8 (result code): %w", ErrNotACode)
	case first <= '5' && s[1] != 'x' && s[1] > '5':
		return Description{}, fmt.Errorf("the second digit of a reply code runs 0-5 (RFC 5321 §4.2): %w", ErrNotACode)
	}
	if pattern {
		return describePattern(s)
	}
	n, _ := strconv.Atoi(s)
	return describeNumber(n), nil
}

func describePattern(s string) (Description, error) {
	digits := digitsOf(s)
	if len(digits) == 0 {
		return Description{}, fmt.Errorf("a pattern needs at least one digit: %w", ErrNotACode)
	}
	d := Description{Kind: KindPattern, Code: s, Digits: digits,
		EN: "Digit pattern: what the given digits mean", JA: "桁のパターン:指定した桁の意味",
		Ref: "RFC 5321 §4.2.1; docs/seeds/000-smtp-commands-and-replies.txt"}
	if s[0] >= '6' && s[0] <= '8' {
		d.Ref = "docs/seeds/001-delivery-result-codes.txt; docs/spec.md §4"
	}
	if c, ok := firstDigitClass[s[0]]; ok {
		d.Class = c
	}
	if len(digits) == 1 {
		d.EN, d.JA = digits[0].EN, digits[0].JA
	}
	return d, nil
}

var firstDigitClass = map[byte]Class{
	'1': ClassPreliminary, '2': ClassSuccess, '3': ClassIntermediate, '4': ClassTransient, '5': ClassPermanent,
}

// describeNumber explains a numeric code, from its table entry when there
// is one and from its digits (or range, below zero) always.
func describeNumber(n int) Description {
	d := Description{Code: strconv.Itoa(n)}
	switch {
	case n < 0:
		d.Kind = KindSystem
		d.Digits = []Meaning{systemRange(n)}
	case n < 600:
		d.Kind = KindReply
		d.Digits = Digits(n)
	default:
		d.Kind = KindResult
		d.Digits = Digits(n)
	}
	c, ok := LookupCode(n)
	if !ok {
		return unknownNumber(d, n)
	}
	w := c.Weight
	d.Known, d.EN, d.JA, d.DetailEN, d.DetailJA = true, c.EN, c.JA, c.DetailEN, c.DetailJA
	d.Class, d.Blame, d.Weight, d.Status, d.Reason, d.Ref = c.Class, c.Blame, &w, c.Status, c.Reason, c.Ref
	return d
}

func unknownNumber(d Description, n int) Description {
	switch d.Kind {
	case KindReply:
		// An unlisted remote reply still gets a weight: docs/spec.md §4.1 counts it 0.
		w := Weight(n)
		d.Weight = &w
		d.Class = firstDigitClass[d.Code[0]]
		d.EN = "Not a registered reply code; its digits say what kind of reply it is."
		d.JA = "登録されていない応答コード。各桁がどの種類の応答かを示す。"
		d.Ref = "RFC 5321 §4.2.1"
	case KindResult:
		d.EN = "Not a result code hikyaku produces; its digits say which group it would belong to."
		d.JA = "hikyaku が出さない配信結果コード。各桁が属するはずのグループを示す。"
		d.Ref = "docs/seeds/001-delivery-result-codes.txt; docs/spec.md §4"
	case KindSystem:
		d.Class = ClassSystem
		d.EN = "Not a system code hikyaku produces; its range says which group it would belong to."
		d.JA = "hikyaku が出さないシステムコード。範囲が属するはずのグループを示す。"
		d.Ref = "docs/seeds/001-delivery-result-codes.txt; docs/spec.md §4.4"
	}
	return d
}

func systemRange(n int) Meaning {
	m := Meaning{Part: "range"}
	switch {
	case n >= -99:
		m.Value, m.EN, m.JA = "-1…-99", "the run itself: memory, configuration, recipient list, images", "処理自体:メモリ、設定ファイル、宛先リスト、画像"
	case n >= -199:
		m.Value, m.EN, m.JA = "-100…-199", "the status database", "状態データベース"
	case n >= -599 && n <= -500:
		m.Value, m.EN, m.JA = "-500…-599", "reading bounce mails", "バウンスメールの読み取り"
	default:
		m.Value, m.EN, m.JA = strconv.Itoa(n), notAssigned.en, notAssigned.ja
	}
	return m
}

func describeSystem(q string) (Description, error) {
	digits := q[1:]
	if digits == "" || len(digits) > 4 || strings.Trim(digits, "0123456789") != "" || digits[0] == '0' {
		return Description{}, fmt.Errorf("a system code is a negative number such as -11: %w", ErrNotACode)
	}
	n, _ := strconv.Atoi(q)
	return describeNumber(n), nil
}

// describeEnhanced explains "class.subject.detail". Class is 2, 4, 5 or the
// registry's X; subject and detail are numbers of 1-3 digits without
// leading zeros (RFC 3463 §2), or x in a pattern.
func describeEnhanced(q string) (Description, error) {
	parts := strings.Split(q, ".")
	if len(parts) != 3 {
		return Description{}, fmt.Errorf("an enhanced status code has three parts, class.subject.detail: %w", ErrNotACode)
	}
	class := strings.ToUpper(parts[0])
	subject, detail := strings.ToLower(parts[1]), strings.ToLower(parts[2])
	if class != "2" && class != "4" && class != "5" && class != "X" {
		return Description{}, fmt.Errorf("the class of an enhanced status code is 2, 4 or 5: %w", ErrNotACode)
	}
	for _, p := range []string{subject, detail} {
		if p == "x" {
			continue
		}
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" || (len(p) > 1 && p[0] == '0') {
			return Description{}, fmt.Errorf("subject and detail are numbers of 1-3 digits (RFC 3463 §2): %w", ErrNotACode)
		}
	}
	d := Description{Kind: KindEnhanced, Ref: "RFC 3463 §2", Code: class + "." + subject + "." + detail}
	d.Class = map[string]Class{"2": ClassSuccess, "4": ClassTransient, "5": ClassPermanent}[class]
	if m, ok := EnhancedClass(class); ok {
		d.Digits = append(d.Digits, m)
	}
	if subject != "x" {
		m, ok := EnhancedSubject(subject)
		if !ok {
			m = Meaning{Part: "subject", Value: "X." + subject + ".x",
				EN: "not a subject RFC 3463 defines (0-7)", JA: "RFC 3463 が定義していない主題(0-7 のみ)"}
		}
		d.Digits = append(d.Digits, m)
	}
	if subject == "x" || detail == "x" {
		if len(d.Digits) == 0 {
			return Description{}, fmt.Errorf("a pattern needs at least one digit: %w", ErrNotACode)
		}
		d.Kind, d.EN, d.JA = KindPattern, "Enhanced status code pattern: what the given parts mean", "拡張ステータスコードのパターン:指定した部分の意味"
		if len(d.Digits) == 1 {
			d.EN, d.JA = d.Digits[0].EN, d.Digits[0].JA
		}
		return d, nil
	}
	e, ok := LookupEnhanced(d.Code)
	detailPart := Meaning{Part: "detail", Value: "X." + subject + "." + detail}
	if ok {
		d.Known, d.EN, d.JA, d.Ref = true, e.EN, e.JA, e.Ref
		// A success code names no failure reason; only X.1.5 says "delivered".
		if class != "2" || e.Reason == "delivered" {
			d.Reason = e.Reason
		}
		detailPart.EN = "registered detail: " + e.EN
		detailPart.JA = "登録された詳細コード:" + e.JA
	} else {
		d.EN = "Not a registered enhanced status code; its class and subject say what kind of status it is."
		d.JA = "登録されていない拡張ステータスコード。クラスと主題がどの種類のステータスかを示す。"
		detailPart.EN, detailPart.JA = "not registered for this subject", "この主題では登録されていない"
	}
	d.Digits = append(d.Digits, detailPart)
	return d, nil
}

// normalize folds full-width ASCII (a Japanese keyboard's "５５０") and
// typographic minus signs to ASCII in the first two words, where the codes
// are, and trims space; reply text after them is kept as given.
func normalize(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	words, inSpace := 0, false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		orig := r
		switch {
		case r >= '！' && r <= '～':
			r -= '！' - '!'
		case r == '\u3000':
			r = ' '
		case r == '−' || r == '‐' || r == '–' || r == '—':
			r = '-'
		case r == '。':
			r = '.'
		}
		if r == ' ' || r == '\t' {
			if !inSpace {
				words++
			}
			inSpace = true
		} else if inSpace && words >= 2 {
			b.WriteString(s[i:])
			break
		} else {
			inSpace = false
		}
		if r == orig {
			b.WriteString(s[i : i+size]) // as given, even invalid UTF-8
		} else {
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}
