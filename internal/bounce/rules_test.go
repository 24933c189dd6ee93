package bounce

import (
	"strings"
	"testing"
)

func TestDefaultRulesParse(t *testing.T) {
	if n := len(Default().rules); n < 100 {
		t.Fatalf("built-in rules: %d, want the shipped list", n)
	}
}

func TestRulesMatchInOrder(t *testing.T) {
	cases := []struct {
		text, reason string
		code         int
	}{
		{"550 5.7.1 client host rejected: cannot find your hostname", "requireptr", 0},
		{"550 5.1.1 <a@example.jp>... user unknown", "userunknown", 0},
		{"550 5.2.1 the email account that you tried to reach is disabled", "suspend", 801},
		{"552 5.2.2 mailbox full", "mailboxfull", 0},
		{"554 5.7.1 service unavailable; client host [192.0.2.1] blocked using zen.spamhaus.org", "blocked", 0},
	}
	for _, c := range cases {
		r, ok := Default().match(strings.ToLower(c.text))
		if !ok || r.reason != c.reason || r.code != c.code {
			t.Errorf("%q: got %q/%d (ok %v), want %q/%d", c.text, r.reason, r.code, ok, c.reason, c.code)
		}
	}
}

func TestParseRulesErrors(t *testing.T) {
	for _, in := range []string{"nosuchreason text", "userunknown", "suspend:x text", "blocked /(/"} {
		if _, err := ParseRules(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: got %v, want an error naming line 1", in, err)
		}
	}
}

func TestSplitHeaderAndMultipart(t *testing.T) {
	msg := "Content-Type: multipart/report; boundary=\"b\"\nSubject: x\n  folded\n\n--b\nContent-Type: text/plain; charset=iso-2022-jp\n\n\x1b$B%F%9%H\x1b(B\n--b\nContent-Type: message/delivery-status\n\nStatus: 5.1.1\n--b--\n"
	h, body := splitHeader([]byte(msg))
	if h.get("subject") != "x folded" {
		t.Fatalf("subject %q", h.get("subject"))
	}
	w := newWalker()
	w.walk(h, body, 0, false)
	if len(w.parts) != 2 || w.parts[0].text != "テスト\n" || !strings.Contains(w.parts[1].text, "5.1.1") {
		t.Fatalf("parts %+v", w.parts)
	}
}
