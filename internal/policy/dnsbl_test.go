package policy

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

const blZone = `$TTL 300
2.0.0.127.bl.test.            IN A   127.0.0.2
2.0.0.127.bl.test.            IN TXT "listed: see https://bl.test/127.0.0.2"
9.2.0.192.bl.test.            IN A   127.0.0.4
9.2.0.192.other.test.         IN A   127.0.0.10
9.2.0.192.other.test.         IN TXT "other says " "so"
7.2.0.192.bl.test.            IN A   192.0.2.99
8.2.0.192.bl.test.            IN A   127.255.255.254
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test. IN A 127.0.0.3
5.2.0.192.bl.test.            IN A   127.0.0.2
`

func newResolver(t *testing.T, opt dnsfake.Options) *resolve.Resolver {
	t.Helper()
	srv, err := dnsfake.Start(opt)
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
	return r
}

func TestDNSBL(t *testing.T) {
	r := newResolver(t, dnsfake.Options{
		Zone: blZone,
		Fail: map[string]int{"6.2.0.192.bl.test.": dns.RcodeServerFailure},
	})
	cases := []struct {
		name     string
		zones    []string
		ip       string
		listed   bool
		zone     string
		reason   string
		errorHas string
		why      string
	}{
		{"test entry", []string{"bl.test"}, "127.0.0.2", true, "bl.test", "listed: see https://bl.test/127.0.0.2", "", "RFC 5782's test address, with its TXT reason"},
		{"not listed", []string{"bl.test"}, "192.0.2.1", false, "", "", "", "NXDOMAIN is not listed and not an error"},
		{"ipv6 nibbles", []string{"bl.test"}, "2001:db8::1", true, "bl.test", "", "", "IPv6 is asked in nibble form; no TXT, no reason"},
		{"mapped v4", []string{"bl.test"}, "::ffff:127.0.0.2", true, "bl.test", "listed: see https://bl.test/127.0.0.2", "", "a mapped address is asked as IPv4"},
		{"first zone in order", []string{"bl.test", "other.test"}, "192.0.2.9", true, "bl.test", "", "", "both list it; the configured order decides"},
		{"second zone", []string{"none.test", ".Other.Test."}, "192.0.2.9", true, "other.test", "other says so", "", "zone names are normalised; TXT strings joined"},
		{"answer outside 127/8", []string{"bl.test"}, "192.0.2.7", false, "", "", "", "only 127.0.0.0/8 answers are listings"},
		{"refusal code", []string{"bl.test"}, "192.0.2.8", false, "", "", "refused the query", "Spamhaus's 127.255.255.x means it refused us, not listed"},
		{"servfail", []string{"bl.test"}, "192.0.2.6", false, "", "", "DNSBL", "a failed lookup is an error, never listed (fail open)"},
		{"listed despite other failing", []string{"bl.test"}, "192.0.2.5", true, "bl.test", "", "", "a listing stands even when another zone errs"},
		{"no zones", nil, "127.0.0.2", false, "", "", "", "an empty configuration asks nothing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &DNSBL{Zones: c.zones, Resolver: r}
			listed, zone, reason, err := d.Check(context.Background(), netip.MustParseAddr(c.ip))
			if listed != c.listed || zone != c.zone || reason != c.reason {
				t.Fatalf("got (%v, %q, %q, %v), want (%v, %q, %q) — %s", listed, zone, reason, err, c.listed, c.zone, c.reason, c.why)
			}
			if c.errorHas == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if c.errorHas != "" && (err == nil || !strings.Contains(err.Error(), c.errorHas)) {
				t.Fatalf("error %v, want one containing %q", err, c.errorHas)
			}
		})
	}
}

func TestDNSBLListedWithFailingZone(t *testing.T) {
	r := newResolver(t, dnsfake.Options{
		Zone: blZone,
		Fail: map[string]int{"5.2.0.192.broken.test.": dns.RcodeServerFailure},
	})
	d := &DNSBL{Zones: []string{"broken.test", "bl.test"}, Resolver: r}
	listed, zone, _, err := d.Check(context.Background(), netip.MustParseAddr("192.0.2.5"))
	if !listed || zone != "bl.test" || err != nil {
		t.Fatalf("got (%v, %q, %v): a later zone's listing must stand when an earlier one fails", listed, zone, err)
	}
	listed, _, _, err = d.Check(context.Background(), netip.MustParseAddr("192.0.2.4"))
	if listed || err != nil {
		t.Fatalf("got (%v, %v): NXDOMAIN in both is a clean not-listed", listed, err)
	}
}

func TestReverse(t *testing.T) {
	cases := []struct{ ip, want string }{
		{"192.0.2.1", "1.2.0.192"},
		{"2001:db8::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"},
		{"2001:db8:1:2:3:4:567:89ab", "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2"}, // RFC 5782 §2.4's example
	}
	for _, c := range cases {
		got, err := reverse(netip.MustParseAddr(c.ip))
		if err != nil || got != c.want {
			t.Errorf("reverse(%s) = %q, %v; want %q", c.ip, got, err, c.want)
		}
	}
	if _, err := reverse(netip.Addr{}); err == nil {
		t.Error("reverse of the zero Addr gave no error")
	}
}
