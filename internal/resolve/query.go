package resolve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// status is what one question came to, before it is turned into a code.
type status int

const (
	stOK          status = iota // records of the type asked
	stNoData                    // the name exists, without records of that type
	stNXDomain                  // the name does not exist
	stTemp                      // 720: an error answer, a malformed answer, a timeout
	stUnreachable               // 608: no server could be reached at all
)

// answer is one question's outcome as cached: the records of the type
// asked at the end of any CNAME chain, and where the chain ended.
type answer struct {
	st       status
	records  []dns.RR
	end      string // canonical name the CNAME chain ended at (the name itself when none)
	hops     int    // CNAMEs followed in this response
	ttl      time.Duration
	detail   string // why, for error answers
	canceled bool   // the asker's context ended: neither cached nor shared
}

const (
	// ednsSize is the EDNS0 buffer advertised (DNS Flag Day 2020): large
	// enough for ordinary MX sets, small enough to avoid IP fragmentation.
	ednsSize = 1232
	// maxCNAME bounds the CNAMEs followed for one name; more is a loop
	// or a misconfiguration, answered 720 like any other DNS error.
	maxCNAME = 8
	// tempTTL is how long an error answer (720) is remembered, so that a
	// queue full of mail for one broken domain does not ask for each.
	tempTTL = 5 * time.Second
	// maxNegTTL caps negative caching (RFC 2308 §5 suggests 1–3 hours).
	maxNegTTL = time.Hour
	// maxPosTTL caps positive caching, so a long-lived process sees
	// changes within a day whatever the zone says.
	maxPosTTL = 24 * time.Hour
)

// exchange asks the servers one question, without the cache: each server
// in turn, Attempts rounds, until one gives a definite answer (NOERROR or
// NXDOMAIN). A truncated UDP answer is asked again over TCP at the same
// server. SERVFAIL, REFUSED and the like move on to the next server, as a
// stub resolver does.
//
// The 608/720 line: 608 only when every try failed at the socket
// (connection refused, which on UDP is the ICMP port-unreachable seen as a
// read error; network or host unreachable), i.e. no server was reached. A
// timeout is 720: the packet may have arrived and the server be slow or
// broken, which docs/spec.md §4.3 counts as "DNS answered with an error".
func (r *Resolver) exchange(ctx context.Context, name string, qtype uint16) answer {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.RecursionDesired = true
	q.SetEdns0(ednsSize, false)

	reached := false
	var problems []string
	for range r.attempts {
		for _, srv := range r.servers {
			if err := ctx.Err(); err != nil {
				return answer{st: stTemp, canceled: true, detail: err.Error()}
			}
			resp, err := r.try(ctx, q, srv, "udp")
			if err == nil && resp.Truncated {
				reached = true
				resp, err = r.try(ctx, q, srv, "tcp")
			}
			if err != nil {
				if ctx.Err() != nil {
					return answer{st: stTemp, canceled: true, detail: ctx.Err().Error()}
				}
				if !unreachable(err) {
					reached = true
				}
				problems = append(problems, fmt.Sprintf("%s: %s", srv, describe(err)))
				continue
			}
			reached = true
			if resp.Rcode == dns.RcodeSuccess || resp.Rcode == dns.RcodeNameError {
				return r.interpret(name, qtype, resp)
			}
			problems = append(problems, fmt.Sprintf("%s: %s", srv, dns.RcodeToString[resp.Rcode]))
		}
	}
	detail := fmt.Sprintf("%s %s: %s", dns.TypeToString[qtype], name, strings.Join(dedupe(problems), "; "))
	if !reached {
		return answer{st: stUnreachable, detail: detail}
	}
	return answer{st: stTemp, detail: detail, ttl: tempTTL}
}

// try is one query to one server over one transport, bounded by Timeout.
func (r *Resolver) try(ctx context.Context, q *dns.Msg, srv, network string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	d := net.Dialer{}
	c, err := d.DialContext(ctx, network, srv)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	// The dns package obeys a context's deadline but not its
	// cancellation; unblock the read when the caller gives up.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	m := q.Copy()
	m.Id = dns.Id()
	client := dns.Client{Net: network, Timeout: r.timeout}
	resp, _, err := client.ExchangeWithConnContext(ctx, m, &dns.Conn{Conn: c})
	if err != nil {
		return nil, err
	}
	if len(resp.Question) != 1 || !strings.EqualFold(resp.Question[0].Name, m.Question[0].Name) || resp.Question[0].Qtype != m.Question[0].Qtype {
		return nil, errMismatch
	}
	return resp, nil
}

var errMismatch = errors.New("answer is for another question")

// unreachable says the error happened at the socket, with no sign that a
// server is listening; see exchange for why timeouts are not.
func unreachable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

func describe(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Op + ": " + oe.Err.Error()
	}
	return "malformed answer: " + err.Error()
}

// interpret reads a NOERROR or NXDOMAIN response: it follows the CNAME
// chain from name inside the answer section and takes the records of
// qtype at its end. The rcode speaks for the end of the chain (RFC 6604).
func (r *Resolver) interpret(name string, qtype uint16, resp *dns.Msg) answer {
	cur := canonical(name)
	a := answer{end: cur}
	ttl := uint32(1<<31 - 1)
	seen := map[string]bool{cur: true}
	for {
		var recs []dns.RR
		var cname *dns.CNAME
		for _, rr := range resp.Answer {
			h := rr.Header()
			if canonical(h.Name) != cur || h.Class != dns.ClassINET {
				continue
			}
			if h.Rrtype == qtype {
				recs = append(recs, rr)
				ttl = min(ttl, h.Ttl)
			} else if c, ok := rr.(*dns.CNAME); ok && cname == nil {
				cname = c
			}
		}
		if len(recs) > 0 {
			a.st, a.records, a.end = stOK, recs, cur
			a.ttl = min(time.Duration(ttl)*time.Second, maxPosTTL)
			return a
		}
		if cname == nil || qtype == dns.TypeCNAME {
			break
		}
		ttl = min(ttl, cname.Hdr.Ttl)
		cur = canonical(cname.Target)
		a.hops++
		if seen[cur] || a.hops > maxCNAME {
			return answer{st: stTemp, ttl: tempTTL, hops: a.hops,
				detail: fmt.Sprintf("%s %s: CNAME loop or chain longer than %d", dns.TypeToString[qtype], name, maxCNAME)}
		}
		seen[cur] = true
	}
	a.end = cur
	a.st = stNoData
	if resp.Rcode == dns.RcodeNameError {
		a.st = stNXDomain
	}
	// Negative answers live for the SOA's minimum (RFC 2308 §5); without
	// a SOA they are not cached, except a chain that stopped at a CNAME
	// (the server left the target to us), which holds for its own TTL.
	a.ttl = 0
	if a.end != canonical(name) && a.st == stNoData {
		a.ttl = min(time.Duration(ttl)*time.Second, maxPosTTL)
	}
	for _, rr := range resp.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			neg := min(ttl, soa.Hdr.Ttl, soa.Minttl)
			a.ttl = min(time.Duration(neg)*time.Second, maxNegTTL)
			break
		}
	}
	return a
}

func dedupe(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
