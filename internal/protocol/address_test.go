package protocol

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// outcome of parsing: ok, a bad address (501 5.1.7/5.1.3) or a malformed
// line (501 5.5.4).
type outcome int

const (
	ok outcome = iota
	badAddr
	badLine
)

type pathCase struct {
	name, why string
	arg       string
	want      outcome
	path      Path
	params    Params
}

func addr(local, domain string) Path { return Path{Addr: Address{local, domain}} }

var (
	local64  = strings.Repeat("l", 64)
	label63  = strings.Repeat("d", 63)
	domain63 = label63 + "." + label63 + "." + label63 // 191 octets
)

var mailCases = []pathCase{
	{"plain", "the ordinary case", "FROM:<a@example.com>", ok, addr("a", "example.com"), nil},
	{"lower-case keyword", "seed 003: mail from: works", "from:<a@example.com>", ok, addr("a", "example.com"), nil},
	{"space after colon", "MAIL FROM: <a@b> is common; Postfix takes it", "FROM: <a@example.com>", ok, addr("a", "example.com"), nil},
	{"spaces everywhere", "runs of spaces before the path and between parameters", "FROM:   <a@example.com>   SIZE=100  BODY=8BITMIME", ok, addr("a", "example.com"),
		Params{{"SIZE", "100"}, {"BODY", "8BITMIME"}}},
	{"bare address", "seed 003's Exim session: mail from:c1e08@st.seiai.ed.jp gets 250", "from:c1e08@st.seiai.ed.jp", ok, addr("c1e08", "st.seiai.ed.jp"), nil},
	{"bare address with parameters", "without <> the end of the address is a guess", "FROM:a@example.com SIZE=100", badAddr, Path{}, nil},
	{"null path", "bounces come from <> (RFC 5321 §4.5.5)", "FROM:<>", ok, Path{Null: true}, nil},
	{"null path with parameters", "a bounce still declares SIZE", "FROM:<> SIZE=0", ok, Path{Null: true}, Params{{"SIZE", "0"}}},
	{"postmaster sender", "bare Postmaster is a RCPT form only", "FROM:<Postmaster>", badAddr, Path{}, nil},
	{"source route", "obsolete A-d-l is accepted and ignored (RFC 5321 §C)", "FROM:<@a.example,@b.example:user@c.example>", ok, addr("user", "c.example"), nil},
	{"source route without mailbox", "the route must lead somewhere", "FROM:<@a.example:>", badAddr, Path{}, nil},
	{"bad source route", "route hops are domains", "FROM:<@a_b.example:user@c.example>", badAddr, Path{}, nil},
	{"no local part", "@domain alone", "FROM:<@example.com>", badAddr, Path{}, nil},
	{"carrier double dot", "legacy docomo mailbox (docs/spec.md §3)", "FROM:<taro..yamada@docomo.ne.jp>", ok, addr("taro..yamada", "docomo.ne.jp"), nil},
	{"carrier trailing dot", "legacy ezweb mailbox (docs/spec.md §3)", "FROM:<taro.@ezweb.ne.jp>", ok, addr("taro.", "ezweb.ne.jp"), nil},
	{"carrier leading dot", "legacy mailbox starting with a dot", "FROM:<.taro@softbank.ne.jp>", ok, addr(".taro", "softbank.ne.jp"), nil},
	{"quoted local", "quoted-string local part, quotes removed", `FROM:<"john smith"@example.com>`, ok, addr("john smith", "example.com"), nil},
	{"quoted pairs", "backslash escapes removed", `FROM:<"a\"b\\c"@example.com>`, ok, addr(`a"b\c`, "example.com"), nil},
	{"quoted angle", "a > inside quotes does not close the path", `FROM:<"a>b"@example.com> SIZE=1`, ok, addr("a>b", "example.com"), Params{{"SIZE", "1"}}},
	{"quoted at", "an @ inside quotes is part of the local part", `FROM:<"a@b"@example.com>`, ok, addr("a@b", "example.com"), nil},
	{"unterminated quote", "", `FROM:<"ab@example.com>`, badAddr, Path{}, nil},
	{"control in quotes", "qtextSMTP has no controls", "FROM:<\"a\tb\"@example.com>", badAddr, Path{}, nil},
	{"empty quoted local", "an empty local part is no mailbox", `FROM:<""@example.com>`, badAddr, Path{}, nil},
	{"trailing dot domain", "a root dot is tolerated and removed", "FROM:<a@example.com.>", ok, addr("a", "example.com"), nil},
	{"two trailing dots", "only one is tolerated", "FROM:<a@example.com..>", badAddr, Path{}, nil},
	{"IPv4 literal", "RFC 5321 §4.1.3", "FROM:<a@[192.0.2.1]>", ok, addr("a", "[192.0.2.1]"), nil},
	{"IPv6 literal", "RFC 5321 §4.1.3", "FROM:<a@[IPv6:2001:db8::1]>", ok, addr("a", "[IPv6:2001:db8::1]"), nil},
	{"IPv6 tag any case", "the tag is case-insensitive", "FROM:<a@[ipv6:::1]>", ok, addr("a", "[ipv6:::1]"), nil},
	{"IPv4 in IPv6 tag", "the tag must match the address", "FROM:<a@[IPv6:192.0.2.1]>", badAddr, Path{}, nil},
	{"IPv6 without tag", "RFC 5321 requires IPv6:", "FROM:<a@[2001:db8::1]>", badAddr, Path{}, nil},
	{"bad IPv4", "octet over 255", "FROM:<a@[300.0.0.1]>", badAddr, Path{}, nil},
	{"general literal", "no standardized tag is in use", "FROM:<a@[x-tag:foo]>", badAddr, Path{}, nil},
	{"unclosed literal", "", "FROM:<a@[192.0.2.1>", badAddr, Path{}, nil},
	{"UTF-8 address", "RFC 6531: parsed; the server checks SMTPUTF8", "FROM:<用户@例子.广告>", ok, addr("用户", "例子.广告"), nil},
	{"invalid UTF-8", "raw octets that are not UTF-8", "FROM:<a\xff@example.com>", badAddr, Path{}, nil},
	{"hyphen first", "LDH: no leading hyphen", "FROM:<a@-example.com>", badAddr, Path{}, nil},
	{"hyphen last", "LDH: no trailing hyphen", "FROM:<a@example-.com>", badAddr, Path{}, nil},
	{"underscore", "not LDH", "FROM:<a@exa_mple.com>", badAddr, Path{}, nil},
	{"empty label", "", "FROM:<a@example..com>", badAddr, Path{}, nil},
	{"no domain", "", "FROM:<a@>", badAddr, Path{}, nil},
	{"no at", "", "FROM:<aexample.com>", badAddr, Path{}, nil},
	{"space in local", "spaces only inside quotes", "FROM:<a b@example.com>", badAddr, Path{}, nil},
	{"NUL in local", "NUL is a control character", "FROM:<a\x00b@example.com>", badAddr, Path{}, nil},
	{"NUL in domain", "", "FROM:<a@exa\x00mple.com>", badAddr, Path{}, nil},
	{"NUL bare", "", "FROM:a\x00@example.com", badAddr, Path{}, nil},
	{"special in local", "( is not atext", "FROM:<a(b@example.com>", badAddr, Path{}, nil},
	{"local 64", "the limit itself is allowed (RFC 5321 §4.5.3.1.1)", "FROM:<" + local64 + "@example.com>", ok, addr(local64, "example.com"), nil},
	{"local 65", "one over", "FROM:<" + local64 + "l@example.com>", badAddr, Path{}, nil},
	{"path 256", "the limit itself, brackets included (RFC 5321 §4.5.3.1.3)", "FROM:<" + local64 + "@" + domain63[:189] + ">", ok, addr(local64, domain63[:189]), nil},
	{"path 257", "one over", "FROM:<" + local64 + "@" + domain63[:190] + ">", badAddr, Path{}, nil},
	{"missing FROM", "no keyword: the line is malformed", "<a@example.com>", badLine, Path{}, nil},
	{"TO in MAIL", "wrong keyword", "TO:<a@example.com>", badLine, Path{}, nil},
	{"no colon", "seed 003's \"MAIL form:\" typo class", "FROM <a@example.com>", badLine, Path{}, nil},
	{"nothing after FROM:", "", "FROM:", badLine, Path{}, nil},
	{"missing >", "", "FROM:<a@example.com", badAddr, Path{}, nil},
	{"text after >", "", "FROM:<a@example.com>x", badAddr, Path{}, nil},
	{"lower-case parameter", "keys are upper-cased", "FROM:<a@example.com> smtputf8 body=8bitmime", ok, addr("a", "example.com"),
		Params{{"SMTPUTF8", ""}, {"BODY", "8bitmime"}}},
	{"unknown parameter kept", "the server answers 555 for what it does not know", "FROM:<a@example.com> x-foo=1", ok, addr("a", "example.com"), Params{{"X-FOO", "1"}}},
	{"AUTH=<>", "RFC 4954 §5", "FROM:<a@example.com> AUTH=<>", ok, addr("a", "example.com"), Params{{"AUTH", "<>"}}},
	{"equals in value", "taken after the first = as Postfix does", "FROM:<a@example.com> X=a=b", ok, addr("a", "example.com"), Params{{"X", "a=b"}}},
	{"UTF-8 value", "RFC 6531 §3.3 esmtp-value", "FROM:<a@example.com> X=名前", ok, addr("a", "example.com"), Params{{"X", "名前"}}},
	{"empty key", "", "FROM:<a@example.com> =100", badLine, Path{}, nil},
	{"bad key", "esmtp-keyword is letters, digits, hyphen", "FROM:<a@example.com> SI_ZE=1", badLine, Path{}, nil},
	{"key starting with hyphen", "", "FROM:<a@example.com> -X=1", badLine, Path{}, nil},
	{"empty value", "esmtp-value is at least one octet", "FROM:<a@example.com> SIZE=", badLine, Path{}, nil},
	{"NUL in value", "", "FROM:<a@example.com> SIZE=1\x00", badLine, Path{}, nil},
}

var rcptCases = []pathCase{
	{"plain", "", "TO:<a@example.com>", ok, addr("a", "example.com"), nil},
	{"bare address", "seed 003: rcpt to:c1e08@st.seiai.ed.jp", "to:c1e08@st.seiai.ed.jp", ok, addr("c1e08", "st.seiai.ed.jp"), nil},
	{"space after colon", "", "TO: <a@example.com>", ok, addr("a", "example.com"), nil},
	{"null path", "<> is no recipient", "TO:<>", badAddr, Path{}, nil},
	{"postmaster", "RFC 5321 §4.5.1: always accepted", "TO:<Postmaster>", ok, Path{Addr: Address{Local: "Postmaster"}, Postmaster: true}, nil},
	{"postmaster any case", "case-insensitive", "TO:<POSTMASTER>", ok, Path{Addr: Address{Local: "POSTMASTER"}, Postmaster: true}, nil},
	{"postmaster bare", "seed-003 style without brackets", "to:postmaster", ok, Path{Addr: Address{Local: "postmaster"}, Postmaster: true}, nil},
	{"postmaster with domain", "an ordinary address", "TO:<postmaster@example.com>", ok, addr("postmaster", "example.com"), nil},
	{"other local without domain", "only Postmaster may omit it", "TO:<root>", badAddr, Path{}, nil},
	{"DSN parameters", "RFC 3461", "TO:<a@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@example.com", ok, addr("a", "example.com"),
		Params{{"NOTIFY", "SUCCESS,FAILURE"}, {"ORCPT", "rfc822;a@example.com"}}},
	{"source route", "", "TO:<@relay.example:a@example.com>", ok, addr("a", "example.com"), nil},
	{"FROM in RCPT", "wrong keyword", "FROM:<a@example.com>", badLine, Path{}, nil},
	{"bad address", "", "TO:<a@b@c>", badAddr, Path{}, nil},
}

func runPathCases(t *testing.T, cases []pathCase, parse func(string) (Path, Params, error)) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			p, ps, err := parse(tt.arg)
			got := ok
			if err != nil {
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("error %v is not a *SyntaxError", err)
				}
				got = badLine
				if se.Address {
					got = badAddr
				}
				if se.Msg == "" {
					t.Error("empty message")
				}
			}
			if got != tt.want {
				t.Fatalf("%s\n%q: outcome %d (%v), want %d", tt.why, tt.arg, got, err, tt.want)
			}
			if got != ok {
				return
			}
			if p != tt.path {
				t.Errorf("%s: path %+q, want %+q", tt.why, p, tt.path)
			}
			if !reflect.DeepEqual(ps, tt.params) && !(len(ps) == 0 && len(tt.params) == 0) {
				t.Errorf("%s: params %q, want %q", tt.why, ps, tt.params)
			}
		})
	}
}

func TestParseMail(t *testing.T) { runPathCases(t, mailCases, ParseMail) }
func TestParseRcpt(t *testing.T) { runPathCases(t, rcptCases, ParseRcpt) }

func TestParseAddress(t *testing.T) {
	tests := []struct {
		name, in string
		want     Address
		ok       bool
	}{
		{"bare mailbox", "user@example.com", Address{"user", "example.com"}, true},
		{"in brackets", "<user@example.com>", Address{"user", "example.com"}, true},
		{"domain 255", "u@" + domain63 + "." + label63, Address{"u", domain63 + "." + label63}, true},
		{"domain 256", "u@" + domain63 + "." + label63 + "x", Address{}, false},
		{"label 64", "u@" + label63 + "x.com", Address{}, false},
		{"no domain", "user", Address{}, false},
		{"empty", "", Address{}, false},
		{"null", "<>", Address{}, false},
		{"carrier", "taro..yamada@docomo.ne.jp", Address{"taro..yamada", "docomo.ne.jp"}, true},
	}
	for _, tt := range tests {
		got, err := ParseAddress(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s: ParseAddress(%.30q) = %+q, %v", tt.name, tt.in, got, err)
		}
		var se *SyntaxError
		if err != nil && (!errors.As(err, &se) || !se.Address) {
			t.Errorf("%s: error %v is not an address SyntaxError", tt.name, err)
		}
	}
}

func TestAddressString(t *testing.T) {
	tests := []struct {
		why  string
		a    Address
		want string
	}{
		{"dot-string as is", Address{"a.b", "example.com"}, "a.b@example.com"},
		{"space needs quotes", Address{"john smith", "example.com"}, `"john smith"@example.com`},
		{"quote and backslash escaped", Address{`a"b\c`, "example.com"}, `"a\"b\\c"@example.com`},
		{"carrier form unquoted (docs/spec.md §3)", Address{"taro..yamada", "docomo.ne.jp"}, "taro..yamada@docomo.ne.jp"},
		{"UTF-8 unquoted (RFC 6531)", Address{"用户", "例子.广告"}, "用户@例子.广告"},
		{"literal", Address{"a", "[192.0.2.1]"}, "a@[192.0.2.1]"},
		{"at in local", Address{"a@b", "example.com"}, `"a@b"@example.com`},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.why, got, tt.want)
		}
		back, err := ParseAddress(tt.a.String())
		if err != nil || back != tt.a {
			t.Errorf("%s: %q parses back to %+q, %v", tt.why, tt.a.String(), back, err)
		}
	}
	if (Address{"用户", "example.com"}).IsASCII() || (Address{"a", "例子.广告"}).IsASCII() || !(Address{"a", "b.c"}).IsASCII() {
		t.Error("IsASCII wrong")
	}
	for _, tt := range []struct {
		p    Path
		want string
	}{
		{Path{Null: true}, ""},
		{Path{Postmaster: true, Addr: Address{Local: "PostMaster"}}, "postmaster"},
		{addr("a", "b.example"), "a@b.example"},
	} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("Path %+v String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestParamsGet(t *testing.T) {
	_, ps, err := ParseMail("FROM:<a@b.c> size=10 BODY=7BIT size=20")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := ps.Get("SIZE"); !ok || v != "10" {
		t.Errorf("Get(SIZE) = %q, %v; want the first", v, ok)
	}
	if v, ok := ps.Get("body"); !ok || v != "7BIT" {
		t.Errorf("Get(body) = %q, %v", v, ok)
	}
	if _, ok := ps.Get("RET"); ok {
		t.Error("Get(RET) found a missing parameter")
	}
}

func TestXtext(t *testing.T) {
	tests := []struct {
		why, in, want string
		ok            bool
	}{
		{"plain", "abc@example.com", "abc@example.com", true},
		{"escapes (RFC 3461 §4)", "a+2Bb+3Dc+20d", "a+b=c d", true},
		{"lower-case hex tolerated", "a+2bb", "a+b", true},
		{"UTF-8 passes (RFC 6533 §3)", "用户", "用户", true},
		{"truncated escape", "a+2", "", false},
		{"bad hex", "a+ZZ", "", false},
		{"raw =", "a=b", "", false},
		{"space", "a b", "", false},
		{"control", "a\x01", "", false},
		{"invalid UTF-8", "a\xff", "", false},
	}
	for _, tt := range tests {
		got, err := DecodeXtext(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s: DecodeXtext(%q) = %q, %v", tt.why, tt.in, got, err)
		}
	}
	for _, s := range []string{"", "plain", "a+b=c d", "用户\x00\xff", "rfc822;a@b"} {
		enc := EncodeXtext(s)
		for i := 0; i < len(enc); i++ {
			if enc[i] < 33 || enc[i] > 126 || enc[i] == '=' {
				t.Errorf("EncodeXtext(%q) = %q holds octet %#x", s, enc, enc[i])
			}
		}
		if dec, err := DecodeXtext(enc); err != nil || dec != s {
			t.Errorf("round trip of %q: %q, %v", s, dec, err)
		}
	}
	if got := EncodeXtext("a+b=c"); got != "a+2Bb+3Dc" {
		t.Errorf("EncodeXtext = %q", got)
	}
}
