package policy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/hikyaku/hikyaku/internal/resolve"
)

// DNSBL asks DNS block lists about client addresses (RFC 5782): the
// address reversed (IPv4 octets, IPv6 nibbles) under each zone, an A
// question. Lookups go through the resolver, which caches by TTL.
type DNSBL struct {
	Zones    []string
	Resolver *resolve.Resolver
}

// Check asks every zone at once and reports the first zone, in the
// configured order, that lists ip, with the zone's TXT text as the reason
// when it has one.
//
// An answer in 127.0.0.0/8 means listed (RFC 5782 §2.1), except
// 127.255.255.0/24, which lists such as Spamhaus use to say they refused
// the query (an open resolver, too many queries): that is an error, not a
// listing. NXDOMAIN means not listed. A failed lookup is an error and never
// "listed": callers fail open and log it. When some zone lists ip, err is
// nil even if other zones failed.
func (d *DNSBL) Check(ctx context.Context, ip netip.Addr) (listed bool, zone, reason string, err error) {
	if d == nil || len(d.Zones) == 0 {
		return false, "", "", nil
	}
	if d.Resolver == nil {
		return false, "", "", errors.New("policy: DNSBL without a resolver")
	}
	rev, err := reverse(ip)
	if err != nil {
		return false, "", "", err
	}
	type answer struct {
		listed bool
		err    error
	}
	answers := make([]answer, len(d.Zones))
	var wg sync.WaitGroup
	for i, z := range d.Zones {
		wg.Go(func() {
			l, err := d.ask(ctx, rev+"."+zoneName(z))
			answers[i] = answer{l, err}
		})
	}
	wg.Wait()

	var errs []error
	for i, a := range answers {
		if a.listed {
			z := zoneName(d.Zones[i])
			return true, z, d.reason(ctx, rev+"."+z), nil
		}
		if a.err != nil {
			errs = append(errs, a.err)
		}
	}
	return false, "", "", errors.Join(errs...)
}

func zoneName(z string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(z), "."))
}

func (d *DNSBL) ask(ctx context.Context, name string) (bool, error) {
	addrs, err := d.Resolver.LookupAddrs(ctx, name)
	if err != nil {
		var re *resolve.Error
		if errors.As(err, &re) && re.Result.Code == 700 {
			return false, nil
		}
		return false, fmt.Errorf("policy: DNSBL %s: %w", name, err)
	}
	var refused []string
	for _, a := range addrs {
		if !a.Is4() || a.As4()[0] != 127 {
			continue
		}
		if b := a.As4(); b[1] == 255 && b[2] == 255 {
			refused = append(refused, a.String())
			continue
		}
		return true, nil
	}
	if len(refused) > 0 {
		return false, fmt.Errorf("policy: DNSBL %s refused the query (answered %s)", name, strings.Join(refused, ", "))
	}
	return false, nil
}

// reason is the zone's TXT text for a listed address, "" when it gives
// none or the lookup fails (the listing stands either way).
func (d *DNSBL) reason(ctx context.Context, name string) string {
	txts, err := d.Resolver.LookupTXT(ctx, name)
	if err != nil {
		return ""
	}
	return strings.Join(txts, "; ")
}

// reverse is the DNSBL query label sequence for ip: "2.0.0.127" for
// 127.0.0.2, 32 nibbles for IPv6 (RFC 5782 §2.1, §2.4).
func reverse(ip netip.Addr) (string, error) {
	if !ip.IsValid() {
		return "", errors.New("policy: DNSBL: invalid IP address")
	}
	ip = ip.Unmap()
	var b strings.Builder
	if ip.Is4() {
		a := ip.As4()
		fmt.Fprintf(&b, "%d.%d.%d.%d", a[3], a[2], a[1], a[0])
		return b.String(), nil
	}
	a := ip.As16()
	const hex = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		if i != 15 {
			b.WriteByte('.')
		}
		b.WriteByte(hex[a[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hex[a[i]>>4])
	}
	return b.String(), nil
}
