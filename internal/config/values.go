package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// sizeUnits are the units a size may carry, lower-cased. Decimal and binary
// units are both accepted because people write both; "M" or "K" alone are
// not, because nobody can tell which of the two they mean.
var sizeUnits = map[string]int64{
	"":    1,
	"b":   1,
	"kb":  1000,
	"kib": 1 << 10,
	"mb":  1000 * 1000,
	"mib": 1 << 20,
	"gb":  1000 * 1000 * 1000,
	"gib": 1 << 30,
}

// ParseSize reads a byte count: digits, then optionally spaces and one of
// B, KB, KiB, MB, MiB, GB, GiB in any case ("25MiB", "10 mb", "4096").
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	mult, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if i == 0 || !ok {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return Size(n * mult), nil
}

// String writes the size in the largest unit that divides it exactly,
// binary units first ("25MiB", "10MB", "1000B"), so that it reads back
// through ParseSize to the same value.
func (s Size) String() string {
	if s == 0 {
		return "0B"
	}
	for _, u := range []struct {
		name string
		n    Size
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}} {
		if s%u.n == 0 {
			return strconv.FormatInt(int64(s/u.n), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// ParseDuration reads a Go duration ("90s", "5m", "1h30m") that may start
// with a number of days ("5d", "1d12h"), since queue lifetimes are usually
// said in days. Negative durations are refused: no setting means "before".
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	var days time.Duration
	rest := t
	if i > 0 && i < len(t) && t[i] == 'd' {
		n, err := strconv.ParseInt(t[:i], 10, 64)
		if err != nil || n > int64(math.MaxInt64/(24*time.Hour)) {
			return 0, fmt.Errorf("%q is too long", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		rest = t[i+1:]
		if rest == "" {
			return Duration(days), nil
		}
		if rest[0] < '0' || rest[0] > '9' {
			// "5d-1h" or "5dx": a sign or unit after the days is not a duration.
			return 0, fmt.Errorf("%q is not a duration", s)
		}
	}
	d, err := time.ParseDuration(rest)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	if d > math.MaxInt64-days {
		return 0, fmt.Errorf("%q is too long", s)
	}
	return Duration(days + d), nil
}

// String writes the duration the way people write it in the file ("5m",
// "2d", "1d12h") and the way ParseDuration reads it back.
func (d Duration) String() string {
	v := time.Duration(d)
	if v <= 0 {
		return v.String()
	}
	const day = 24 * time.Hour
	out := ""
	if v >= day {
		out = strconv.FormatInt(int64(v/day), 10) + "d"
		v %= day
		if v == 0 {
			return out
		}
	}
	s := v.String()
	// time.Duration writes 5m as "5m0s" and 1h as "1h0m0s"; drop the zeros.
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return out + s
}

// checkDomain accepts an ASCII host name: dot-separated labels of letters,
// digits and hyphens (RFC 1123 §2.1, RFC 5321 §4.1.2 Domain), each 1-63
// octets, 253 in all, no trailing dot. Internationalized names must be
// written as A-labels ("xn--..."), which is what goes on the wire.
func checkDomain(s string) error {
	switch {
	case s == "":
		return errors.New("is empty; a domain name is needed")
	case len(s) > 253:
		return fmt.Errorf("%q is longer than 253 characters", s)
	case strings.HasSuffix(s, "."):
		return fmt.Errorf("%q ends with a dot; write it without", s)
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return fmt.Errorf("%q is an IP address, not a domain name", s)
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" {
			return fmt.Errorf("%q has an empty label", s)
		}
		if len(l) > 63 {
			return fmt.Errorf("%q has a label longer than 63 characters", s)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("%q has a label that starts or ends with a hyphen", s)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
			case c >= 0x80:
				return fmt.Errorf("%q is not ASCII; write it as an A-label (xn--...)", s)
			default:
				return fmt.Errorf("%q is not a valid domain name (only letters, digits, hyphens and dots)", s)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("%q ends in an all-numeric label, which no domain name does", s)
	}
	return nil
}

// checkListen accepts host:port where host is empty (every address) or an IP
// address and port is a number. Host names are refused: resolving them
// would consult the system resolver, and a name can stand for several
// addresses, so which socket gets bound would be a guess.
func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("%q: host must be an IP address or empty, not %q", s, host)
		}
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", s, port)
	}
	return nil
}

// parseNetwork reads a CIDR prefix or a single address (taken as /32 or
// /128). A prefix with host bits set ("10.1.2.3/8") is masked, as every
// router does; zones are refused because they name an interface, not a
// network.
func parseNetwork(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a network (CIDR such as \"192.0.2.0/24\" or an IP address)", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not a network (CIDR such as \"192.0.2.0/24\" or an IP address)", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
