package resolve

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// Route says where mail for domain goes (RFC 5321 §5.1). The error, when
// not nil, is an *Error:
//
//	611 the domain is not a valid host name (no query made)
//	700 the domain does not exist (NXDOMAIN for its MX)
//	710 null MX (DSN 5.1.10, RFC 7505), or no MX and no A/AAAA (DSN 5.4.4)
//	711 no MX target resolves to an address (NXDOMAIN or NODATA for each)
//	720 an error answer, malformed answer or timeout left nothing usable
//	608 no DNS server could be reached at all
//	730 a loop: nothing left after dropping this host's names and the
//	    MXs below them, and addresses of this machine
func (r *Resolver) Route(ctx context.Context, domain string) (Route, error) {
	name, lit, err := normalizeDomain(domain)
	if err != nil {
		return Route{}, newError(611, err.Error())
	}
	if lit.IsValid() {
		if r.isLoop(lit) {
			return Route{}, newError(730, domain+" is an address of this host")
		}
		return Route{Domain: domain, Literal: true, Hosts: []Host{{Name: lit.String(), Addrs: []netip.Addr{lit}}}}, nil
	}

	mx := r.lookup(ctx, name, dns.TypeMX)
	switch mx.st {
	case stNXDomain:
		return Route{}, newError(700, name+": NXDOMAIN")
	case stTemp, stUnreachable:
		return Route{}, statusError(mx.st, mx.detail)
	case stNoData:
		return r.implicit(ctx, name)
	}

	var recs []mxRec
	for _, rr := range mx.records {
		m := rr.(*dns.MX)
		recs = append(recs, mxRec{canonical(m.Mx), int(m.Preference)})
	}
	// RFC 7505 §3: a null MX is the only MX. One mixed with real ones is
	// a misconfiguration; the real ones are still worth trying.
	if len(recs) == 1 && recs[0].target == "" {
		e := newError(710, name+" publishes a null MX (RFC 7505): it accepts no mail")
		e.Result.Enhanced = "5.1.10"
		if en, ok := codes.LookupEnhanced("5.1.10"); ok && en.Reason != "" {
			e.Result.Reason = en.Reason
		}
		return Route{}, e
	}
	recs = slices.DeleteFunc(recs, func(m mxRec) bool { return m.target == "" })
	if len(recs) == 0 {
		return Route{}, newError(710, name+": only null MX targets")
	}
	recs = r.order(recs)

	// RFC 5321 §5.1: if this host is one of the MXs, only the more
	// preferred ones may be used.
	for _, m := range recs {
		if r.selfNames[m.target] {
			recs = slices.DeleteFunc(recs, func(x mxRec) bool { return x.pref >= m.pref })
			if len(recs) == 0 {
				return Route{}, newError(730, fmt.Sprintf("%s: MX %s (preference %d) is this host and no MX is more preferred", name, m.target, m.pref))
			}
			break
		}
	}
	return r.resolveTargets(ctx, name, recs)
}

type mxRec struct {
	target string // canonical; "" for the root (null MX)
	pref   int
}

// order sorts by preference and shuffles each run of equal preference
// (RFC 5321 §5.1), after dropping repeated targets (keeping the best).
func (r *Resolver) order(recs []mxRec) []mxRec {
	slices.SortStableFunc(recs, func(a, b mxRec) int { return cmp.Compare(a.pref, b.pref) })
	seen := map[string]bool{}
	recs = slices.DeleteFunc(recs, func(m mxRec) bool {
		dup := seen[m.target]
		seen[m.target] = true
		return dup
	})
	r.randMu.Lock()
	defer r.randMu.Unlock()
	for i := 0; i < len(recs); {
		j := i
		for j < len(recs) && recs[j].pref == recs[i].pref {
			j++
		}
		run := recs[i:j]
		r.rand.Shuffle(len(run), func(a, b int) { run[a], run[b] = run[b], run[a] })
		i = j
	}
	return recs
}

// resolveTargets asks the addresses of every MX target at once and keeps
// the hosts with an address that is not this machine.
func (r *Resolver) resolveTargets(ctx context.Context, name string, recs []mxRec) (Route, error) {
	res := make([]addrs, len(recs))
	var wg sync.WaitGroup
	for i, m := range recs {
		wg.Go(func() { res[i] = r.hostAddrs(ctx, m.target) })
	}
	wg.Wait()

	route := Route{Domain: name}
	var temp, unreach, looped bool
	var problems []string
	for i, m := range recs {
		a := res[i]
		switch a.st {
		case stTemp:
			temp = true
		case stUnreachable:
			unreach = true
		}
		if a.st != stOK {
			problems = append(problems, a.detail)
			continue
		}
		h := r.host(m.target, m.pref, a.addrs)
		if h.Addrs == nil {
			looped = true
			problems = append(problems, m.target+" is this host")
			continue
		}
		route.Hosts = append(route.Hosts, h)
	}
	detail := name + ": " + strings.Join(problems, "; ")
	switch {
	case len(route.Hosts) > 0:
		if len(problems) > 0 {
			r.log.Debug("resolve: MX hosts dropped", "domain", name, "why", strings.Join(problems, "; "))
		}
		return route, nil
	case temp:
		return Route{}, newError(720, detail)
	case unreach:
		return Route{}, newError(608, detail)
	case looped:
		return Route{}, newError(730, detail)
	}
	return Route{}, newError(711, detail)
}

// implicit is the route of a domain without MX: its own addresses, as one
// host of preference 0 (RFC 5321 §5.1).
func (r *Resolver) implicit(ctx context.Context, name string) (Route, error) {
	a := r.hostAddrs(ctx, name)
	switch a.st {
	case stTemp, stUnreachable:
		return Route{}, statusError(a.st, a.detail)
	case stNXDomain, stNoData:
		return Route{}, newError(710, name+": no MX and no A or AAAA record")
	}
	h := r.host(name, 0, a.addrs)
	if h.Addrs == nil {
		return Route{}, newError(730, name+": no MX, and its addresses are this host")
	}
	return Route{Domain: name, Implicit: true, Hosts: []Host{h}}, nil
}

// host drops this machine's addresses; Addrs is nil when none remain.
func (r *Resolver) host(name string, pref int, ips []netip.Addr) Host {
	h := Host{Name: name, Pref: pref}
	for _, ip := range ips {
		if r.isLoop(ip) {
			r.log.Debug("resolve: dropping an address of this host", "host", name, "ip", ip)
			continue
		}
		h.Addrs = append(h.Addrs, ip)
	}
	return h
}
