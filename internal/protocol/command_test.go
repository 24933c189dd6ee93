package protocol

import (
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name, why string
		line      string
		want      Command
	}{
		{"lower case", "seed 003 types \"mail from:\" and gets 250", "mail from:c1e08@st.seiai.ed.jp", Command{"MAIL", "from:c1e08@st.seiai.ed.jp"}},
		{"mixed case", "verbs are case-insensitive (RFC 5321 §2.4)", "EhLo client.example", Command{"EHLO", "client.example"}},
		{"no argument", "QUIT alone", "QUIT", Command{"QUIT", ""}},
		{"trailing space", "some clients pad; the argument is trimmed", "NOOP   \t", Command{"NOOP", ""}},
		{"extra spaces", "leading and trailing blanks of the argument go", "HELO   example.com \t", Command{"HELO", "example.com"}},
		{"inner spaces kept", "only the ends are trimmed", "HELP  MAIL  FROM ", Command{"HELP", "MAIL  FROM"}},
		{"NUL in verb", "NUL is an ordinary octet: the verb is merely unknown", "NO\x00OP", Command{"NO\x00OP", ""}},
		{"NUL in argument", "kept for the address parser to refuse", "VRFY a\x00b", Command{"VRFY", "a\x00b"}},
		{"empty", "an empty line is an empty verb", "", Command{"", ""}},
		{"UTF-8 verb", "only ASCII letters change case", "mél x", Command{"MéL", "x"}},
		{"long verb", "longer than the intern buffer", "abcdefghijklmnopqrstuvwxyz", Command{"ABCDEFGHIJKLMNOPQRSTUVWXYZ", ""}},
		{"tab is not a separator", "RFC 5321 separates with SP", "HELO\tx", Command{"HELO\tX", ""}},
		{"http", "cross-protocol probes parse as a verb", "GET / HTTP/1.1", Command{"GET", "/ HTTP/1.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseCommand([]byte(tt.line)); got != tt.want {
				t.Errorf("%s: got %+q, want %+q", tt.why, got, tt.want)
			}
		})
	}
}

func TestParseCommandAllocs(t *testing.T) {
	for _, tt := range []struct {
		line string
		max  float64
	}{
		{"rset", 0},              // known verb, no argument
		{"DATA", 0},              // known verb
		{"MAIL FROM:<a@b.c>", 1}, // the argument string only
	} {
		line := []byte(tt.line)
		if n := testing.AllocsPerRun(100, func() { ParseCommand(line) }); n > tt.max {
			t.Errorf("%q: %.0f allocations, want at most %.0f", tt.line, n, tt.max)
		}
	}
}

func TestVerbs(t *testing.T) {
	want := "HELO EHLO MAIL RCPT DATA BDAT RSET VRFY EXPN HELP NOOP QUIT STARTTLS AUTH SEND SOML SAML TURN"
	var got []string
	for _, v := range Verbs {
		got = append(got, v.Verb)
		if v.Syntax == "" || v.EN == "" || v.JA == "" {
			t.Errorf("%s: incomplete entry", v.Verb)
		}
		if !strings.HasPrefix(v.Syntax, v.Verb) || !strings.HasSuffix(v.Syntax, "<CRLF>") {
			t.Errorf("%s: syntax %q not in RFC 821 form", v.Verb, v.Syntax)
		}
		obsolete := strings.Contains("SEND SOML SAML TURN", v.Verb)
		if v.Obsolete != obsolete {
			t.Errorf("%s: Obsolete = %v (RFC 5321 removed SEND SOML SAML TURN)", v.Verb, v.Obsolete)
		}
	}
	if strings.Join(got, " ") != want {
		t.Errorf("verbs = %v", got)
	}
	if v, ok := LookupVerb("mail"); !ok || v.Verb != "MAIL" {
		t.Error("LookupVerb is not case-insensitive")
	}
	if _, ok := LookupVerb("XYZZY"); ok {
		t.Error("unknown verb found")
	}
}

func TestIsHTTPVerb(t *testing.T) {
	for _, v := range []string{"GET", "POST", "HEAD", "PUT", "CONNECT", "OPTIONS", "DELETE", "PATCH", "TRACE", "get"} {
		if !IsHTTPVerb(v) {
			t.Errorf("%s not recognised as HTTP", v)
		}
	}
	for _, v := range []string{"HELO", "GETX", "", "POS"} {
		if IsHTTPVerb(v) {
			t.Errorf("%q taken for HTTP", v)
		}
	}
}
