package policy

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const sampleList = `# sample rules
deny  client 192.0.2.0/24
allow client 192.0.2.7          # the one good host of a bad network
deny  client 198.51.100.0/24
allow client 198.51.100.0/24    # same level: allow wins
deny  client 2001:db8:bad::/48
deny  client ::ffff:203.0.113.9

deny  helo   *.example.net
allow helo   good.example.net
deny  helo   localhost
deny  helo   [192.0.2.1]
deny  helo   bücher.example

deny  sender spam@example.org
deny  sender @example.net
allow sender boss@example.net
deny  sender @*.spam.example
deny  sender bulk*@*
allow sender bulk-ok@*
deny  sender <>
allow sender @allowed.example
deny  sender joe@allowed.example

DENY  RCPT   @closed.example
allow recipient postmaster@closed.example
`

func writeList(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lists.txt")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, text string) *Lists {
	t.Helper()
	l, err := LoadLists(writeList(t, text))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestVerdicts(t *testing.T) {
	l := load(t, sampleList)
	cases := []struct {
		name   string
		ask    func() Verdict
		want   Action
		line   int
		reason string
	}{
		{"network denied", func() Verdict { return l.Client(netip.MustParseAddr("192.0.2.8")) }, Deny, 2, "a /24 deny covers its hosts"},
		{"host allowed in denied network", func() Verdict { return l.Client(netip.MustParseAddr("192.0.2.7")) }, Allow, 3, "a longer prefix is a more specific level"},
		{"allow wins at same level", func() Verdict { return l.Client(netip.MustParseAddr("198.51.100.1")) }, Allow, 5, "the documented tie rule"},
		{"ipv6 prefix", func() Verdict { return l.Client(netip.MustParseAddr("2001:db8:bad::25")) }, Deny, 6, "IPv6 networks work like IPv4"},
		{"mapped rule matches plain v4", func() Verdict { return l.Client(netip.MustParseAddr("203.0.113.9")) }, Deny, 7, "a rule written as ::ffff:a.b.c.d is the IPv4 address"},
		{"mapped client matches v4 rule", func() Verdict { return l.Client(netip.MustParseAddr("::ffff:192.0.2.8")) }, Deny, 2, "a dual-stack listener reports IPv4 clients mapped"},
		{"unlisted client", func() Verdict { return l.Client(netip.MustParseAddr("203.0.113.1")) }, None, 0, "no rule, no verdict"},
		{"invalid client", func() Verdict { return l.Client(netip.Addr{}) }, None, 0, "the zero Addr must not panic"},

		{"helo glob", func() Verdict { return l.Helo("Mail.Example.NET.") }, Deny, 9, "globs compare case-insensitively, final dot ignored"},
		{"helo exact beats glob", func() Verdict { return l.Helo("good.example.net") }, Allow, 10, "an exact name is more specific than a glob"},
		{"helo glob needs a label", func() Verdict { return l.Helo("example.net") }, None, 0, "*.example.net does not cover example.net itself"},
		{"helo exact", func() Verdict { return l.Helo("LOCALHOST") }, Deny, 11, "a common forged HELO"},
		{"helo literal", func() Verdict { return l.Helo("[192.0.2.1]") }, Deny, 12, "address literals are names too"},
		{"helo idn", func() Verdict { return l.Helo("xn--bcher-kva.example") }, Deny, 13, "a Unicode rule matches its A-label form"},

		{"sender exact", func() Verdict { return l.Sender("Spam@Example.ORG") }, Deny, 15, "addresses compare case-insensitively"},
		{"sender other user same domain", func() Verdict { return l.Sender("ham@example.org") }, None, 0, "an exact rule is one address only"},
		{"sender domain", func() Verdict { return l.Sender("anyone@example.net") }, Deny, 16, "@domain covers the whole domain"},
		{"sender exact beats domain", func() Verdict { return l.Sender("boss@example.net") }, Allow, 17, "the allowed boss of a denied domain"},
		{"sender domain is not subdomains", func() Verdict { return l.Sender("a@sub.example.net") }, None, 0, "@domain is exactly that domain"},
		{"sender domain glob", func() Verdict { return l.Sender("x@a.b.spam.example") }, Deny, 18, "@*.domain covers the subdomains"},
		{"sender address glob", func() Verdict { return l.Sender("bulk42@anywhere.example") }, Deny, 19, "globs on the whole address"},
		{"sender allow glob wins", func() Verdict { return l.Sender("bulk-ok@anywhere.example") }, Allow, 20, "two matching globs are one level: allow wins"},
		{"null sender", func() Verdict { return l.Sender("") }, Deny, 21, "<> is listed by its own pattern"},
		{"null sender bracketed", func() Verdict { return l.Sender("<>") }, Deny, 21, "callers may pass the path as written"},
		{"exact deny beats domain allow", func() Verdict { return l.Sender("joe@allowed.example") }, Deny, 23, "a more specific deny beats a less specific allow"},
		{"domain allow", func() Verdict { return l.Sender("ann@allowed.example") }, Allow, 22, "allow by domain"},
		{"sender trailing dot", func() Verdict { return l.Sender("x@example.net.") }, Deny, 16, "a final dot does not dodge a domain rule"},

		{"rcpt domain", func() Verdict { return l.Recipient("a@closed.example") }, Deny, 25, "kind and action are case-insensitive; rcpt rules"},
		{"rcpt exception", func() Verdict { return l.Recipient("Postmaster@closed.example") }, Allow, 26, "'recipient' is a synonym of rcpt"},
		{"sender rules are not rcpt rules", func() Verdict { return l.Recipient("spam@example.org") }, None, 0, "kinds are separate lists"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := c.ask()
			if v.Action != c.want {
				t.Fatalf("action %v, want %v (%s): %+v", v.Action, c.want, c.reason, v)
			}
			if c.line > 0 && !strings.HasSuffix(v.Rule, ":"+strconv.Itoa(c.line)) {
				t.Errorf("rule %q, want line %d", v.Rule, c.line)
			}
			if c.want == None && v != (Verdict{}) {
				t.Errorf("verdict %+v, want zero", v)
			}
		})
	}
	if l.Len() != 22 {
		t.Errorf("Len %d, want 22", l.Len())
	}
}

func TestNilLists(t *testing.T) {
	var l *Lists
	if l.Client(netip.MustParseAddr("192.0.2.1")).Action != None || l.Sender("a@b.c").Action != None || l.Len() != 0 {
		t.Fatal("a nil *Lists must answer None")
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"unknown action", "block client 192.0.2.1", "lists.txt:1: unknown action"},
		{"unknown kind", "# c\ndeny ip 192.0.2.1", "lists.txt:2: unknown kind"},
		{"missing pattern", "deny client", "lists.txt:1: want"},
		{"extra field", "deny client 192.0.2.1 extra", "lists.txt:1: want"},
		{"bad address", "\n\ndeny client 192.0.2.300", "lists.txt:3: bad client address"},
		{"bad prefix", "deny client 192.0.2.0/33", "lists.txt:1: bad network"},
		{"zone not allowed", "deny client fe80::1%eth0", "bad client address"},
		{"sender without domain", "deny sender joe", "bad address"},
		{"sender empty domain", "deny sender joe@", "bad address"},
		{"bad domain pattern", "deny sender @a@b", "bad domain pattern"},
		{"bad idn", "deny helo -ü.example", "bad domain"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadLists(writeList(t, c.text))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.txt")
	l, err := LoadLists(path)
	if err != nil {
		t.Fatalf("a missing file is empty lists, got %v", err)
	}
	if v := l.Client(netip.MustParseAddr("192.0.2.1")); v.Action != None {
		t.Fatalf("empty lists gave %+v", v)
	}
	// It is read once it appears.
	clock := &fakeClock{t: time.Now()}
	l.now = clock.Now
	os.WriteFile(path, []byte("deny client 192.0.2.1\n"), 0o644)
	clock.Advance(2 * time.Second)
	if v := l.Client(netip.MustParseAddr("192.0.2.1")); v.Action != Deny {
		t.Fatalf("after the file appeared: %+v", v)
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestAutoReload checks the once-a-second mtime check: a change is seen
// after the second has passed, not before; a broken edit keeps the old
// rules and is reported; fixing it takes effect.
func TestAutoReload(t *testing.T) {
	path := writeList(t, "deny client 192.0.2.1\n")
	l, err := LoadLists(path)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()}
	l.now = clock.Now
	l.nextCheck.Store(clock.Now().Add(checkEvery).UnixNano())
	ip := netip.MustParseAddr("192.0.2.1")

	mtime := time.Now().Add(time.Hour) // a different mtime even on coarse file systems
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		mtime = mtime.Add(time.Second)
		os.Chtimes(path, mtime, mtime)
	}

	write("allow client 192.0.2.1\n")
	if v := l.Client(ip); v.Action != Deny {
		t.Fatalf("re-read within the second: %+v", v)
	}
	clock.Advance(checkEvery)
	if v := l.Client(ip); v.Action != Allow {
		t.Fatalf("change not seen after a second: %+v", v)
	}

	write("allow client 192.0.2.1\nthis is not a rule\n")
	clock.Advance(checkEvery)
	if v := l.Client(ip); v.Action != Allow {
		t.Fatalf("a broken file replaced the rules: %+v", v)
	}
	if err := l.Err(); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("Err() = %v, want the broken line", err)
	}

	write("deny client 192.0.2.0/24\n")
	clock.Advance(checkEvery)
	if v := l.Client(ip); v.Action != Deny || l.Err() != nil {
		t.Fatalf("fixed file not taken: %+v, err %v", v, l.Err())
	}

	os.Remove(path)
	clock.Advance(checkEvery)
	if v := l.Client(ip); v.Action != None {
		t.Fatalf("removed file should be empty lists: %+v", v)
	}
}

func TestReloadExplicit(t *testing.T) {
	path := writeList(t, "deny sender a@example.com\n")
	l, err := LoadLists(path)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte("deny sender b@example.com\n"), 0o644)
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	if l.Sender("b@example.com").Action != Deny || l.Sender("a@example.com").Action != None {
		t.Fatal("Reload did not take the new rules at once")
	}
	os.WriteFile(path, []byte("deny sender\n"), 0o644)
	if err := l.Reload(); err == nil {
		t.Fatal("Reload of a broken file gave no error")
	}
	if l.Sender("b@example.com").Action != Deny {
		t.Fatal("a failed Reload dropped the rules in force")
	}
}

// TestConcurrent runs questions and reloads at once for the race detector.
func TestConcurrent(t *testing.T) {
	path := writeList(t, sampleList)
	l, err := LoadLists(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				l.Client(netip.AddrFrom4([4]byte{192, 0, 2, byte(j)}))
				l.Sender("boss@example.net")
				if i == 0 && j%50 == 0 {
					l.Reload()
				}
			}
		})
	}
	wg.Wait()
}

func TestGlob(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"a*b", "ab", true},
		{"a*b", "axxxb", true},
		{"a*b", "axxxbc", false},
		{"*.example.net", "a.b.example.net", true},
		{"*.example.net", "example.net", false},
		{"?x", "ax", true},
		{"?x", "x", false},
		{"a*b*c", "abbbcbc", true},
		{"**", "x", true},
		{"*a*a*a*a*a*b", strings.Repeat("a", 200), false}, // must not go exponential
	}
	for _, c := range cases {
		if got := glob(c.p, c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}

// FuzzParse feeds arbitrary files to the parser: it must not panic, and a
// file that parses must give the same rules when its rules are written
// back out and parsed again.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sampleList))
	f.Add([]byte("deny client ::/0\nallow client 0.0.0.0/0 # all\n"))
	f.Add([]byte("deny sender @*.x\ndeny rcpt *@*\ndeny helo ?\n"))
	f.Add([]byte("allow helo [IPv6:2001:db8::1]\n\xff\xfe\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := parse("f", data)
		if err != nil {
			return
		}
		var lines []string
		collect := func(r *rule) {
			if r != nil {
				lines = append(lines, r.String())
			}
		}
		walk(rs, collect)
		rs2, err := parse("g", []byte(strings.Join(lines, "\n")))
		if err != nil {
			t.Fatalf("rules written back do not parse: %v\n%s", err, strings.Join(lines, "\n"))
		}
		var lines2 []string
		walk(rs2, func(r *rule) {
			if r != nil {
				lines2 = append(lines2, r.String())
			}
		})
		// The walks go through maps, so compare as sets.
		if !sameSet(lines, lines2) {
			t.Fatalf("round trip changed the rules:\n%v\n%v", lines, lines2)
		}
		if rs.n < len(lines) || rs2.n != len(lines) {
			t.Fatalf("rule counts: first %d, written %d, second %d", rs.n, len(lines), rs2.n)
		}
	})
}

func walk(rs *ruleset, f func(*rule)) {
	for _, p := range rs.clients {
		f(p.allow)
		f(p.deny)
	}
	for _, p := range rs.heloExact {
		f(p.allow)
		f(p.deny)
	}
	for _, r := range rs.heloGlobs {
		f(r)
	}
	for _, a := range []addrRules{rs.sender, rs.rcpt} {
		for _, p := range a.exact {
			f(p.allow)
			f(p.deny)
		}
		for _, p := range a.domains {
			f(p.allow)
			f(p.deny)
		}
		for _, r := range a.globs {
			f(r)
		}
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}
