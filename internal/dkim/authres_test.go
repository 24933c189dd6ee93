package dkim

import (
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"

	"github.com/hikyaku/hikyaku/internal/spf"
)

func TestAuthenticationResults(t *testing.T) {
	two := []VerifyResult{
		{Domain: "example.com", Selector: "ed", Algorithm: "ed25519-sha256", B: "AbC/+dEf", Result: Pass},
		{Domain: "example.com", Selector: "rsa", Algorithm: "rsa-sha256", B: "XyZ12345", Result: Fail, Reason: "body hash did not verify"},
	}
	got := AuthenticationResults("mx.example.org", &SPFInfo{Result: spf.Pass, MailFrom: "a@example.com"}, two)
	want := "Authentication-Results: mx.example.org;\r\n" +
		"\tspf=pass smtp.mailfrom=a@example.com;\r\n" +
		"\tdkim=pass header.d=example.com header.s=ed header.a=ed25519-sha256\r\n" +
		"\theader.b=\"AbC/+dEf\";\r\n" +
		"\tdkim=fail reason=\"body hash did not verify\" header.d=example.com header.s=rsa\r\n" +
		"\theader.a=rsa-sha256 header.b=XyZ12345\r\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}

	cases := []struct {
		name     string
		authserv string
		spf      *SPFInfo
		dkim     []VerifyResult
		want     map[string]string // method → result, as an independent parser reads it
		props    map[string]string // "method.ptype.property" → value
		contains string            // in the field as written
		why      string
	}{
		{"both", "mx.example.org", &SPFInfo{Result: spf.Pass, MailFrom: "a@example.com"}, two,
			map[string]string{"spf": "pass", "dkim": "fail"}, map[string]string{"spf.smtp.mailfrom": "a@example.com"}, "",
			"the golden field above, read back"},
		{"helo identity", "mx", &SPFInfo{Result: spf.SoftFail, Helo: "h.example."}, nil,
			map[string]string{"spf": "softfail"}, map[string]string{"spf.smtp.helo": "h.example"}, "",
			"MAIL FROM:<> reports the HELO identity"},
		{"unsigned", "mx", nil, []VerifyResult{{Result: None, Reason: "message not signed"}},
			map[string]string{"dkim": "none"}, nil, "", "Verify's answer for an unsigned message"},
		{"nothing", "mx", nil, nil, map[string]string{}, nil, "; none\r\n", "no method at all is '; none'"},
		{"odd sender", "mx", &SPFInfo{Result: spf.Fail, MailFrom: `"a b"@example.com`}, nil,
			map[string]string{"spf": "fail"}, nil, `smtp.mailfrom="a b"@example.com` + "\r\n",
			"RFC 8601 pvalue: quoted local-part @ domain (go-msgauth's parser splits it at the blank, so only the text is checked)"},
		{"escaped quote", "mx", &SPFInfo{Result: spf.Fail, MailFrom: `"a\"@example.com`}, nil,
			map[string]string{"spf": "fail"}, nil, `smtp.mailfrom="\"a\\\"@example.com"`,
			"a local part whose backslash escapes its closing quote is not a quoted-string"},
		{"hostile reason", "mx", nil, []VerifyResult{{Result: PermError, Domain: "x.example", Reason: "bad\r\nX-Evil: \"1\""}},
			map[string]string{"dkim": "permerror"}, nil, `reason="bad  X-Evil: \"1\""`, "text from the message cannot break the field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := AuthenticationResults(c.authserv, c.spf, c.dkim)
			if !strings.HasSuffix(h, "\r\n") {
				t.Fatalf("%q lacks CRLF", h)
			}
			lines := strings.Split(strings.TrimSuffix(h, "\r\n"), "\r\n")
			for i, l := range lines[1:] {
				if !strings.HasPrefix(l, "\t") || strings.ContainsAny(l, "\r\n") {
					t.Fatalf("line %d %q breaks the field", i+1, l)
				}
			}
			name, value, _ := strings.Cut(strings.ReplaceAll(strings.TrimSuffix(h, "\r\n"), "\r\n", ""), ":")
			if name != "Authentication-Results" {
				t.Fatalf("field name %q", name)
			}
			id, results, err := authres.Parse(value)
			if err != nil {
				t.Fatalf("go-msgauth cannot parse %q: %v", value, err)
			}
			if id != c.authserv {
				t.Errorf("authserv-id %q", id)
			}
			got := map[string]string{}
			props := map[string]string{}
			for _, r := range results {
				switch r := r.(type) {
				case *authres.SPFResult:
					got["spf"] = string(r.Value)
					if r.From != "" {
						props["spf.smtp.mailfrom"] = r.From
					}
					if r.Helo != "" {
						props["spf.smtp.helo"] = r.Helo
					}
				case *authres.DKIMResult:
					got["dkim"] = string(r.Value) // the last one wins: fine for these cases
				}
			}
			for m, v := range c.want {
				if got[m] != v {
					t.Errorf("%s=%q, want %q (%s)\n%s", m, got[m], v, c.why, h)
				}
			}
			if len(c.want) == 0 && len(results) != 0 {
				t.Errorf("want no results, got %v", results)
			}
			if !strings.Contains(h, c.contains) {
				t.Errorf("%q lacks %q", h, c.contains)
			}
			for p, v := range c.props {
				if props[p] != v {
					t.Errorf("%s=%q, want %q\n%s", p, props[p], v, h)
				}
			}
		})
	}
}
