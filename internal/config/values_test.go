package config

import (
	"net/netip"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want Size
		ok   bool
		why  string
	}{
		{"25MiB", 25 << 20, true, "the default's form"},
		{"25 MiB", 25 << 20, true, "a space before the unit is allowed"},
		{"25mib", 25 << 20, true, "units are case-insensitive"},
		{"10MB", 10_000_000, true, "MB is decimal"},
		{"1KiB", 1024, true, "KiB is binary"},
		{"1kb", 1000, true, "KB is decimal"},
		{"3GiB", 3 << 30, true, "GiB"},
		{"2GB", 2_000_000_000, true, "GB"},
		{"512B", 512, true, "B is bytes"},
		{"4096", 4096, true, "no unit means bytes"},
		{" 7 b ", 7, true, "surrounding space is ignored"},
		{"0", 0, true, "zero is a size"},
		{"25 potatoes", 0, false, "unknown unit"},
		{"25M", 0, false, "M alone is ambiguous between MB and MiB"},
		{"1.5GiB", 0, false, "fractions are not accepted; write 1536MiB"},
		{"-5MiB", 0, false, "no size is negative"},
		{"MiB", 0, false, "a unit needs a number"},
		{"", 0, false, "empty"},
		{"9999999999GiB", 0, false, "overflows int64"},
		{"99999999999999999999", 0, false, "overflows int64 without a unit"},
	}
	for _, tc := range cases {
		got, err := ParseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d ok=%v (%s)", tc.in, got, err, tc.want, tc.ok, tc.why)
		}
	}
}

func TestSizeString(t *testing.T) {
	cases := []struct {
		in   Size
		want string
	}{
		{0, "0B"}, {25 << 20, "25MiB"}, {64 << 20, "64MiB"}, {3 << 30, "3GiB"}, {1536, "1536B"},
		{10_000_000, "10MB"}, {1000, "1KB"}, {1023, "1023B"}, {2048, "2KiB"},
	}
	for _, tc := range cases {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(tc.in), got, tc.want)
		}
		if back, err := ParseSize(tc.in.String()); err != nil || back != tc.in {
			t.Errorf("ParseSize(%q) = %d, %v; want it to read back %d", tc.in.String(), back, err, tc.in)
		}
	}
}

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
		why  string
	}{
		{"5m", 5 * time.Minute, true, "Go duration"},
		{"1h30m", 90 * time.Minute, true, "compound Go duration"},
		{"90s", 90 * time.Second, true, "seconds"},
		{"5d", 5 * day, true, "days, for queue lifetimes"},
		{"1d12h", 36 * time.Hour, true, "days then a Go duration"},
		{"0", 0, true, "zero parses; Validate decides whether it is allowed"},
		{" 2d ", 2 * day, true, "surrounding space is ignored"},
		{"5 minutes", 0, false, "English is not a unit"},
		{"5", 0, false, "a number without a unit"},
		{"-1m", 0, false, "negative"},
		{"5d-1h", 0, false, "a sign after the days"},
		{"5dx", 0, false, "garbage after the days"},
		{"d", 0, false, "a unit without a number"},
		{"1.5d", 0, false, "fractional days are not accepted; write 1d12h"},
		{"999999999d", 0, false, "overflows"},
		{"106751d23h47m16s", 106751*day + 23*time.Hour + 47*time.Minute + 16*time.Second, true, "just below the maximum"},
		{"106751d23h47m17s", 0, false, "just above the maximum"},
		{"", 0, false, "empty"},
	}
	for _, tc := range cases {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || got.D() != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v ok=%v (%s)", tc.in, got.D(), err, tc.want, tc.ok, tc.why)
		}
	}
}

func TestDurationString(t *testing.T) {
	cases := []struct {
		in   time.Duration
		want string
	}{
		{5 * time.Minute, "5m"}, {10 * time.Minute, "10m"}, {time.Hour, "1h"}, {90 * time.Minute, "1h30m"},
		{90 * time.Second, "1m30s"}, {48 * time.Hour, "2d"}, {36 * time.Hour, "1d12h"}, {0, "0s"},
		{24*time.Hour + time.Second, "1d1s"}, {1500 * time.Millisecond, "1.5s"},
	}
	for _, tc := range cases {
		if got := Duration(tc.in).String(); got != tc.want {
			t.Errorf("Duration(%v).String() = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := ParseDuration(tc.want); err != nil || back.D() != tc.in {
			t.Errorf("ParseDuration(%q) = %v, %v; want it to read back %v", tc.want, back.D(), err, tc.in)
		}
	}
}

func TestCheckDomain(t *testing.T) {
	cases := []struct {
		in  string
		ok  bool
		why string
	}{
		{"mx.example.test", true, "ordinary"},
		{"localhost", true, "a single label is a host name"},
		{"MX.Example.TEST", true, "case does not matter"},
		{"xn--r8jz45g.example", true, "internationalized names as A-labels"},
		{"a-b.example", true, "inner hyphen"},
		{"3com.example", true, "labels may start with a digit (RFC 1123 §2.1)"},
		{"", false, "empty"},
		{"mx_1.example", false, "underscore is not in host names"},
		{"mx.example.", false, "trailing dot"},
		{"mx..example", false, "empty label"},
		{".example", false, "leading dot"},
		{"-mx.example", false, "leading hyphen"},
		{"mx-.example", false, "trailing hyphen"},
		{"例え.テスト", false, "U-labels go on the wire as A-labels"},
		{"192.0.2.1", false, "an IP address is not a domain"},
		{"::1", false, "nor is an IPv6 address"},
		{"host.123", false, "all-numeric top label"},
		{"bad domain", false, "space"},
		{string(make([]byte, 64)) + ".example", false, "NULs and a 64-octet label"},
	}
	long := ""
	for len(long) < 250 {
		long += "abcdefghi."
	}
	cases = append(cases, struct {
		in  string
		ok  bool
		why string
	}{long + "test", false, "longer than 253"})
	for _, tc := range cases {
		if err := checkDomain(tc.in); (err == nil) != tc.ok {
			t.Errorf("checkDomain(%q) = %v; want ok=%v (%s)", tc.in, err, tc.ok, tc.why)
		}
	}
}

func TestCheckListen(t *testing.T) {
	cases := []struct {
		in  string
		ok  bool
		why string
	}{
		{"127.0.0.1:2525", true, "IPv4"},
		{"[::1]:25", true, "IPv6 in brackets"},
		{":25", true, "every address"},
		{"127.0.0.1:0", true, "port 0 picks a free port (tests)"},
		{"[fe80::1%eth0]:25", true, "a link-local address needs its zone"},
		{"127.0.0.1", false, "no port"},
		{"localhost:25", false, "host names would need a resolver"},
		{"127.0.0.1:smtp", false, "service names would need /etc/services"},
		{"127.0.0.1:65536", false, "port out of range"},
		{"127.0.0.1:+25", false, "signed port"},
		{"127.0.0.1:", false, "empty port"},
		{"::1:25", false, "IPv6 without brackets is ambiguous"},
	}
	for _, tc := range cases {
		if err := checkListen(tc.in); (err == nil) != tc.ok {
			t.Errorf("checkListen(%q) = %v; want ok=%v (%s)", tc.in, err, tc.ok, tc.why)
		}
	}
}

func TestParseNetwork(t *testing.T) {
	cases := []struct {
		in   string
		want string // "" for an error
		why  string
	}{
		{"127.0.0.0/8", "127.0.0.0/8", "CIDR"},
		{"::1/128", "::1/128", "IPv6 CIDR"},
		{"192.0.2.7", "192.0.2.7/32", "a single IPv4 address"},
		{"2001:db8::1", "2001:db8::1/128", "a single IPv6 address"},
		{"10.1.2.3/8", "10.0.0.0/8", "host bits are masked"},
		{"0.0.0.0/0", "0.0.0.0/0", "everything (an open relay, warned about)"},
		{"10.0.0.0/33", "", "prefix too long"},
		{"fe80::1%eth0", "", "zones name an interface"},
		{"example.test", "", "names are not networks"},
		{"10.0.0.0/", "", "missing bits"},
	}
	for _, tc := range cases {
		p, err := parseNetwork(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("parseNetwork(%q) = %v; want an error (%s)", tc.in, p, tc.why)
			}
			continue
		}
		if err != nil || p != netip.MustParsePrefix(tc.want) {
			t.Errorf("parseNetwork(%q) = %v, %v; want %s (%s)", tc.in, p, err, tc.want, tc.why)
		}
	}
}
