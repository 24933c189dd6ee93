package dnsfake

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// zone is the parsed data: records by owner and type, the names that
// exist (owners and the empty non-terminals above them), and the SOAs to
// put in the authority section of negative answers.
type zone struct {
	rrs    map[string]map[uint16][]dns.RR
	exists map[string]bool
	soas   map[string]*dns.SOA
}

// defaultTTL applies to records written without a TTL and no $TTL line.
const defaultTTL = 300

func parseZone(text string) (*zone, error) {
	z := &zone{rrs: map[string]map[uint16][]dns.RR{}, exists: map[string]bool{}, soas: map[string]*dns.SOA{}}
	zp := dns.NewZoneParser(strings.NewReader(text), "", "zone")
	zp.SetDefaultTTL(defaultTTL)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		name := dns.CanonicalName(rr.Header().Name)
		t := rr.Header().Rrtype
		if z.rrs[name] == nil {
			z.rrs[name] = map[uint16][]dns.RR{}
		}
		z.rrs[name][t] = append(z.rrs[name][t], rr)
		if soa, ok := rr.(*dns.SOA); ok {
			z.soas[name] = soa
		}
		for n := name; n != "."; n = parent(n) {
			z.exists[n] = true
		}
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("dnsfake: zone: %w", err)
	}
	return z, nil
}

// maxChain bounds CNAME following inside the zone, as real servers do;
// a longer chain is returned as far as it went.
const maxChain = 16

// answer fills resp the way an authoritative server would: the CNAME
// chain from name (only its first link unless follow) and the records of
// type qtype at its end; NXDOMAIN when
// the chain ends at a name that does not exist (RFC 6604); the SOA in the
// authority section whenever there is no data (RFC 2308).
func (z *zone) answer(resp *dns.Msg, name string, qtype uint16, follow bool) {
	cur := name
	seen := map[string]bool{cur: true}
	for range maxChain {
		byType := z.rrs[cur]
		if rrs := byType[qtype]; len(rrs) > 0 {
			resp.Answer = append(resp.Answer, rrs...)
			return
		}
		c := byType[dns.TypeCNAME]
		if len(c) == 0 {
			break
		}
		resp.Answer = append(resp.Answer, c[0])
		if !follow {
			return
		}
		cur = dns.CanonicalName(c[0].(*dns.CNAME).Target)
		if seen[cur] {
			return // a loop: the chain as far as it went
		}
		seen[cur] = true
	}
	if !z.exists[cur] {
		resp.Rcode = dns.RcodeNameError
	}
	resp.Ns = append(resp.Ns, z.soaFor(cur))
}

// soaFor is the SOA of the closest enclosing zone in the data, or a
// made-up one (TTL and minimum 300) when the data has none.
func (z *zone) soaFor(name string) dns.RR {
	for n := name; ; n = parent(n) {
		if soa := z.soas[n]; soa != nil {
			return soa
		}
		if n == "." {
			break
		}
	}
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: ".", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: defaultTTL},
		Ns:      "ns.invalid.",
		Mbox:    "hostmaster.invalid.",
		Serial:  1,
		Refresh: 3600, Retry: 600, Expire: 86400, Minttl: defaultTTL,
	}
}

// parent drops the first label of a fully qualified name: "a.b." → "b.",
// "b." → ".".
func parent(name string) string {
	i := strings.IndexByte(name, '.')
	if i < 0 || i == len(name)-1 {
		return "."
	}
	return name[i+1:]
}
