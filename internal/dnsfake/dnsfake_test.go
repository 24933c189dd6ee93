package dnsfake

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const testZone = `$ORIGIN test.
$TTL 300
@            IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60
ok           IN MX 10 mx1.ok.test.
mx1.ok       IN A 192.0.2.1
mx1.ok       IN AAAA 2001:db8::1
txtonly      IN TXT "hello"
alias        IN CNAME mx1.ok.test.
alias2       IN CNAME alias.test.
dangling     IN CNAME nowhere.test.
loopa        IN CNAME loopb.test.
loopb        IN CNAME loopa.test.
deep.sub.ent IN A 192.0.2.7
`

func start(t *testing.T, opt Options) *Server {
	t.Helper()
	if opt.Zone == "" {
		opt.Zone = testZone
	}
	s, err := Start(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ask(t *testing.T, s *Server, network, name string, qtype uint16, edns bool) (*dns.Msg, error) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if edns {
		m.SetEdns0(1232, false)
	}
	c := dns.Client{Net: network, Timeout: 300 * time.Millisecond}
	r, _, err := c.Exchange(m, s.Addr)
	return r, err
}

func rrStrings(rrs []dns.RR) string {
	var out []string
	for _, rr := range rrs {
		h := rr.Header()
		out = append(out, fmt.Sprintf("%s %s %s", h.Name, dns.TypeToString[h.Rrtype], strings.TrimPrefix(rr.String(), h.String())))
	}
	return strings.Join(out, " | ")
}

// TestAnswers checks the zone is served the way an authoritative server
// would: the resolver's rules (700 vs 710 vs NODATA, CNAMEs) depend on it.
func TestAnswers(t *testing.T) {
	s := start(t, Options{})
	cases := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer string
		soa    bool
		why    string
	}{
		{"records", "ok.test.", dns.TypeMX, dns.RcodeSuccess, "ok.test. MX 10 mx1.ok.test.", false, "plain data"},
		{"any case", "MX1.OK.Test.", dns.TypeA, dns.RcodeSuccess, "mx1.ok.test. A 192.0.2.1", false, "names match case-insensitively"},
		{"nxdomain", "nope.test.", dns.TypeMX, dns.RcodeNameError, "", true, "a name with no records at all is NXDOMAIN, with SOA for negative caching"},
		{"nodata", "txtonly.test.", dns.TypeMX, dns.RcodeSuccess, "", true, "a name with other types is NODATA: NOERROR, empty answer, SOA"},
		{"empty non-terminal", "sub.ent.test.", dns.TypeA, dns.RcodeSuccess, "", true, "a name above existing names exists (RFC 8020) though it has no records"},
		{"cname followed", "alias.test.", dns.TypeA, dns.RcodeSuccess, "alias.test. CNAME mx1.ok.test. | mx1.ok.test. A 192.0.2.1", false, "an in-zone CNAME comes with the target's records"},
		{"cname chain", "alias2.test.", dns.TypeAAAA, dns.RcodeSuccess, "alias2.test. CNAME alias.test. | alias.test. CNAME mx1.ok.test. | mx1.ok.test. AAAA 2001:db8::1", false, "chains are followed to the end"},
		{"cname asked", "alias.test.", dns.TypeCNAME, dns.RcodeSuccess, "alias.test. CNAME mx1.ok.test.", false, "asking for the CNAME itself does not follow it"},
		{"dangling cname", "dangling.test.", dns.TypeA, dns.RcodeNameError, "dangling.test. CNAME nowhere.test.", true, "the rcode speaks for the end of the chain (RFC 6604)"},
		{"cname loop", "loopa.test.", dns.TypeA, dns.RcodeSuccess, "loopa.test. CNAME loopb.test. | loopb.test. CNAME loopa.test.", false, "a loop is returned as far as it went, once round"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := ask(t, s, "udp", c.qname, c.qtype, true)
			if err != nil {
				t.Fatal(err)
			}
			if r.Rcode != c.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[c.rcode])
			}
			if got := rrStrings(r.Answer); !strings.EqualFold(got, c.answer) {
				t.Errorf("answer %q, want %q", got, c.answer)
			}
			hasSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == dns.TypeSOA
			if hasSOA != c.soa {
				t.Errorf("authority %v, want SOA: %v", r.Ns, c.soa)
			}
			if !r.Authoritative {
				t.Error("AA not set")
			}
		})
	}
}

// TestMisbehaviour checks each failure map produces what a client sees
// from a broken server.
func TestMisbehaviour(t *testing.T) {
	s := start(t, Options{
		Fail:      map[string]int{"SERVFAIL.test": dns.RcodeServerFailure, "refused.test.": dns.RcodeRefused},
		Drop:      map[string]bool{"drop.test": true},
		Truncate:  map[string]bool{"ok.test": true},
		Malformed: map[string]bool{"bad.test": true},
	})
	t.Run("fail", func(t *testing.T) {
		// Listed in any case, with or without the dot.
		for name, want := range map[string]int{"servfail.test.": dns.RcodeServerFailure, "refused.test.": dns.RcodeRefused} {
			r, err := ask(t, s, "udp", name, dns.TypeMX, true)
			if err != nil || r.Rcode != want {
				t.Errorf("%s: %v %v, want rcode %s", name, r, err, dns.RcodeToString[want])
			}
		}
	})
	t.Run("drop", func(t *testing.T) {
		// Silence over both transports: the client times out.
		for _, network := range []string{"udp", "tcp"} {
			_, err := ask(t, s, network, "drop.test.", dns.TypeMX, true)
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("%s: err %v, want a timeout", network, err)
			}
		}
	})
	t.Run("truncate", func(t *testing.T) {
		// TC over UDP only, so a client that retries over TCP succeeds.
		r, err := ask(t, s, "udp", "ok.test.", dns.TypeMX, true)
		if err != nil || !r.Truncated || len(r.Answer) != 0 {
			t.Fatalf("udp: %v %v, want TC and no answer", r, err)
		}
		before := s.TCPQueries()
		r, err = ask(t, s, "tcp", "ok.test.", dns.TypeMX, true)
		if err != nil || r.Truncated || len(r.Answer) != 1 {
			t.Fatalf("tcp: %v %v, want the full answer", r, err)
		}
		if s.TCPQueries() != before+1 {
			t.Errorf("TCPQueries %d, want %d", s.TCPQueries(), before+1)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		_, err := ask(t, s, "udp", "bad.test.", dns.TypeMX, true)
		var ne net.Error
		if err == nil || errors.As(err, &ne) {
			t.Errorf("err %v, want an unpack error (not a network error)", err)
		}
	})
}

// TestBufferSize checks answers are cut to the client's buffer: 512
// octets without EDNS0, the advertised size with it. This is what makes
// the resolver's EDNS0 visible in tests.
func TestBufferSize(t *testing.T) {
	var b strings.Builder
	for i := range 15 {
		fmt.Fprintf(&b, "big.test. 300 IN MX %d a-rather-long-mail-host-name-%02d.big.test.\n", i, i)
	}
	s := start(t, Options{Zone: b.String()})
	r, err := ask(t, s, "udp", "big.test.", dns.TypeMX, false)
	if err != nil || !r.Truncated {
		t.Fatalf("without EDNS0: %v %v, want TC", r, err)
	}
	r, err = ask(t, s, "udp", "big.test.", dns.TypeMX, true)
	if err != nil || r.Truncated || len(r.Answer) != 15 || r.IsEdns0() == nil {
		t.Fatalf("with EDNS0: %v %v, want all 15 records and an OPT", r, err)
	}
}

// TestNoFollow checks the out-of-zone behaviour: the CNAME alone.
func TestNoFollow(t *testing.T) {
	s := start(t, Options{NoFollow: true})
	r, err := ask(t, s, "udp", "alias2.test.", dns.TypeA, true)
	if err != nil || r.Rcode != dns.RcodeSuccess || rrStrings(r.Answer) != "alias2.test. CNAME alias.test." || len(r.Ns) != 0 {
		t.Fatalf("%v %v, want the first CNAME alone", r, err)
	}
}

func TestQueriesAndSetZone(t *testing.T) {
	s := start(t, Options{})
	for range 3 {
		ask(t, s, "udp", "ok.test.", dns.TypeMX, true)
	}
	if s.Queries() != 3 {
		t.Errorf("Queries %d, want 3", s.Queries())
	}
	if err := s.SetZone("ok.test. 60 IN MX 5 other.test.\n"); err != nil {
		t.Fatal(err)
	}
	r, err := ask(t, s, "udp", "ok.test.", dns.TypeMX, true)
	if err != nil || len(r.Answer) != 1 || r.Answer[0].(*dns.MX).Mx != "other.test." {
		t.Fatalf("after SetZone: %v %v", r, err)
	}
	// A zone without SOA still gets one in negative answers.
	r, err = ask(t, s, "udp", "gone.test.", dns.TypeMX, true)
	if err != nil || r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 {
		t.Fatalf("negative answer without zone SOA: %v %v", r, err)
	}
	if err := s.SetZone("this is not a zone"); err == nil {
		t.Error("SetZone accepted garbage")
	}
}

func TestStartErrors(t *testing.T) {
	cases := []struct {
		name string
		opt  Options
		why  string
	}{
		{"not loopback", Options{Addr: "0.0.0.0:0"}, "a fake must never answer the network"},
		{"host name", Options{Addr: "localhost:0"}, "only IP addresses, so no lookup is needed to listen"},
		{"bad zone", Options{Zone: "ok.test. IN MX nonsense"}, "zone errors are reported, not ignored"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if s, err := Start(c.opt); err == nil {
				s.Close()
				t.Errorf("Start succeeded; %s", c.why)
			}
		})
	}
}
