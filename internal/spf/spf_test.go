package spf

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/hikyaku/hikyaku/internal/dnsfake"
	"github.com/hikyaku/hikyaku/internal/resolve"
)

const zone = `$ORIGIN test.
$TTL 300
pass-ip4      IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
pass-ip6      IN TXT "v=spf1 ip6:2001:db8::/32 -all"
pass-a        IN TXT "v=spf1 a -all"
pass-a        IN A    192.0.2.10
pass-a        IN AAAA 2001:db8:a::10
pass-a-cidr   IN TXT "v=spf1 a:pass-a.test/24 -all"
pass-mx       IN TXT "v=spf1 mx -all"
pass-mx       IN MX 10 mx1.pass-mx.test.
pass-mx       IN MX 20 mx2.pass-mx.test.
mx1.pass-mx   IN A    192.0.2.20
mx2.pass-mx   IN A    192.0.2.21
no-mx         IN TXT "v=spf1 mx -all"
no-mx         IN A    192.0.2.30
pass-include  IN TXT "v=spf1 include:pass-ip4.test -all"
redirect      IN TXT "v=spf1 redirect=pass-ip4.test"
macro         IN TXT "v=spf1 exists:%{l}.%{ir}.macro-list.test -all"
alice.1.2.0.192.macro-list IN A 127.0.0.2
ptr           IN TXT "v=spf1 ptr -all"
10.2.0.192.in-addr.arpa. IN PTR host.ptr.test.
host.ptr      IN A 192.0.2.10
mixed-case    IN TXT "V=SPF1 IP4:192.0.2.0/24 -ALL"
split         IN TXT "v=spf1 ip4:198.51.100.0/24 " "ip4:192.0.2.0/24 -all"
fail          IN TXT "v=spf1 ip4:198.51.100.1 -all"
softfail      IN TXT "v=spf1 ip4:198.51.100.1 ~all"
neutral       IN TXT "v=spf1 ?all"
neutral-end   IN TXT "v=spf1 ip4:198.51.100.1"
other-txt     IN TXT "google-site-verification=abc"
two           IN TXT "v=spf1 -all"
two           IN TXT "v=spf1 +all"
syntax        IN TXT "v=spf1 ip4:192.0.2.300 -all"
unknown-mech  IN TXT "v=spf1 foo:bar -all"
inc-none      IN TXT "v=spf1 include:nowhere.test -all"
voids         IN TXT "v=spf1 a:n1.test a:n2.test a:n3.test -all"
many          IN TXT "v=spf1 include:l1.test include:l2.test include:l3.test include:l4.test include:l5.test include:l6.test include:l7.test include:l8.test include:l9.test include:l10.test include:l11.test -all"
ten           IN TXT "v=spf1 include:l1.test include:l2.test include:l3.test include:l4.test include:l5.test include:l6.test include:l7.test include:l8.test include:l9.test ip4:192.0.2.0/24 -all"
l1  IN TXT "v=spf1 ?all"
l2  IN TXT "v=spf1 ?all"
l3  IN TXT "v=spf1 ?all"
l4  IN TXT "v=spf1 ?all"
l5  IN TXT "v=spf1 ?all"
l6  IN TXT "v=spf1 ?all"
l7  IN TXT "v=spf1 ?all"
l8  IN TXT "v=spf1 ?all"
l9  IN TXT "v=spf1 ?all"
l10 IN TXT "v=spf1 ?all"
l11 IN TXT "v=spf1 ?all"
temp-inc      IN TXT "v=spf1 include:servfail.test -all"
temp-a        IN TXT "v=spf1 a:servfail.test -all"
helo          IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
helo          IN A 192.0.2.50
`

func newChecker(t *testing.T) *Checker {
	t.Helper()
	srv, err := dnsfake.Start(dnsfake.Options{
		Zone: zone,
		Fail: map[string]int{"servfail.test": dns.RcodeServerFailure, "temp.test": dns.RcodeServerFailure},
		Drop: map[string]bool{"silent.test": true},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r, err := resolve.New(resolve.Options{
		Servers:   []string{srv.Addr},
		Timeout:   time.Second,
		Attempts:  1,
		LoopAddrs: []netip.Prefix{netip.MustParsePrefix("::1/128")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Checker{Resolver: r, Timeout: 3 * time.Second}
}

func TestCheck(t *testing.T) {
	c := newChecker(t)
	good := "192.0.2.1"
	bad := "203.0.113.9"
	cases := []struct {
		name   string
		ip     string
		helo   string
		sender string
		want   Result
		why    string
	}{
		{"ip4 pass", good, "mx.client.test", "a@pass-ip4.test", Pass, "ip4 prefix covers the client"},
		{"ip4 fail", bad, "mx.client.test", "a@pass-ip4.test", Fail, "-all after no match"},
		{"ip6 pass", "2001:db8::25", "mx.client.test", "a@pass-ip6.test", Pass, "ip6 prefix"},
		{"ip6 fail for v4 client", good, "mx.client.test", "a@pass-ip6.test", Fail, "an IPv4 client never matches ip6"},
		{"a pass", "192.0.2.10", "x.test", "a@pass-a.test", Pass, "a: the domain's own A record"},
		{"a pass v6", "2001:db8:a::10", "x.test", "a@pass-a.test", Pass, "a: the domain's AAAA for an IPv6 client"},
		{"a cidr", "192.0.2.200", "x.test", "a@pass-a-cidr.test", Pass, "a:domain/24 widens to the network"},
		{"mx pass", "192.0.2.21", "x.test", "a@pass-mx.test", Pass, "mx: any MX host, not only the best"},
		{"mx fail", "192.0.2.10", "x.test", "a@pass-mx.test", Fail, "mx: other hosts do not match"},
		{"mx no implicit", "192.0.2.30", "x.test", "a@no-mx.test", Fail, "RFC 7208 §5.4: no implicit MX, unlike delivery"},
		{"include pass", good, "x.test", "a@pass-include.test", Pass, "include: pass of the included record"},
		{"include fail", bad, "x.test", "a@pass-include.test", Fail, "include: its fail is no match; our -all decides"},
		{"redirect", good, "x.test", "a@redirect.test", Pass, "redirect= takes the other record's result"},
		{"macro", good, "x.test", "alice@macro.test", Pass, "%{l} and %{ir} expand (local part, reversed IP)"},
		{"macro other user", good, "x.test", "bob@macro.test", Fail, "the macro's name for bob does not exist"},
		{"ptr", "192.0.2.10", "x.test", "a@ptr.test", Pass, "ptr: validated reverse name under the domain"},
		{"case", good, "x.test", "a@mixed-case.test", Pass, "version and mechanisms are case-insensitive"},
		{"split strings", good, "x.test", "a@split.test", Pass, "a TXT record's strings are joined without spaces added (RFC 7208 §3.3)"},
		{"domain case", good, "x.test", "a@PASS-IP4.Test.", Pass, "domains compare case-insensitively, final dot ignored"},
		{"softfail", bad, "x.test", "a@softfail.test", SoftFail, "~all"},
		{"neutral", bad, "x.test", "a@neutral.test", Neutral, "?all"},
		{"neutral default", bad, "x.test", "a@neutral-end.test", Neutral, "no all: the default result is neutral (RFC 7208 §4.7)"},
		{"none nxdomain", good, "x.test", "a@nonexistent.test", None, "NXDOMAIN is none"},
		{"none other txt", good, "x.test", "a@other-txt.test", None, "TXT records that are not SPF are none"},
		{"none single label", good, "x.test", "a@localhost", None, "RFC 7208 §4.3: not a multi-label domain"},
		{"none literal", good, "[192.0.2.1]", "", None, "an address-literal HELO has no SPF"},
		{"permerror two records", good, "x.test", "a@two.test", PermError, "two v=spf1 records (RFC 7208 §4.5)"},
		{"permerror syntax", good, "x.test", "a@syntax.test", PermError, "a bad ip4 address"},
		{"permerror unknown mechanism", good, "x.test", "a@unknown-mech.test", PermError, "an unknown mechanism"},
		{"permerror include none", good, "x.test", "a@inc-none.test", PermError, "include: of a domain without a record"},
		{"permerror void lookups", good, "x.test", "a@voids.test", PermError, "more than two void lookups (RFC 7208 §4.6.4)"},
		{"permerror lookup limit", good, "x.test", "a@many.test", PermError, "an 11th DNS-querying term (RFC 7208 §4.6.4)"},
		{"ten lookups pass", good, "x.test", "a@ten.test", Pass, "nine includes stay within the limit of ten"},
		{"temperror servfail", good, "x.test", "a@temp.test", TempError, "SERVFAIL for the record itself"},
		{"temperror include", good, "x.test", "a@temp-inc.test", TempError, "SERVFAIL inside include:"},
		{"temperror a", good, "x.test", "a@temp-a.test", TempError, "SERVFAIL for an a: target"},
		{"helo identity pass", good, "helo.test", "", Pass, "MAIL FROM:<> checks postmaster@HELO (RFC 7208 §2.4)"},
		{"helo identity fail", bad, "helo.test", "", Fail, "the HELO identity can fail too"},
		{"helo identity bracketed", bad, "helo.test.", "<>", Fail, "<> as written, HELO with a final dot"},
		{"no local part", good, "x.test", "@pass-ip4.test", Pass, "RFC 7208 §4.3: postmaster stands in"},
		{"quoted local part with at", good, "x.test", `"x@evil.test"@pass-ip4.test`, Pass, "the domain is after the last @"},
		{"mapped client", "::ffff:192.0.2.1", "x.test", "a@pass-ip4.test", Pass, "a v4-mapped client is its IPv4 address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, expl := c.Check(context.Background(), netip.MustParseAddr(tc.ip), tc.helo, tc.sender)
			if got != tc.want {
				t.Fatalf("Check(%s, %q, %q) = %s (%s), want %s — %s", tc.ip, tc.helo, tc.sender, got, expl, tc.want, tc.why)
			}
			if expl == "" {
				t.Error("empty explanation")
			}
		})
	}
}

// TestTimeout checks that a silent DNS server gives temperror within the
// checker's own deadline, not the resolver's whole retry schedule.
func TestTimeout(t *testing.T) {
	c := newChecker(t)
	c.Timeout = 200 * time.Millisecond
	start := time.Now()
	got, expl := c.Check(context.Background(), netip.MustParseAddr("192.0.2.1"), "x.test", "a@silent.test")
	if got != TempError {
		t.Fatalf("got %s (%s), want temperror", got, expl)
	}
	if el := time.Since(start); el > 900*time.Millisecond {
		t.Fatalf("took %v: the check's timeout did not bound it", el)
	}
}

func TestExplanation(t *testing.T) {
	c := newChecker(t)
	_, expl := c.Check(context.Background(), netip.MustParseAddr("203.0.113.9"), "x.test", "a@fail.test")
	if want := "domain of fail.test does not designate 203.0.113.9 as permitted sender"; expl != want {
		t.Fatalf("explanation %q, want %q", expl, want)
	}
	_, expl = c.Check(context.Background(), netip.MustParseAddr("192.0.2.1"), "x.test", "a@many.test")
	if !strings.Contains(expl, "lookup limit") {
		t.Fatalf("permerror explanation %q should say why", expl)
	}
}

func TestNoResolver(t *testing.T) {
	var c Checker
	if got, _ := c.Check(context.Background(), netip.MustParseAddr("192.0.2.1"), "x.test", "a@b.test"); got != TempError {
		t.Fatalf("a checker without a resolver gave %s, want temperror (never the system resolver)", got)
	}
	if got, _ := c.Check(context.Background(), netip.Addr{}, "x.test", "a@b.test"); got != PermError {
		t.Fatalf("no client address gave %s, want permerror", got)
	}
}

func TestReceivedSPF(t *testing.T) {
	got := ReceivedSPF(Pass, netip.MustParseAddr("192.0.2.1"), "mail.example.com", "myname@example.com", "mybox.example.org")
	want := "Received-SPF: pass (mybox.example.org: domain of example.com designates\r\n" +
		"\t192.0.2.1 as permitted sender) client-ip=192.0.2.1;\r\n" +
		"\tenvelope-from=\"myname@example.com\"; helo=mail.example.com;\r\n" +
		"\treceiver=mybox.example.org; identity=mailfrom;\r\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}

	cases := []struct {
		name               string
		res                Result
		ip, helo, sender   string
		contains, excludes []string
	}{
		{"helo identity", Fail, "192.0.2.1", "helo.example", "", []string{"identity=helo;", `envelope-from="postmaster@helo.example";`, "fail (mx.test: domain of helo.example does not"}, nil},
		{"ipv6 quoted", SoftFail, "2001:db8::1", "h.example", "a@b.example", []string{`client-ip="2001:db8::1";`}, nil},
		{"injection", Neutral, "192.0.2.1", "evil.example\r\nX-Injected: 1", "a(b)\"c\\@x.example", []string{`helo="evil.example??X-Injected: 1";`, `envelope-from="a(b)\"c\\@x.example";`}, []string{"\nX-Injected"}},
		{"temperror", TempError, "192.0.2.1", "h.example", "a@b.example", []string{"temperror (mx.test: temporary error checking SPF of b.example)"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := ReceivedSPF(c.res, netip.MustParseAddr(c.ip), c.helo, c.sender, "mx.test")
			checkField(t, h)
			unfolded := strings.ReplaceAll(h, "\r\n\t", " ")
			for _, s := range c.contains {
				if !strings.Contains(unfolded, s) {
					t.Errorf("%q lacks %q", unfolded, s)
				}
			}
			for _, s := range c.excludes {
				if strings.Contains(h, s) {
					t.Errorf("%q has %q", h, s)
				}
			}
		})
	}
}

// checkField asserts a header field is one field: CRLF only at the end or
// before whitespace, lines within 78 octets.
func checkField(t *testing.T, h string) {
	t.Helper()
	if !strings.HasSuffix(h, "\r\n") {
		t.Fatalf("%q does not end in CRLF", h)
	}
	lines := strings.Split(strings.TrimSuffix(h, "\r\n"), "\r\n")
	for i, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			t.Fatalf("bare CR or LF in %q", l)
		}
		if i > 0 && !strings.HasPrefix(l, "\t") {
			t.Fatalf("continuation line %q does not start with whitespace", l)
		}
		if len(l) > 78 {
			t.Errorf("line of %d octets: %q", len(l), l)
		}
	}
}

func TestIdentity(t *testing.T) {
	cases := []struct{ helo, sender, wantSender, wantDomain string }{
		{"h.example", "a@b.example", "a@b.example", "b.example"},
		{"h.example.", "", "postmaster@h.example", "h.example"},
		{"h.example", "<>", "postmaster@h.example", "h.example"},
		{"h.example", "@b.example", "postmaster@b.example", "b.example"},
		{"h.example", "postmaster", "postmaster@h.example", "h.example"},
		{"h.example", "a@b.example.", "a@b.example.", "b.example"},
	}
	for _, c := range cases {
		s, d := Identity(c.helo, c.sender)
		if s != c.wantSender || d != c.wantDomain {
			t.Errorf("Identity(%q, %q) = %q, %q; want %q, %q", c.helo, c.sender, s, d, c.wantSender, c.wantDomain)
		}
	}
}

// FuzzReceivedSPF feeds hostile HELO names and senders to the header
// builder: whatever they hold, the result is one well-formed field.
func FuzzReceivedSPF(f *testing.F) {
	f.Add("mail.example.com", "a@example.com", "mx.test")
	f.Add("evil\r\nX: y", "\"a b\"@x", "")
	f.Add("", "", "(r)")
	f.Fuzz(func(t *testing.T, helo, sender, receiver string) {
		h := ReceivedSPF(Fail, netip.MustParseAddr("192.0.2.1"), helo, sender, receiver)
		if !strings.HasSuffix(h, "\r\n") || !strings.HasPrefix(h, "Received-SPF: fail") {
			t.Fatalf("malformed %q", h)
		}
		for i, l := range strings.Split(strings.TrimSuffix(h, "\r\n"), "\r\n") {
			if strings.ContainsAny(l, "\r\n") || (i > 0 && !strings.HasPrefix(l, "\t")) {
				t.Fatalf("line %d %q breaks the field", i, l)
			}
		}
	})
}
