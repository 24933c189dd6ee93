package resolve

import (
	"errors"
	"fmt"
	"golang.org/x/net/idna"
	"net/netip"
	"strings"
)

// maxDomain is the longest host name in text form: 255 octets on the wire
// (RFC 1035 §2.3.4) less the length octets and the root.
const maxDomain = 253

// normalizeDomain turns the domain part of an address into what is asked
// of DNS: lower-case A-labels without the final dot; or, for an address
// literal (RFC 5321 §4.1.3), the address. An ASCII domain is only held to
// the LDH rule (RFC 1123 §2.1), since DNS itself says whether an odd but
// well-formed name exists and 611 is permanent.
func normalizeDomain(s string) (string, netip.Addr, error) {
	if strings.HasPrefix(s, "[") {
		ip, err := parseLiteral(s)
		return "", ip, err
	}
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", netip.Addr{}, errors.New("empty domain")
	}
	if !isASCII(s) {
		a, err := toASCII(s)
		if err != nil {
			return "", netip.Addr{}, err
		}
		s = a
	}
	s = strings.ToLower(s)
	if err := checkHostName(s); err != nil {
		return "", netip.Addr{}, err
	}
	return s, netip.Addr{}, nil
}

// parseLiteral reads "[192.0.2.1]" or "[IPv6:2001:db8::1]"; general
// address literals ("[tag:…]") name no transport hikyaku has.
func parseLiteral(s string) (netip.Addr, error) {
	if !strings.HasSuffix(s, "]") {
		return netip.Addr{}, fmt.Errorf("address literal %q is not closed", s)
	}
	inner := s[1 : len(s)-1]
	want4 := true
	if tag, rest, ok := strings.Cut(inner, ":"); ok {
		if !strings.EqualFold(tag, "IPv6") {
			return netip.Addr{}, fmt.Errorf("address literal %q: unknown tag %q", s, tag)
		}
		inner, want4 = rest, false
	}
	ip, err := netip.ParseAddr(inner)
	if err != nil || ip.Zone() != "" || ip.Is4() != want4 {
		return netip.Addr{}, fmt.Errorf("address literal %q is neither [IPv4] nor [IPv6:address]", s)
	}
	return ip.Unmap(), nil
}

// checkHostName applies the LDH rule to a lower-case ASCII name: labels of
// 1–63 letters, digits and inner hyphens, 253 octets in all, and a last
// label that is not all digits (RFC 3696 §2), so "192.0.2.1" without
// brackets is not taken for a name.
func checkHostName(s string) error {
	if len(s) > maxDomain {
		return fmt.Errorf("domain is %d octets long, over %d", len(s), maxDomain)
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return fmt.Errorf("domain %q has a label of %d octets", s, len(l))
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("domain %q has a label starting or ending with a hyphen", s)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("domain %q has the character %q, not allowed in a host name", s, c)
			}
		}
	}
	last := labels[len(labels)-1]
	if strings.Trim(last, "0123456789") == "" {
		return fmt.Errorf("domain %q ends in an all-numeric label (an IP address needs brackets)", s)
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// canonical is the form names are compared in: lower case, no final dot.
func canonical(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// toASCII would turn U-labels into A-labels with IDNA2008's lookup profile
// (RFC 5891 §5.5, golang.org/x/net/idna's Lookup). That package needs
// golang.org/x/text, which go.mod does not hold yet, so until it does a
// U-label domain is 611 rather than a guess at the mapping.
func toASCII(s string) (string, error) {
	// IDNA2008 with the lookup profile (UTS #46 mapping), as docs/spec.md §3 asks.
	a, err := idna.Lookup.ToASCII(s)
	if err != nil {
		return "", fmt.Errorf("domain %q is not a valid internationalized domain name: %v", s, err)
	}
	return a, nil
}
