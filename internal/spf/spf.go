package spf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	libspf "blitiri.com.ar/go/spf"

	"github.com/hikyaku/hikyaku/internal/protocol"
	"github.com/hikyaku/hikyaku/internal/resolve"
)

// Result is an SPF result (RFC 7208 §2.6), spelt as in headers.
type Result string

const (
	Pass      Result = "pass"
	Fail      Result = "fail"
	SoftFail  Result = "softfail"
	Neutral   Result = "neutral"
	None      Result = "none"
	TempError Result = "temperror"
	PermError Result = "permerror"
)

// Checker runs SPF checks through Resolver.
type Checker struct {
	Resolver *resolve.Resolver
	// Timeout bounds one whole check; 0 means 20 seconds, the least RFC
	// 7208 §4.6.4 allows.
	Timeout time.Duration
}

const defaultTimeout = 20 * time.Second

// Check runs check_host() for the identity of a transaction: the domain of
// sender, or, when sender is empty (the null reverse-path), helo as
// "postmaster@helo" (RFC 7208 §2.4). explanation says in a sentence what
// the result means for this client and domain, for logs and reply texts;
// it never carries a domain's exp= text (the library does not fetch it, and
// RFC 7208 §6.2 makes it optional).
func (c *Checker) Check(ctx context.Context, ip netip.Addr, helo, sender string) (Result, string) {
	sender, domain := Identity(helo, sender)
	ip = ip.Unmap()
	if !ip.IsValid() {
		return PermError, "no valid client IP address to check"
	}
	// RFC 7208 §4.3: a malformed or single-label domain is "none" at once.
	if !checkable(domain) {
		return None, fmt.Sprintf("%q is not a domain SPF can be checked for", domain)
	}
	if c.Resolver == nil {
		return TempError, "no DNS resolver configured for SPF"
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	if strings.Count(sender, "@") > 1 {
		// A quoted local part with '@' in it: the library splits at the
		// first '@', so give it an address it splits right.
		sender = "postmaster@" + domain
	}
	res, err := libspf.CheckHostWithSender(net.IP(ip.AsSlice()), strings.TrimSuffix(helo, "."), sender,
		libspf.WithContext(ctx), libspf.WithResolver(dnsAdapter{c.Resolver}))
	r := Result(res)
	return r, explain(r, ip, domain, err)
}

// Identity is what Check checks: the sender as used in macros and the
// domain whose record is asked. An empty sender is "postmaster@<helo>"
// (RFC 7208 §2.4); a sender without a domain takes helo's.
func Identity(helo, sender string) (string, string) {
	helo = strings.TrimSuffix(helo, ".")
	if sender == "" || sender == "<>" {
		return "postmaster@" + helo, helo
	}
	local, domain, ok := protocol.SplitAddress(sender)
	if !ok {
		return sender + "@" + helo, helo
	}
	if local == "" { // RFC 7208 §4.3: no local-part means "postmaster"
		sender = "postmaster" + sender
	}
	return sender, strings.TrimSuffix(domain, ".")
}

// checkable is RFC 7208 §4.3's test: a multi-label name with labels of
// 1–63 octets, 253 in all (address literals like "[192.0.2.1]" are not).
func checkable(d string) bool {
	if len(d) == 0 || len(d) > 253 || !strings.Contains(d, ".") || strings.HasPrefix(d, "[") {
		return false
	}
	for l := range strings.SplitSeq(d, ".") {
		if len(l) == 0 || len(l) > 63 {
			return false
		}
	}
	return true
}

// explain words a result the way receivers customarily do (pyspf,
// Postfix's policyd-spf), with the library's reason for errors.
func explain(r Result, ip netip.Addr, domain string, err error) string {
	why := ""
	if err != nil {
		why = err.Error()
	}
	switch r {
	case Pass:
		return fmt.Sprintf("domain of %s designates %s as permitted sender", domain, ip)
	case Fail:
		return fmt.Sprintf("domain of %s does not designate %s as permitted sender", domain, ip)
	case SoftFail:
		return fmt.Sprintf("domain of transitioning %s does not designate %s as permitted sender", domain, ip)
	case Neutral:
		return fmt.Sprintf("%s is neither permitted nor denied by domain of %s", ip, domain)
	case None:
		return fmt.Sprintf("domain of %s does not designate permitted sender hosts", domain)
	case TempError:
		return withWhy(fmt.Sprintf("temporary error checking SPF of %s", domain), why)
	}
	return withWhy(fmt.Sprintf("permanent error in SPF record of %s", domain), why)
}

func withWhy(s, why string) string {
	if why == "" {
		return s
	}
	return s + ": " + why
}

// dnsAdapter answers the library's questions with hikyaku's resolver and
// turns *resolve.Error into the *net.DNSError the library classifies:
// 700 (NXDOMAIN) and 611 (not a usable name) are "not found", which RFC
// 7208 treats as no record (and counts as a void lookup); anything else is
// temporary.
type dnsAdapter struct{ r *resolve.Resolver }

func (a dnsAdapter) LookupTXT(ctx context.Context, name string) ([]string, error) {
	txts, err := a.r.LookupTXT(ctx, name)
	return txts, dnsError(name, err)
}

func (a dnsAdapter) LookupIPAddr(ctx context.Context, name string) ([]net.IPAddr, error) {
	ips, err := a.r.LookupAddrs(ctx, name)
	if err != nil {
		return nil, dnsError(name, err)
	}
	out := make([]net.IPAddr, 0, len(ips))
	for _, ip := range ips {
		out = append(out, net.IPAddr{IP: net.IP(ip.AsSlice())})
	}
	return out, nil
}

func (a dnsAdapter) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "bad address", Name: addr, IsNotFound: true}
	}
	names, err := a.r.LookupPTR(ctx, ip)
	return names, dnsError(addr, err)
}

// mxLookuper is the direct MX question; *resolve.Resolver may grow it.
type mxLookuper interface {
	LookupMX(ctx context.Context, name string) ([]string, error)
}

// LookupMX gives the MX target names. Until the resolver has a plain MX
// question it uses Route, which differs from what RFC 7208 §5.4 wants in
// ways that cannot turn a non-match into a match: without MX records Route
// falls back to the domain's own address (SPF must not: that is no MX
// here), and it leaves out targets that have no address, are this host, or
// are less preferred than this host, which SPF would look up and not match
// anyway unless the client is this host.
func (a dnsAdapter) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if m, ok := any(a.r).(mxLookuper); ok {
		hosts, err := m.LookupMX(ctx, name)
		if err != nil {
			return nil, dnsError(name, err)
		}
		out := make([]*net.MX, len(hosts))
		for i, h := range hosts {
			out[i] = &net.MX{Host: h}
		}
		return out, nil
	}
	route, err := a.r.Route(ctx, name)
	if err != nil {
		var re *resolve.Error
		if errors.As(err, &re) {
			switch re.Result.Code {
			case 710, 711, 730: // null MX, no usable target, only this host: no MX to match
				return nil, nil
			}
		}
		return nil, dnsError(name, err)
	}
	if route.Implicit || route.Literal {
		return nil, nil
	}
	out := make([]*net.MX, 0, len(route.Hosts))
	for _, h := range route.Hosts {
		out = append(out, &net.MX{Host: h.Name, Pref: uint16(h.Pref)})
	}
	return out, nil
}

func dnsError(name string, err error) error {
	if err == nil {
		return nil
	}
	var re *resolve.Error
	if errors.As(err, &re) {
		switch re.Result.Code {
		case 700, 611:
			return &net.DNSError{Err: re.Result.Text, Name: name, IsNotFound: true}
		}
		return &net.DNSError{Err: re.Result.Text, Name: name, IsTemporary: true}
	}
	// A context deadline or cancellation: the check ran out of time.
	return &net.DNSError{Err: err.Error(), Name: name, IsTimeout: true, IsTemporary: true}
}
