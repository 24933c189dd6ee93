package protocol

import (
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Length limits of RFC 5321 §4.5.3.1, in octets.
const (
	maxLocalPart = 64
	maxDomain    = 255
	maxPath      = 256 // "<" and ">" and any source route included
)

// Address is a mailbox, local@domain.
type Address struct {
	// Local is the local part as sent, with a quoted-string's quotes and
	// backslashes removed. It is case-sensitive (RFC 5321 §2.4).
	Local string
	// Domain is kept as sent, minus one trailing dot; compare it
	// case-insensitively. An address literal keeps its brackets
	// ("[192.0.2.1]", "[IPv6:2001:db8::1]").
	Domain string
}

// String writes the address as a mailbox that parses back to the same
// Address: the local part is quoted when it is not a dot-string.
// Dot-string is taken in the lenient sense the parser accepts, so the
// Japanese mobile-carrier forms ("taro..yamada", "taro.") go out unquoted,
// as the carriers and Japanese bulk senders write them (docs/spec.md §3).
func (a Address) String() string {
	local := a.Local
	if !isLenientDotString(local) {
		local = QuoteString(local)
	}
	if a.Domain == "" {
		return local
	}
	return local + "@" + a.Domain
}

// IsASCII says whether the address is all ASCII; one that is not needs
// SMTPUTF8 (RFC 6531 §3.5).
func (a Address) IsASCII() bool { return IsASCII(a.Local) && IsASCII(a.Domain) }

// Path is the reverse-path of MAIL or the forward-path of RCPT.
type Path struct {
	Addr       Address
	Null       bool // "<>", the null reverse-path of bounces (RFC 5321 §4.5.5)
	Postmaster bool // RCPT TO:<Postmaster> without a domain (RFC 5321 §4.5.1)
}

// String is "" for the null path, "postmaster" for the bare Postmaster,
// else the address.
func (p Path) String() string {
	switch {
	case p.Null:
		return ""
	case p.Postmaster:
		return "postmaster"
	}
	return p.Addr.String()
}

// SyntaxError says what is wrong with a MAIL or RCPT argument.
type SyntaxError struct {
	// Address is true when the address itself is bad (501 5.1.7 for a
	// sender, 501 5.1.3 for a recipient) and false when the command line
	// around it is malformed (501 5.5.4); RFC 5321 §4.1.4, RFC 3463.
	Address bool
	Msg     string
}

func (e *SyntaxError) Error() string { return e.Msg }

func addrErr(msg string) error { return &SyntaxError{Address: true, Msg: msg} }
func lineErr(msg string) error { return &SyntaxError{Address: false, Msg: msg} }

// ParseMail parses the argument of MAIL, "FROM:<a@b> SIZE=100 ...".
func ParseMail(arg string) (Path, Params, error) { return parsePathArg(arg, "FROM:", false) }

// ParseRcpt parses the argument of RCPT, "TO:<a@b> NOTIFY=SUCCESS ...".
func ParseRcpt(arg string) (Path, Params, error) { return parsePathArg(arg, "TO:", true) }

// parsePathArg reads keyword, path and parameters, with the leniencies real
// clients need:
//   - the keyword in any case ("mail from:", seed 003);
//   - spaces after the colon ("MAIL FROM: <a@b>"), as Postfix allows;
//   - a path without angle brackets when nothing follows it
//     ("mail from:c1e08@st.seiai.ed.jp", seed 003's Exim session).
func parsePathArg(arg, keyword string, rcpt bool) (Path, Params, error) {
	s := strings.TrimLeft(arg, " ")
	if len(s) < len(keyword) || !strings.EqualFold(s[:len(keyword)], keyword) {
		if rcpt {
			return Path{}, nil, lineErr("expected TO:<address>")
		}
		return Path{}, nil, lineErr("expected FROM:<address>")
	}
	s = strings.TrimLeft(s[len(keyword):], " ")
	if s == "" {
		return Path{}, nil, lineErr("missing address")
	}
	var inner, rest string
	if s[0] == '<' {
		end := closingAngle(s)
		if end < 0 {
			return Path{}, nil, addrErr("missing > after the address")
		}
		inner, rest = s[1:end], s[end+1:]
		if rest != "" && rest[0] != ' ' {
			return Path{}, nil, addrErr("unexpected text after >")
		}
	} else {
		if strings.ContainsAny(s, " \t") {
			return Path{}, nil, addrErr("address must be in <> when more follows it")
		}
		inner = s
	}
	if len(inner)+2 > maxPath {
		return Path{}, nil, addrErr("path longer than 256 octets")
	}
	p, err := parsePath(inner, rcpt)
	if err != nil {
		return Path{}, nil, err
	}
	params, err := parseParams(rest)
	if err != nil {
		return Path{}, nil, err
	}
	return p, params, nil
}

// closingAngle finds the ">" that closes the path at s[0], skipping a
// quoted local part, which may hold ">".
func closingAngle(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == '>' && !quoted:
			return i
		}
	}
	return -1
}

// parsePath reads what is inside the brackets.
func parsePath(s string, rcpt bool) (Path, error) {
	if s == "" {
		if rcpt {
			return Path{}, addrErr("null path <> is not a recipient")
		}
		return Path{Null: true}, nil
	}
	if s[0] == '@' {
		// A source route (RFC 5321 §4.1.2 A-d-l, obsolete): checked, then
		// ignored as §C and §3.6.1 allow.
		i := strings.IndexByte(s, ':')
		if i < 0 {
			return Path{}, addrErr("missing local part")
		}
		for _, hop := range strings.Split(s[:i], ",") {
			if len(hop) < 2 || hop[0] != '@' {
				return Path{}, addrErr("bad source route")
			}
			if _, err := parseDomain(hop[1:]); err != nil {
				return Path{}, addrErr("bad source route")
			}
		}
		s = s[i+1:]
	}
	if rcpt && strings.EqualFold(s, "postmaster") {
		return Path{Addr: Address{Local: s}, Postmaster: true}, nil
	}
	a, err := ParseAddress(s)
	if err != nil {
		return Path{}, err
	}
	return Path{Addr: a}, nil
}

// ParseAddress parses a mailbox, local@domain (RFC 5321 §4.1.2), as given
// to VRFY and EXPN, in configuration or on the command line. Surrounding
// angle brackets are allowed and removed. Errors are *SyntaxError with
// Address set.
//
// Beyond RFC 5321 it accepts, as real MTAs must:
//   - dots anywhere in an unquoted local part ("taro..yamada", "taro.",
//     ".taro"): legacy Japanese mobile-carrier mailboxes (docs/spec.md §3);
//   - UTF-8 in the local part and domain (RFC 6531 §3.3); IsASCII then
//     says false and the server decides whether SMTPUTF8 was given;
//   - one trailing dot on the domain, removed.
func ParseAddress(s string) (Address, error) {
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		s = s[1 : len(s)-1]
	}
	if s == "" {
		return Address{}, addrErr("empty address")
	}
	var local, rawLocal, domain string
	if s[0] == '"' {
		end, unq, err := parseQuoted(s)
		if err != nil {
			return Address{}, err
		}
		rawLocal, local = s[:end], unq
		if end == len(s) || s[end] != '@' {
			return Address{}, addrErr("missing @domain")
		}
		domain = s[end+1:]
	} else {
		at := strings.IndexByte(s, '@')
		if at < 0 {
			if err := checkDotString(s); err != nil {
				return Address{}, err
			}
			return Address{}, addrErr("missing @domain")
		}
		rawLocal, domain = s[:at], s[at+1:]
		if rawLocal == "" {
			return Address{}, addrErr("empty local part")
		}
		if err := checkDotString(rawLocal); err != nil {
			return Address{}, err
		}
		local = rawLocal
	}
	if len(rawLocal) > maxLocalPart {
		return Address{}, addrErr("local part longer than 64 octets")
	}
	d, err := parseDomain(domain)
	if err != nil {
		return Address{}, err
	}
	return Address{Local: local, Domain: d}, nil
}

// parseQuoted reads the quoted-string at s[0] (RFC 5321 §4.1.2
// Quoted-string, with RFC 6531's UTF-8). It returns the index just past the
// closing quote and the content without quotes and backslashes.
func parseQuoted(s string) (end int, content string, err error) {
	var b []byte // built only when a quoted-pair needs removing
	start := 1
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			if b == nil {
				content = s[start:i]
			} else {
				content = string(append(b, s[start:i]...))
			}
			if content == "" {
				return 0, "", addrErr("empty local part")
			}
			if !utf8.ValidString(content) {
				return 0, "", addrErr("invalid UTF-8 in local part")
			}
			return i + 1, content, nil
		case c == '\\':
			if i+1 >= len(s) || s[i+1] < 32 || s[i+1] > 126 {
				return 0, "", addrErr("bad quoted-pair in local part")
			}
			b = append(b, s[start:i]...)
			start = i + 1
			i++
		case c < 32 || c == 127:
			return 0, "", addrErr("control character in local part")
		}
	}
	return 0, "", addrErr("unterminated quoted local part")
}

// checkDotString checks an unquoted local part: atext, UTF-8 and dots in
// any position (the carrier leniency).
func checkDotString(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' || c >= 0x80 || IsAtext(c):
		case c < 32 || c == 127:
			return addrErr("control character in address")
		case c == ' ':
			return addrErr("space in address")
		default:
			return addrErr("invalid character in local part")
		}
	}
	if !IsASCII(s) && !utf8.ValidString(s) {
		return addrErr("invalid UTF-8 in local part")
	}
	return nil
}

// IsAtext reports the ASCII atext of RFC 5322 §3.2.3.
func IsAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func isLenientDotString(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && c < 0x80 && !IsAtext(c) {
			return false
		}
	}
	return true
}

// QuoteString writes s as an RFC 5322 quoted-string (§3.2.4): in double
// quotes, with '"' and '\\' escaped.
func QuoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// parseDomain checks a domain or address literal (RFC 5321 §4.1.2,
// §4.1.3) and returns it as kept in Address.Domain.
func parseDomain(d string) (string, error) {
	if d == "" {
		return "", addrErr("missing domain")
	}
	if d[0] == '[' {
		if len(d) > maxDomain || d[len(d)-1] != ']' || !validLiteral(d[1:len(d)-1]) {
			return "", addrErr("bad address literal")
		}
		return d, nil
	}
	if len(d) > 1 && d[len(d)-1] == '.' {
		d = d[:len(d)-1]
	}
	if len(d) > maxDomain {
		return "", addrErr("domain longer than 255 octets")
	}
	for label := range strings.SplitSeq(d, ".") {
		if err := checkLabel(label); err != nil {
			return "", err
		}
	}
	return d, nil
}

// checkLabel allows LDH labels (RFC 5321 §4.1.2 sub-domain) and U-labels
// in UTF-8 (RFC 6531 §3.3); IDNA validity is left to the resolver.
func checkLabel(l string) error {
	switch {
	case l == "":
		return addrErr("empty label in domain")
	case len(l) > 63:
		return addrErr("domain label longer than 63 octets")
	case l[0] == '-' || l[len(l)-1] == '-':
		return addrErr("domain label starts or ends with a hyphen")
	}
	ascii := true
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c >= 0x80:
			ascii = false
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
		case c < 32 || c == 127:
			return addrErr("control character in domain")
		default:
			return addrErr("invalid character in domain")
		}
	}
	if !ascii && !utf8.ValidString(l) {
		return addrErr("invalid UTF-8 in domain")
	}
	return nil
}

// validLiteral checks the inside of an address literal: an IPv4 address or
// "IPv6:" and an IPv6 address (RFC 5321 §4.1.3). General address literals
// name no standardized tag in use, so they are refused.
func validLiteral(s string) bool {
	if len(s) > 5 && strings.EqualFold(s[:5], "IPv6:") {
		ip, err := netip.ParseAddr(s[5:])
		return err == nil && ip.Is6() && ip.Zone() == ""
	}
	ip, err := netip.ParseAddr(s)
	return err == nil && ip.Is4()
}

// IsASCII says s holds no octet above 0x7F.
func IsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// SplitAddress cuts an address written as text, "local@domain", at its
// last '@': a quoted local part may hold an '@', a domain never does. ok
// is false when there is no '@'; either part may be empty, which the
// caller judges. It checks nothing else (ParseAddress does): it is for
// addresses already parsed once, or read back from a store or a header.
func SplitAddress(addr string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, "", false
	}
	return addr[:i], addr[i+1:], true
}

// DomainOf is the domain part of an address as written (what follows its
// last '@'), "" when it has none.
func DomainOf(addr string) string {
	_, d, _ := SplitAddress(addr)
	return d
}
