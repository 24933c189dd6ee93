package resolve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/hikyaku/hikyaku/internal/dnsfake"
)

// routeZone holds one small domain per rule of Route.
const routeZone = `$ORIGIN test.
$TTL 300
@               SOA ns.test. hostmaster.test. 1 3600 600 86400 60

ok              MX 10 mx1.ok.test.
ok              MX 20 mx2.ok.test.
mx1.ok          A 192.0.2.1
mx1.ok          AAAA 2001:db8::1
mx2.ok          A 192.0.2.2

null            MX 0 .
nullmix         MX 0 .
nullmix         MX 10 mx1.ok.test.

implicit        A 192.0.2.3
implicit        AAAA 2001:db8::3
implicit6       AAAA 2001:db8::6
empty           TXT "no mail here"

badmx           MX 10 nohost.badmx.test.
badmx           MX 20 noaddr.badmx.test.
noaddr.badmx    TXT "exists, no address"
partial         MX 10 nohost.partial.test.
partial         MX 20 mx2.ok.test.
tempmx          MX 10 sf.tempmx.test.
tempmx          MX 20 nohost.tempmx.test.
tempok          MX 10 sf.tempmx.test.
tempok          MX 20 mx2.ok.test.
onefamily       MX 10 v4.onefamily.test.
v4.onefamily    A 192.0.2.4
dupmx           MX 20 mx2.ok.test.
dupmx           MX 10 mx2.ok.test.

cname           CNAME ok.test.
cnamenodata     CNAME empty.test.
mxcname         MX 10 alias.mxcname.test.
alias.mxcname   CNAME mx1.ok.test.
loop1           CNAME loop2.test.
loop2           CNAME loop1.test.

self            MX 10 me.example.
selfbackup      MX 10 mx1.ok.test.
selfbackup      MX 20 ME.Example.
selfbackup      MX 30 mx2.ok.test.
selfequal       MX 10 mx1.ok.test.
selfequal       MX 10 me.example.

loopaddr        MX 10 lo.loopaddr.test.
lo.loopaddr     A 127.0.0.1
loopmixed       MX 10 lo.loopaddr.test.
loopmixed       MX 20 mx2.ok.test.
halfloop        MX 10 h.halfloop.test.
h.halfloop      A 127.0.0.1
h.halfloop      A 192.0.2.5
implicitloop    A 127.0.0.5
unspecified     A 0.0.0.0
mapped          AAAA ::ffff:127.0.0.1
`

// chainZone adds CNAME chains of 8 (allowed) and 9 (too long) links.
func chainZone() string {
	var b strings.Builder
	for _, n := range []int{8, 9} {
		for i := range n {
			fmt.Fprintf(&b, "c%d-%d.test. 300 IN CNAME c%d-%d.test.\n", n, i, n, i+1)
		}
		fmt.Fprintf(&b, "c%d-%d.test. 300 IN MX 10 mx2.ok.test.\n", n, n)
	}
	return b.String()
}

func routeServer(t *testing.T) *dnsfake.Server { return routeServerFollow(t, true) }

// routeServerFollow with follow false answers CNAMEs alone, as an
// authoritative server for another zone would: the resolver then asks
// for each target itself.
func routeServerFollow(t *testing.T, follow bool) *dnsfake.Server {
	return fakeDNS(t, dnsfake.Options{
		NoFollow: !follow,
		Zone:     routeZone + chainZone(),
		Fail: map[string]int{
			"servfail.test":      dns.RcodeServerFailure,
			"refused.test":       dns.RcodeRefused,
			"formerr.test":       dns.RcodeFormatError,
			"sf.tempmx.test":     dns.RcodeServerFailure,
			"nohost.tempmx.test": dns.RcodeNameError,
		},
		Drop:      map[string]bool{"drop.test": true},
		Malformed: map[string]bool{"malformed.test": true},
		Truncate:  map[string]bool{"ok.test": true},
	})
}

// hostsString is "name/pref=addr,addr name/pref=…", compact for tables.
func hostsString(hs []Host) string {
	var parts []string
	for _, h := range hs {
		var as []string
		for _, a := range h.Addrs {
			as = append(as, a.String())
		}
		parts = append(parts, fmt.Sprintf("%s/%d=%s", h.Name, h.Pref, strings.Join(as, ",")))
	}
	return strings.Join(parts, " ")
}

// TestRoute runs every rule of Route through the real code path against
// the fake server, once as a recursive server answers (CNAMEs followed)
// and once without CNAMEs followed. Each case says why it exists.
func TestRoute(t *testing.T) {
	t.Run("follow", func(t *testing.T) { testRoute(t, routeServerFollow(t, true)) })
	t.Run("nofollow", func(t *testing.T) { testRoute(t, routeServerFollow(t, false)) })
}

func testRoute(t *testing.T, s *dnsfake.Server) {
	cases := []struct {
		domain   string
		code     int    // 0 for a route
		status   string // DSN status of the error
		hosts    string // for a route
		implicit bool
		why      string
	}{
		{"ok.test", 0, "", "mx1.ok.test/10=192.0.2.1,2001:db8::1 mx2.ok.test/20=192.0.2.2", false,
			"MX by preference, A before AAAA; the MX answer is truncated over UDP, so this also proves the TCP retry"},
		{"OK.Test.", 0, "", "mx1.ok.test/10=192.0.2.1,2001:db8::1 mx2.ok.test/20=192.0.2.2", false,
			"case and a final dot do not matter"},
		{"nx.test", 700, "5.1.2", "", false, "NXDOMAIN for the domain"},
		{"servfail.test", 720, "4.4.3", "", false, "SERVFAIL is transient"},
		{"refused.test", 720, "4.4.3", "", false, "REFUSED is transient"},
		{"formerr.test", 720, "4.4.3", "", false, "FORMERR is transient"},
		{"malformed.test", 720, "4.4.3", "", false, "an answer that does not parse is transient"},
		{"drop.test", 720, "4.4.3", "", false, "a server that does not answer in time: 720, not 608 (it may be reachable but slow)"},
		{"null.test", 710, "5.1.10", "", false, "null MX (RFC 7505) carries DSN 5.1.10"},
		{"nullmix.test", 0, "", "mx1.ok.test/10=192.0.2.1,2001:db8::1", false, "a null MX among real ones is dropped, the real ones used"},
		{"implicit.test", 0, "", "implicit.test/0=192.0.2.3,2001:db8::3", true, "no MX: the domain's own A and AAAA (RFC 5321 §5.1)"},
		{"implicit6.test", 0, "", "implicit6.test/0=2001:db8::6", true, "implicit MX with AAAA only"},
		{"empty.test", 710, "5.4.4", "", false, "no MX and no address: 710 with 5.4.4"},
		{"badmx.test", 711, "5.4.4", "", false, "every MX target NXDOMAIN or NODATA"},
		{"partial.test", 0, "", "mx2.ok.test/20=192.0.2.2", false, "a target that does not resolve is dropped, the rest kept"},
		{"tempmx.test", 720, "4.4.3", "", false, "nothing usable and one target failed transiently: 720, not 711"},
		{"tempok.test", 0, "", "mx2.ok.test/20=192.0.2.2", false, "a transient target failure does not stop the others"},
		{"onefamily.test", 0, "", "v4.onefamily.test/10=192.0.2.4", false, "NODATA for AAAA is fine when A answers"},
		{"dupmx.test", 0, "", "mx2.ok.test/10=192.0.2.2", false, "a target listed twice is tried once, at its best preference"},
		{"cname.test", 0, "", "mx1.ok.test/10=192.0.2.1,2001:db8::1 mx2.ok.test/20=192.0.2.2", false, "the domain is a CNAME: the target's MX"},
		{"mxcname.test", 0, "", "alias.mxcname.test/10=192.0.2.1,2001:db8::1", false, "an MX target that is a CNAME is followed; the host keeps the MX name"},
		{"cnamenodata.test", 710, "5.4.4", "", false, "a CNAME to a name without MX or address: the target's NODATA counts"},
		{"loop1.test", 720, "4.4.3", "", false, "a CNAME loop is a DNS error"},
		{"c8-0.test", 0, "", "mx2.ok.test/10=192.0.2.2", false, "a chain of 8 CNAMEs is followed"},
		{"c9-0.test", 720, "4.4.3", "", false, "a chain of 9 is too long"},
		{"self.test", 730, "5.4.6", "", false, "the best MX is this host (SelfNames)"},
		{"selfbackup.test", 0, "", "mx1.ok.test/10=192.0.2.1,2001:db8::1", false, "this host is a backup MX: only the more preferred ones are used, never those below it"},
		{"selfequal.test", 730, "5.4.6", "", false, "an MX of the same preference as this host is not more preferred"},
		{"loopaddr.test", 730, "5.4.6", "", false, "the only MX resolves to loopback"},
		{"loopmixed.test", 0, "", "mx2.ok.test/20=192.0.2.2", false, "a loopback MX is dropped, the others kept"},
		{"halfloop.test", 0, "", "h.halfloop.test/10=192.0.2.5", false, "loop addresses are dropped from a host, its other addresses kept"},
		{"implicitloop.test", 730, "5.4.6", "", false, "implicit MX on loopback"},
		{"unspecified.test", 730, "5.4.6", "", false, "0.0.0.0 reaches this machine whatever LoopAddrs say"},
		{"mapped.test", 730, "5.4.6", "", false, "an IPv4-mapped AAAA of loopback is loopback"},
		{"[192.0.2.9]", 0, "", "192.0.2.9/0=192.0.2.9", false, "address literal: no DNS"},
		{"[IPv6:2001:db8::9]", 0, "", "2001:db8::9/0=2001:db8::9", false, "IPv6 literal with its tag"},
		{"[127.0.0.1]", 730, "5.4.6", "", false, "a literal that is this host is a loop"},
	}
	for _, c := range cases {
		t.Run(c.domain, func(t *testing.T) {
			r := newResolver(t, Options{SelfNames: []string{"me.example."}}, s.Addr)
			route, err := r.Route(context.Background(), c.domain)
			if got := code(err); got != c.code {
				t.Fatalf("code %d (%v), want %d; %s", got, err, c.code, c.why)
			}
			if err != nil {
				var e *Error
				errors.As(err, &e)
				if e.Result.Enhanced != c.status {
					t.Errorf("status %s, want %s", e.Result.Enhanced, c.status)
				}
				return
			}
			if got := hostsString(route.Hosts); got != c.hosts {
				t.Errorf("hosts\n got %s\nwant %s\n(%s)", got, c.hosts, c.why)
			}
			if route.Implicit != c.implicit {
				t.Errorf("Implicit %v, want %v", route.Implicit, c.implicit)
			}
			if route.Literal != strings.HasPrefix(c.domain, "[") {
				t.Errorf("Literal %v", route.Literal)
			}
		})
	}
	if s.TCPQueries() == 0 {
		t.Error("no query came over TCP: the truncated MX answer for ok.test was not retried")
	}
}

// TestRouteSyntax checks names that cannot be host names are 611 before
// any query is made.
func TestRouteSyntax(t *testing.T) {
	s := routeServer(t)
	r := newResolver(t, Options{}, s.Addr)
	long := strings.Repeat("a", 63)
	cases := []struct {
		domain, why string
	}{
		{"", "empty"},
		{".", "the root alone"},
		{"under_score.test", "underscore is not LDH"},
		{"-lead.test", "leading hyphen"},
		{"trail-.test", "trailing hyphen"},
		{"a..test", "empty label"},
		{strings.Repeat("a", 64) + ".test", "label over 63 octets"},
		{strings.Join([]string{long, long, long, long}, ".") + ".x", "name over 253 octets"},
		{"192.0.2.1", "an IP address without brackets (all-numeric last label)"},
		{"sp ace.test", "space"},
		{"mail\u2028box.test", "a code point IDNA2008 disallows"},
		{"[192.0.2.1", "unclosed literal"},
		{"[300.0.0.1]", "not an IPv4 address"},
		{"[::1]", "IPv6 literal without its tag"},
		{"[IPv6:192.0.2.1]", "IPv4 address under the IPv6 tag"},
		{"[IPv6:fe80::1%eth0]", "zones are not part of a literal"},
		{"[x400:foo]", "general address literals"},
	}
	for _, c := range cases {
		t.Run(c.why, func(t *testing.T) {
			if _, err := r.Route(context.Background(), c.domain); code(err) != 611 {
				t.Errorf("Route(%q): %v, want 611", c.domain, err)
			}
		})
	}
	if n := s.Queries(); n != 0 {
		t.Errorf("%d queries made for invalid names, want none", n)
	}
	// Right at the limits is still valid.
	ok := []string{long + ".test", strings.Join([]string{long, long, long, strings.Repeat("b", 61)}, "."), "xn--mnchen-3ya.test", "münchen.test", "1a.test", "test"}
	for _, d := range ok {
		if _, err := r.Route(context.Background(), d); code(err) == 611 {
			t.Errorf("Route(%q) = 611, want a query", d)
		}
	}
}

// TestServers checks the 608/720 line and the fallback between servers.
func TestServers(t *testing.T) {
	good := routeServer(t)
	failing := fakeDNS(t, dnsfake.Options{Zone: routeZone, Fail: map[string]int{"ok.test": dns.RcodeServerFailure}})
	silent := fakeDNS(t, dnsfake.Options{Zone: routeZone, Drop: map[string]bool{"ok.test": true}})
	cases := []struct {
		name    string
		servers []string
		code    int
		why     string
	}{
		{"refused", []string{closedPort(t)}, 608, "nothing listens: no DNS server reached"},
		{"all refused", []string{closedPort(t), closedPort(t)}, 608, "every server refuses"},
		{"refused then good", []string{closedPort(t), good.Addr}, 0, "the next server is asked"},
		{"servfail then good", []string{failing.Addr, good.Addr}, 0, "SERVFAIL moves on to the next server"},
		{"timeout then good", []string{silent.Addr, good.Addr}, 0, "a silent server is skipped after its timeout"},
		{"refused and timeout", []string{closedPort(t), silent.Addr}, 720, "one server may be reachable: 720, not 608"},
		{"refused and servfail", []string{closedPort(t), failing.Addr}, 720, "one server answered with an error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // the timeouts add up otherwise
			r := newResolver(t, Options{Attempts: 2}, c.servers...)
			_, err := r.Route(context.Background(), "ok.test")
			if code(err) != c.code {
				t.Errorf("%v, want %d; %s", err, c.code, c.why)
			}
		})
	}
}
