package policy

import (
	"net/netip"
	"strings"

	"github.com/hikyaku/hikyaku/internal/protocol"
)

// pair holds the allow and deny rules of one level and key; allow wins.
type pair struct{ allow, deny *rule }

func (p *pair) add(r *rule) {
	if r.action == Allow {
		if p.allow == nil {
			p.allow = r
		}
	} else if p.deny == nil {
		p.deny = r
	}
}

func (p pair) verdict() (Verdict, bool) {
	r := p.allow
	if r == nil {
		r = p.deny
	}
	if r == nil {
		return Verdict{}, false
	}
	return Verdict{Action: r.action, Rule: r.pos, Pattern: r.pattern}, true
}

// globs is one level of glob rules: every matching glob is the same
// level, so the first matching allow wins, else the first matching deny.
type globs []*rule

func (g globs) match(s string) (Verdict, bool) {
	var p pair
	for _, r := range g {
		if glob(r.pattern, s) {
			p.add(r)
			if p.allow != nil {
				break
			}
		}
	}
	return p.verdict()
}

// ruleset is one parse of the file, never changed after it is built.
type ruleset struct {
	// clients by prefix length (0–32 for IPv4, 0–128 for IPv6) and the
	// masked prefix; bits4/bits6 list the lengths in use, longest first.
	clients      map[netip.Prefix]*pair
	bits4, bits6 []int

	heloExact map[string]*pair
	heloGlobs globs

	sender, rcpt addrRules
	n            int
}

type addrRules struct {
	exact   map[string]*pair // "local@domain" and "<>"
	domains map[string]*pair // "domain"
	globs   globs            // on the whole address, or on the domain for "@…"
}

func (rs *ruleset) add(r rule) {
	rs.n++
	rp := &r
	switch r.kind {
	case "client":
		if rs.clients == nil {
			rs.clients = map[netip.Prefix]*pair{}
		}
		p := rs.clients[r.prefix]
		if p == nil {
			p = &pair{}
			rs.clients[r.prefix] = p
			if r.prefix.Addr().Is4() {
				rs.bits4 = insertDesc(rs.bits4, r.prefix.Bits())
			} else {
				rs.bits6 = insertDesc(rs.bits6, r.prefix.Bits())
			}
		}
		p.add(rp)
	case "helo":
		if isGlob(r.pattern) {
			rs.heloGlobs = append(rs.heloGlobs, rp)
			return
		}
		addPair(&rs.heloExact, r.pattern, rp)
	case "sender":
		rs.sender.add(rp)
	case "rcpt":
		rs.rcpt.add(rp)
	}
}

func (a *addrRules) add(r *rule) {
	switch {
	case isGlob(r.pattern):
		a.globs = append(a.globs, r)
	case strings.HasPrefix(r.pattern, "@"):
		addPair(&a.domains, r.pattern[1:], r)
	default:
		addPair(&a.exact, r.pattern, r)
	}
}

func addPair(m *map[string]*pair, k string, r *rule) {
	if *m == nil {
		*m = map[string]*pair{}
	}
	p := (*m)[k]
	if p == nil {
		p = &pair{}
		(*m)[k] = p
	}
	p.add(r)
}

// insertDesc adds n to a descending list of distinct ints.
func insertDesc(s []int, n int) []int {
	for i, v := range s {
		if v == n {
			return s
		}
		if v < n {
			return append(s[:i], append([]int{n}, s[i:]...)...)
		}
	}
	return append(s, n)
}

func (rs *ruleset) client(ip netip.Addr) Verdict {
	if !ip.IsValid() || rs.clients == nil {
		return Verdict{}
	}
	ip = ip.Unmap().WithZone("")
	bits := rs.bits6
	if ip.Is4() {
		bits = rs.bits4
	}
	for _, b := range bits {
		p, err := ip.Prefix(b)
		if err != nil {
			continue
		}
		if pr := rs.clients[p]; pr != nil {
			if v, ok := pr.verdict(); ok {
				return v
			}
		}
	}
	return Verdict{}
}

func (rs *ruleset) helo(name string) Verdict {
	n, err := normName(name)
	if err != nil {
		n = strings.ToLower(strings.TrimSuffix(name, "."))
	}
	if p := rs.heloExact[n]; p != nil {
		if v, ok := p.verdict(); ok {
			return v
		}
	}
	v, _ := rs.heloGlobs.match(n)
	return v
}

func (a *addrRules) match(addr string) Verdict {
	if addr == "" || addr == "<>" {
		if p := a.exact["<>"]; p != nil {
			v, _ := p.verdict()
			return v
		}
		return Verdict{}
	}
	n, hasDomain := normAddr(addr)
	if p := a.exact[n]; p != nil {
		if v, ok := p.verdict(); ok {
			return v
		}
	}
	domain := ""
	if hasDomain {
		domain = protocol.DomainOf(n)
		if p := a.domains[domain]; p != nil {
			if v, ok := p.verdict(); ok {
				return v
			}
		}
	}
	var p pair
	for _, r := range a.globs {
		var ok bool
		if strings.HasPrefix(r.pattern, "@") {
			ok = hasDomain && glob(r.pattern[1:], domain)
		} else {
			ok = glob(r.pattern, n)
		}
		if ok {
			p.add(r)
			if p.allow != nil {
				break
			}
		}
	}
	v, _ := p.verdict()
	return v
}

// glob matches s against a pattern of literal characters, '*' (any run,
// dots and '@' included) and '?' (one byte). Both are lower case already.
// The classic two-pointer walk: linear in practice, O(len(p)·len(s)) at
// worst, never exponential.
func glob(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
