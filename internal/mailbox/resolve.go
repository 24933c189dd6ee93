package mailbox

import (
	"fmt"
	"strings"
)

// Kind says what an address is to this host.
type Kind int

const (
	KindUnknown Kind = iota // not ours, or ours but no such user (550 5.1.1)
	KindMailbox             // a local user's mailbox
	KindAlias               // an alias or list: Mailboxes and/or Forwards
	KindMoved               // the user moved (551 5.1.6 please try MovedTo)
)

func (k Kind) String() string {
	switch k {
	case KindMailbox:
		return "mailbox"
	case KindAlias:
		return "alias"
	case KindMoved:
		return "moved"
	}
	return "unknown"
}

// Resolution is where mail for one address goes.
type Resolution struct {
	Kind      Kind
	Mailboxes []string // local mailbox keys "<domain>/<local-part>" (deduplicated)
	Forwards  []string // off-site addresses an alias forwards to (the server answers 251 and relays to them)
	MovedTo   string
	Name      string // user's full name, when Kind == KindMailbox
}

// maxAliasDepth bounds alias nesting; real configurations use two or three.
const maxAliasDepth = 20

const postmaster = "postmaster"

// Resolve says where mail for address goes. The local part is
// case-insensitive; "alice+tag@" falls back to "alice@" when "alice+tag@"
// does not exist; "postmaster@" any local domain (or a bare "postmaster")
// always resolves, to an alias or user if configured, else to the mailbox
// "<first local domain>/postmaster" (RFC 5321 §4.5.1). An alias loop makes
// the address unknown and is logged, since a loop is a configuration error
// that must not turn into a mail storm.
func (d *Directory) Resolve(address string) Resolution {
	r := d.resolve(address)
	// A user added a moment ago ("hikyaku user add", then at once a test
	// mail) must not get 550 until the next periodic reload.
	if r.Kind == KindUnknown && d.reloadOnMiss() {
		r = d.resolve(address)
	}
	return r
}

func (d *Directory) resolve(address string) Resolution {
	addr := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(address), "<"), ">")
	if strings.EqualFold(addr, postmaster) && len(d.domains) > 0 {
		addr = postmaster + "@" + d.domains[0]
	}
	_, domain, ok := splitAddress(addr)
	if !ok || !d.IsLocalDomain(domain) {
		return Resolution{}
	}
	addr = normAddress(addr)

	d.mu.RLock()
	defer d.mu.RUnlock()
	u, a, mbox := d.find(addr)
	switch {
	case u != nil && u.MovedTo != "":
		return Resolution{Kind: KindMoved, MovedTo: u.MovedTo}
	case u != nil:
		return Resolution{Kind: KindMailbox, Mailboxes: []string{mailboxKey(u.Address)}, Name: u.Name}
	case mbox != "":
		return Resolution{Kind: KindMailbox, Mailboxes: []string{mbox}}
	case a == nil:
		return Resolution{}
	}
	e := expander{d: d, onPath: map[string]bool{}, done: map[string]bool{}, seen: map[string]bool{}}
	if err := e.alias(a, 0); err != nil {
		d.log.Load().Error("alias cannot be expanded; treating the address as unknown",
			"address", addr, "alias", a.Address, "err", err.Error())
		return Resolution{}
	}
	if len(e.res.Mailboxes) == 0 && len(e.res.Forwards) == 0 {
		d.log.Load().Error("alias leads to no mailbox and no forward; treating the address as unknown",
			"address", addr, "alias", a.Address)
		return Resolution{}
	}
	e.res.Kind = KindAlias
	return e.res
}

// find looks addr (normalised) up: exact user or alias, then without the
// "+tag" subaddress, then the postmaster rule. Only one of the results is
// set; mbox is the synthesized default postmaster mailbox.
func (d *Directory) find(addr string) (u *User, a *Alias, mbox string) {
	if u, a := d.users[addr], d.aliases[addr]; u != nil || a != nil {
		return u, a, ""
	}
	local, domain, _ := splitAddress(addr)
	if base, _, ok := strings.Cut(local, "+"); ok && base != "" {
		local = base
		addr = base + "@" + domain
		if u, a := d.users[addr], d.aliases[addr]; u != nil || a != nil {
			return u, a, ""
		}
	}
	if local != postmaster || len(d.domains) == 0 {
		return nil, nil, ""
	}
	pm := postmaster + "@" + d.domains[0]
	if u, a := d.users[pm], d.aliases[pm]; u != nil || a != nil {
		return u, a, ""
	}
	return nil, nil, d.domains[0] + "/" + postmaster
}

// expander walks the alias graph depth first. onPath holds the aliases on
// the current path (a revisit is a loop); done holds finished ones, so a
// diamond (two aliases sharing a member) is expanded once and is no loop.
type expander struct {
	d      *Directory
	onPath map[string]bool
	done   map[string]bool
	seen   map[string]bool // mailbox keys and forwards already added
	res    Resolution
}

func (e *expander) alias(a *Alias, depth int) error {
	if e.onPath[a.Address] {
		return fmt.Errorf("alias loop through %s", a.Address)
	}
	if e.done[a.Address] {
		return nil
	}
	if depth > maxAliasDepth {
		return fmt.Errorf("aliases nested deeper than %d at %s", maxAliasDepth, a.Address)
	}
	e.onPath[a.Address] = true
	for _, t := range a.Targets {
		if err := e.target(a.Address, t, depth); err != nil {
			return err
		}
	}
	delete(e.onPath, a.Address)
	e.done[a.Address] = true
	return nil
}

func (e *expander) target(from, t string, depth int) error {
	_, domain, ok := splitAddress(t)
	if !ok {
		return nil // rejected at load; defensive
	}
	if !e.d.IsLocalDomain(domain) {
		e.forward(t)
		return nil
	}
	u, a, mbox := e.d.find(normAddress(t))
	switch {
	case u != nil && u.MovedTo != "":
		// We are the sender here; follow the forwarding address the
		// user left rather than dropping list mail.
		e.forward(u.MovedTo)
	case u != nil:
		e.mailbox(mailboxKey(u.Address))
	case mbox != "":
		e.mailbox(mbox)
	case a != nil:
		return e.alias(a, depth+1)
	default:
		e.d.log.Load().Warn("alias target does not exist; skipped", "alias", from, "target", t)
	}
	return nil
}

func (e *expander) mailbox(key string) {
	if !e.seen[key] {
		e.seen[key] = true
		e.res.Mailboxes = append(e.res.Mailboxes, key)
	}
}

func (e *expander) forward(addr string) {
	k := "fwd:" + normAddress(addr)
	if !e.seen[k] {
		e.seen[k] = true
		e.res.Forwards = append(e.res.Forwards, addr)
	}
}

// Expand returns the members of a mailing list for EXPN, as
// "Full Name <addr>" for local users with a name, else "<addr>". Nested
// lists are shown as their own address (a client may EXPN them in turn).
// A bare name ("team") means the list in the first local domain. It
// returns false when list is not a List alias.
func (d *Directory) Expand(list string) ([]string, bool) {
	addr := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(list), "<"), ">")
	if !strings.Contains(addr, "@") && len(d.domains) > 0 {
		addr += "@" + d.domains[0]
	}
	addr = normAddress(addr)
	d.mu.RLock()
	defer d.mu.RUnlock()
	a := d.aliases[addr]
	if a == nil || !a.List {
		return nil, false
	}
	out := make([]string, 0, len(a.Targets))
	for _, t := range a.Targets {
		if u := d.users[normAddress(t)]; u != nil && u.Name != "" {
			out = append(out, u.Name+" <"+u.Address+">")
		} else {
			out = append(out, "<"+t+">")
		}
	}
	return out, true
}

// CheckPassword reports whether password is the user's. It takes as long
// for an unknown user or one without a password as for a wrong password,
// so AUTH cannot be used to discover accounts. The error is for a broken
// stored hash (the credential store is "down": 454 4.7.0).
func (d *Directory) CheckPassword(address, password string) (bool, error) {
	addr := normAddress(strings.TrimSpace(address))
	d.mu.RLock()
	hash := ""
	if u := d.users[addr]; u != nil {
		hash = u.PasswordHash
	}
	d.mu.RUnlock()
	if hash == "" {
		verifyPassword(dummyHash(), password)
		return false, nil
	}
	ok, err := verifyPassword(hash, password)
	if err != nil {
		return false, fmt.Errorf("the stored password hash of %s is unusable: %w", addr, err)
	}
	return ok, nil
}
