package resolve

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// lookup answers a question for name, following CNAMEs across responses
// when a server stopped at one (a recursive server follows them itself;
// an authoritative one only inside its zone). At most maxCNAME in all.
func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) answer {
	n := canonical(name)
	hops := 0
	for {
		a := r.query(ctx, n, qtype)
		hops += a.hops
		if hops > maxCNAME {
			return answer{st: stTemp, detail: fmt.Sprintf("%s %s: CNAME chain longer than %d", dns.TypeToString[qtype], name, maxCNAME)}
		}
		if a.st == stNoData && a.end != n {
			n = a.end // the chain ended at a name this response did not cover
			continue
		}
		return a
	}
}

// addrs is the outcome of the A and AAAA questions for one host name.
type addrs struct {
	st     status
	addrs  []netip.Addr // A then AAAA, without repeats
	detail string
}

// hostAddrs asks A and AAAA at once. Any address makes the host usable; a
// failure of the other family is then only logged.
func (r *Resolver) hostAddrs(ctx context.Context, name string) addrs {
	var a4, a6 answer
	var wg sync.WaitGroup
	wg.Go(func() { a4 = r.lookup(ctx, name, dns.TypeA) })
	wg.Go(func() { a6 = r.lookup(ctx, name, dns.TypeAAAA) })
	wg.Wait()

	var out addrs
	seen := map[netip.Addr]bool{}
	for _, rr := range append(append([]dns.RR(nil), a4.records...), a6.records...) {
		var ip netip.Addr
		switch v := rr.(type) {
		case *dns.A:
			ip, _ = netip.AddrFromSlice(v.A.To4())
		case *dns.AAAA:
			ip, _ = netip.AddrFromSlice(v.AAAA.To16())
		}
		// An IPv4-mapped AAAA is the IPv4 address, for the loop check too.
		ip = ip.Unmap()
		if ip.IsValid() && !seen[ip] {
			seen[ip] = true
			out.addrs = append(out.addrs, ip)
		}
	}
	switch {
	case len(out.addrs) > 0:
		out.st = stOK
		if a4.st >= stTemp || a6.st >= stTemp {
			r.log.Debug("resolve: one address family failed", "host", name, "a", a4.detail, "aaaa", a6.detail)
		}
	case a4.st == stTemp || a6.st == stTemp:
		out.st, out.detail = stTemp, joinDetail(a4, a6)
	case a4.st == stUnreachable || a6.st == stUnreachable:
		out.st, out.detail = stUnreachable, joinDetail(a4, a6)
	case a4.st == stNXDomain && a6.st == stNXDomain:
		out.st, out.detail = stNXDomain, name+": NXDOMAIN"
	default:
		out.st, out.detail = stNoData, name+": no A or AAAA record"
	}
	return out
}

func joinDetail(as ...answer) string {
	var ds []string
	for _, a := range as {
		if a.detail != "" {
			ds = append(ds, a.detail)
		}
	}
	return strings.Join(ds, "; ")
}

// LookupAddrs returns the A then AAAA addresses of name. A name with no
// address records gives none and no error; one that does not exist gives
// 700; failures 720 or 608.
func (r *Resolver) LookupAddrs(ctx context.Context, name string) ([]netip.Addr, error) {
	n, err := lookupName(name)
	if err != nil {
		return nil, err
	}
	a := r.hostAddrs(ctx, n)
	switch a.st {
	case stOK, stNoData:
		return a.addrs, nil
	case stNXDomain:
		return nil, newError(700, a.detail)
	}
	return nil, statusError(a.st, a.detail)
}

// LookupTXT returns the TXT records of name, each record's strings joined
// (RFC 7208 §3.3). NODATA gives none and no error; NXDOMAIN is 700;
// failures 720 or 608.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	n, err := lookupName(name)
	if err != nil {
		return nil, err
	}
	a := r.lookup(ctx, n, dns.TypeTXT)
	switch a.st {
	case stOK:
		var out []string
		for _, rr := range a.records {
			out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
		}
		return out, nil
	case stNoData:
		return nil, nil
	case stNXDomain:
		return nil, newError(700, n+": NXDOMAIN")
	}
	return nil, statusError(a.st, a.detail)
}

// LookupPTR returns the names the reverse zone gives for ip, canonical
// (lower case, no final dot). Errors as LookupTXT.
func (r *Resolver) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	if !ip.IsValid() {
		return nil, newError(611, "invalid IP address")
	}
	rev, err := dns.ReverseAddr(ip.Unmap().String())
	if err != nil {
		return nil, newError(611, err.Error())
	}
	a := r.lookup(ctx, rev, dns.TypePTR)
	switch a.st {
	case stOK:
		var out []string
		for _, rr := range a.records {
			out = append(out, canonical(rr.(*dns.PTR).Ptr))
		}
		return out, nil
	case stNoData:
		return nil, nil
	case stNXDomain:
		return nil, newError(700, rev+": NXDOMAIN")
	}
	return nil, statusError(a.st, a.detail)
}

// lookupName checks a name for the Lookup functions: any DNS name (SPF
// and DNSBL names have underscores and such), at most 253 octets.
func lookupName(name string) (string, error) {
	n := canonical(name)
	if n == "" || len(n) > maxDomain {
		return "", newError(611, fmt.Sprintf("%q is not a usable DNS name", name))
	}
	if _, ok := dns.IsDomainName(n); !ok {
		return "", newError(611, fmt.Sprintf("%q is not a usable DNS name", name))
	}
	return n, nil
}

// statusError is the code of a failed question.
func statusError(st status, detail string) *Error {
	if st == stUnreachable {
		return newError(608, detail)
	}
	return newError(720, detail)
}
