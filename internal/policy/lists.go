package policy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/idna"

	"github.com/hikyaku/hikyaku/internal/protocol"
)

// Action is what a list says of a client, name or address.
type Action int

const (
	None  Action = iota // no rule matches
	Allow               // an allow rule decides
	Deny                // a deny rule decides
)

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	}
	return "none"
}

// Verdict is a list's answer and the rule that gave it.
type Verdict struct {
	Action  Action
	Rule    string // "file:line" of the deciding rule; "" for None
	Pattern string // the deciding rule's pattern, for logs
}

// Lists is the rule set of one list file. It is safe for concurrent use;
// a nil *Lists answers None to everything.
type Lists struct {
	path string
	now  func() time.Time // tests move the clock

	rules     atomic.Pointer[ruleset]
	nextCheck atomic.Int64 // unix nanoseconds before which the file is not looked at

	mu      sync.Mutex // serialises reading the file
	stamp   fileStamp
	log     *slog.Logger
	lastErr error
}

// fileStamp says whether the file changed since it was read.
type fileStamp struct {
	exists bool
	mtime  time.Time
	size   int64
}

// checkEvery bounds how often a question may stat the file.
const checkEvery = time.Second

// LoadLists reads the list file at path. A missing file gives empty lists
// (and is read once it appears); a line that does not parse is an error
// naming file:line.
func LoadLists(path string) (*Lists, error) {
	l := &Lists{path: path, now: time.Now, log: slog.New(slog.DiscardHandler)}
	if err := l.Reload(); err != nil {
		return nil, err
	}
	return l, nil
}

// SetLogger sets where failed automatic reloads are reported.
func (l *Lists) SetLogger(log *slog.Logger) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if log != nil {
		l.log = log
	}
}

// Err is the error of the last read of the file, nil when it parsed.
func (l *Lists) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastErr
}

// Reload reads the file now. On error the rules in force stay.
func (l *Lists) Reload() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reloadLocked()
}

func (l *Lists) reloadLocked() error {
	l.nextCheck.Store(l.now().Add(checkEvery).UnixNano())
	st, err := stat(l.path)
	if err != nil {
		l.lastErr = err
		return err
	}
	var rs *ruleset
	if st.exists {
		data, err := os.ReadFile(l.path)
		if errors.Is(err, fs.ErrNotExist) {
			st = fileStamp{}
		} else if err != nil {
			l.lastErr = fmt.Errorf("policy: %w", err)
			return l.lastErr
		}
		if rs, err = parse(l.path, data); err != nil {
			l.lastErr = err
			l.stamp = st // do not re-read the same broken file every second
			return err
		}
	}
	if rs == nil {
		rs = &ruleset{}
	}
	l.rules.Store(rs)
	l.stamp = st
	l.lastErr = nil
	return nil
}

func stat(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileStamp{}, nil
	}
	if err != nil {
		return fileStamp{}, fmt.Errorf("policy: %w", err)
	}
	return fileStamp{exists: true, mtime: fi.ModTime(), size: fi.Size()}, nil
}

// current is the rule set to answer with, re-read first when the file
// changed and a second has passed since the last look.
func (l *Lists) current() *ruleset {
	if l == nil {
		return &ruleset{} // no list file configured
	}
	now := l.now().UnixNano()
	next := l.nextCheck.Load()
	if now >= next && l.nextCheck.CompareAndSwap(next, now+int64(checkEvery)) {
		l.mu.Lock()
		st, err := stat(l.path)
		if err == nil && st != l.stamp {
			if err := l.reloadLocked(); err != nil {
				l.log.Warn("policy: list file not reloaded, the previous rules stay in force", "err", err)
			}
		}
		l.mu.Unlock()
	}
	return l.rules.Load()
}

// Client says what the lists say of a client address.
func (l *Lists) Client(ip netip.Addr) Verdict { return l.current().client(ip) }

// Helo says what the lists say of a HELO/EHLO name.
func (l *Lists) Helo(name string) Verdict { return l.current().helo(name) }

// Sender says what the lists say of a MAIL FROM address ("" is <>).
func (l *Lists) Sender(addr string) Verdict { return l.current().sender.match(addr) }

// Recipient says what the lists say of a RCPT TO address.
func (l *Lists) Recipient(addr string) Verdict { return l.current().rcpt.match(addr) }

// parse reads the whole file; name is used in rule and error positions.
func parse(name string, data []byte) (*ruleset, error) {
	rs := &ruleset{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64*1024)
	n := 0
	for sc.Scan() {
		n++
		r, ok, err := parseLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, n, err)
		}
		if ok {
			r.pos = fmt.Sprintf("%s:%d", name, n)
			rs.add(r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %v", name, n+1, err)
	}
	return rs, nil
}

// rule is one parsed line.
type rule struct {
	action  Action
	kind    string // client, helo, sender, rcpt
	pattern string // as normalised
	prefix  netip.Prefix
	pos     string
}

// String is the rule as a line of the file.
func (r rule) String() string {
	return r.action.String() + " " + r.kind + " " + r.pattern
}

func parseLine(line string) (rule, bool, error) {
	fields := strings.Fields(line)
	for i, f := range fields {
		if strings.HasPrefix(f, "#") {
			fields = fields[:i]
			break
		}
	}
	if len(fields) == 0 {
		return rule{}, false, nil
	}
	if len(fields) != 3 {
		return rule{}, false, fmt.Errorf("want \"allow|deny KIND PATTERN\", got %d fields", len(fields))
	}
	var r rule
	switch strings.ToLower(fields[0]) {
	case "allow":
		r.action = Allow
	case "deny":
		r.action = Deny
	default:
		return rule{}, false, fmt.Errorf("unknown action %q (want allow or deny)", fields[0])
	}
	pat := fields[2]
	switch strings.ToLower(fields[1]) {
	case "client":
		r.kind = "client"
		p, err := parsePrefix(pat)
		if err != nil {
			return rule{}, false, err
		}
		r.prefix, r.pattern = p, p.String()
	case "helo", "ehlo":
		r.kind = "helo"
		if isGlob(pat) {
			r.pattern = strings.ToLower(pat)
		} else {
			n, err := normName(pat)
			if err != nil {
				return rule{}, false, err
			}
			r.pattern = n
		}
	case "sender", "rcpt", "recipient":
		r.kind = "sender"
		if k := strings.ToLower(fields[1]); k != "sender" {
			r.kind = "rcpt"
		}
		p, err := normAddrPattern(pat)
		if err != nil {
			return rule{}, false, err
		}
		r.pattern = p
	default:
		return rule{}, false, fmt.Errorf("unknown kind %q (want client, helo, sender or rcpt)", fields[1])
	}
	return r, true, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad network %q: %v", s, err)
		}
		if p.Addr().Is4In6() {
			a := p.Addr().Unmap()
			bits := p.Bits() - 96
			if bits < 0 {
				return netip.Prefix{}, fmt.Errorf("bad network %q: an IPv4-mapped prefix shorter than /96", s)
			}
			p = netip.PrefixFrom(a, bits)
		}
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("bad client address %q (want an IP address or prefix)", s)
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

// normName is the compared form of a host name or address literal.
func normName(s string) (string, error) {
	s = strings.TrimSuffix(strings.ToLower(s), ".")
	if s == "" {
		return "", errors.New("empty name")
	}
	if strings.HasSuffix(s, ".") {
		// Only one final dot is the root; "a.." has an empty label, and
		// taking it as "a." would not read back the same.
		return "", errors.New("empty label at the end of the name")
	}
	if strings.HasPrefix(s, "[") {
		return s, nil
	}
	return toASCII(s)
}

func toASCII(s string) (string, error) {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			a, err := idna.Lookup.ToASCII(s)
			if err != nil {
				return "", fmt.Errorf("bad domain %q: %v", s, err)
			}
			return a, nil
		}
	}
	return s, nil
}

// normAddrPattern checks and normalises a sender/rcpt pattern.
func normAddrPattern(p string) (string, error) {
	switch {
	case p == "<>":
		return p, nil
	case strings.HasPrefix(p, "@"):
		d := p[1:]
		if isGlob(d) {
			return "@" + strings.ToLower(d), nil
		}
		n, err := normName(d)
		if err != nil || strings.ContainsAny(n, "@<>") {
			return "", fmt.Errorf("bad domain pattern %q", p)
		}
		return "@" + n, nil
	case isGlob(p):
		return strings.ToLower(p), nil
	}
	a, ok := normAddr(p)
	if !ok {
		return "", fmt.Errorf("bad address %q (want local@domain, @domain, <> or a glob)", p)
	}
	return a, nil
}

// normAddr is the compared form of an address: lower case, the domain
// without a final dot and in A-labels. ok is false without a domain.
func normAddr(a string) (string, bool) {
	a = strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
	local, domain, ok := protocol.SplitAddress(a)
	if !ok || local == "" || domain == "" {
		return strings.ToLower(a), false
	}
	d, err := normName(domain)
	if err != nil {
		d = strings.ToLower(domain)
	}
	return strings.ToLower(local) + "@" + d, true
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?") }

// Len is the number of rules in force.
func (l *Lists) Len() int { return l.current().n }
