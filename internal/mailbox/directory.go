package mailbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pelletier/go-toml/v2"
	"golang.org/x/sys/unix"
)

// User is a local mailbox, with an optional password for AUTH.
type User struct {
	Address      string // "alice@example.test", stored lower-cased
	Name         string // full name for VRFY ("Alice Example")
	PasswordHash string // "" = mailbox only, cannot AUTH. argon2id PHC string (or bcrypt "$2" when loaded)
	// SCRAMSHA256 and CRAMMD5 are the secrets those mechanisms check,
	// derived from the password when it is set (auth.SCRAMKeys and
	// auth.CRAMKeys in their String form); "" = the mechanism cannot be
	// used by this user.
	SCRAMSHA256 string
	CRAMMD5     string
	Quota       int64  // bytes; 0 = the configured default; negative = unlimited
	MovedTo     string // non-empty: the user moved; RCPT gets 551 5.1.6 "please try <MovedTo>"
}

// Alias maps one local address to others; with List set it is a mailing
// list whose members EXPN may show.
type Alias struct {
	Address string   // "team@example.test" or "postmaster@example.test"
	Targets []string // local users, other aliases (expanded recursively, loops detected), or off-site addresses
	List    bool     // a mailing list: EXPN shows its members (when EXPN is enabled)
}

// fileFormat is users.toml. Keys are snake_case like the main config.
type fileFormat struct {
	User  []fileUser  `toml:"user"`
	Alias []fileAlias `toml:"alias"`
}

type fileUser struct {
	Address      string `toml:"address"`
	Name         string `toml:"name,omitempty"`
	PasswordHash string `toml:"password_hash,omitempty"`
	SCRAMSHA256  string `toml:"scram_sha256,omitempty"`
	CRAMMD5      string `toml:"cram_md5,omitempty"`
	Quota        int64  `toml:"quota,omitempty"`
	MovedTo      string `toml:"moved_to,omitempty"`
}

type fileAlias struct {
	Address string   `toml:"address"`
	Targets []string `toml:"targets"`
	List    bool     `toml:"list,omitempty"`
}

const fileHeader = `# hikyaku local users and aliases. Edit by hand or with
# "hikyaku user ..." / "hikyaku alias ..."; the server finds a new address
# at once and picks up other changes within a second. The tools rewrite
# this file and drop comments.
#
# [[user]]
# address       = "alice@example.test"   # a local domain
# name          = "Alice Example"        # shown by VRFY
# password_hash = "$argon2id$..."        # set with "hikyaku user passwd"; absent = cannot AUTH
# scram_sha256  = "SCRAM-SHA-256$..."    # set with the password (RFC 5803 form)
# cram_md5      = "CRAM-MD5$..."         # only with [auth] cram_md5 = true
# quota         = 104857600              # bytes; 0 or absent = default, -1 = unlimited
# moved_to      = "alice@new.example"    # RCPT answers 551 "please try"
#
# [[alias]]
# address = "team@example.test"
# targets = ["alice@example.test", "bob@elsewhere.example"]
# list    = true                         # a mailing list: EXPN shows members

`

// reloadInterval bounds how often Reload looks at the file.
const reloadInterval = time.Second

// missCheckInterval bounds how often a lookup that found nothing looks at
// the file.
const missCheckInterval = 10 * time.Millisecond

// Directory is the set of local users and aliases, backed by one TOML file.
// Lookups are safe from many goroutines; mutations take a lock file, so a
// CLI and a running server (or two CLIs) never lose each other's changes.
type Directory struct {
	path    string
	domains []string // normalised; domains[0] hosts the default postmaster
	log     atomic.Pointer[slog.Logger]

	mu      sync.RWMutex
	users   map[string]*User  // by lower-cased address
	aliases map[string]*Alias // by lower-cased address
	stamp   fileStamp         // of the file as last read
	racy    bool              // the file was read within its mtime's granularity window
	// badStamp is a broken version of the file, reported once by Reload
	// and not read again until it changes.
	badStamp fileStamp
	// missBadStamp is the broken version a lookup that missed last read.
	missBadStamp fileStamp

	credOpts atomic.Pointer[CredentialOptions]

	nextCheck     atomic.Int64 // unix nanos before which Reload does nothing
	nextMissCheck atomic.Int64 // the same for a lookup that missed
	now           func() time.Time
}

// fileStamp identifies one version of the file cheaply. The inode catches
// our own rename-over writes; size, mtime and ctime catch in-place edits.
type fileStamp struct {
	exists           bool
	dev, ino         uint64
	size             int64
	mtimeNs, ctimeNs int64
}

func stampOf(fi fs.FileInfo) fileStamp {
	st := fileStamp{exists: true, size: fi.Size(), mtimeNs: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.dev, st.ino = uint64(sys.Dev), sys.Ino
		st.ctimeNs = sys.Ctim.Sec*1e9 + sys.Ctim.Nsec
	}
	return st
}

// OpenDirectory reads the directory file at path; a missing file is an
// empty directory (it is created on the first change). localDomains are the
// domains whose addresses this host delivers; the first one hosts the
// default postmaster mailbox.
func OpenDirectory(path string, localDomains []string) (*Directory, error) {
	d := &Directory{path: path, now: time.Now}
	d.log.Store(slog.Default())
	for _, dom := range localDomains {
		dom = normDomain(strings.TrimSpace(dom))
		if dom == "" || slices.Contains(d.domains, dom) {
			continue
		}
		if err := checkDomain(dom); err != nil {
			return nil, fmt.Errorf("local domain %q: %v", dom, err)
		}
		d.domains = append(d.domains, dom)
	}
	if err := d.load(); err != nil {
		return nil, err
	}
	return d, nil
}

// SetLogger sets where the directory reports problems (alias loops, users
// outside the local domains). The default is slog.Default().
func (d *Directory) SetLogger(l *slog.Logger) { d.log.Store(l) }

// Path is the file the directory lives in.
func (d *Directory) Path() string { return d.path }

// IsLocalDomain reports whether mail for domain is delivered here.
func (d *Directory) IsLocalDomain(domain string) bool {
	return slices.Contains(d.domains, normDomain(domain))
}

// Reload re-reads the file if it changed on disk. It is cheap enough to call
// for every RCPT: it looks at the file at most once a second. On a broken
// file it keeps the last good directory and returns the error, once per
// version of the file (the caller may log every error it gets).
func (d *Directory) Reload() error {
	now := d.now()
	if now.UnixNano() < d.nextCheck.Load() {
		return nil
	}
	d.nextCheck.Store(now.Add(reloadInterval).UnixNano())
	st, err := d.statFile()
	if err != nil {
		return err
	}
	d.mu.RLock()
	same := st == d.stamp && !d.racy || st == d.badStamp
	d.mu.RUnlock()
	if same {
		return nil
	}
	err = d.load()
	if err != nil {
		d.mu.Lock()
		d.badStamp = st
		d.mu.Unlock()
	}
	return err
}

// reloadOnMiss reads the file again when it differs from the version last
// read, for a lookup that found nothing, and tells whether it did. Looking
// costs one stat; it is done at most every missCheckInterval so that a
// flood of unknown recipients cannot turn into a flood of stats or reads.
func (d *Directory) reloadOnMiss() bool {
	now := d.now().UnixNano()
	next := d.nextMissCheck.Load()
	if now < next || !d.nextMissCheck.CompareAndSwap(next, now+int64(missCheckInterval)) {
		return false
	}
	st, err := d.statFile()
	if err != nil {
		return false
	}
	d.mu.RLock()
	same := st == d.stamp || st == d.badStamp || st == d.missBadStamp
	d.mu.RUnlock()
	if same {
		return false
	}
	if err := d.load(); err != nil {
		// Reload reports it (badStamp is its own, so that it still does);
		// until the file changes again, misses do not read it.
		d.mu.Lock()
		d.missBadStamp = st
		d.mu.Unlock()
		return false
	}
	return true
}

func (d *Directory) statFile() (fileStamp, error) {
	fi, err := os.Stat(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileStamp{}, nil
	}
	if err != nil {
		return fileStamp{}, fmt.Errorf("cannot look at the user directory: %w", err)
	}
	return stampOf(fi), nil
}

// load reads the file and swaps the new maps in; on any error the old
// contents stay.
func (d *Directory) load() error {
	users, aliases, st, err := d.read()
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.users, d.aliases, d.stamp = users, aliases, st
	// A change made within the same mtime tick as our read, with the same
	// size, would be invisible to the stamp; re-read once more later.
	d.racy = st.exists && d.now().UnixNano()-st.mtimeNs < int64(2*time.Second)
	d.mu.Unlock()
	return nil
}

func (d *Directory) read() (map[string]*User, map[string]*Alias, fileStamp, error) {
	users, aliases := map[string]*User{}, map[string]*Alias{}
	f, err := os.Open(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return users, aliases, fileStamp{}, nil
	}
	if err != nil {
		return nil, nil, fileStamp{}, fmt.Errorf("cannot open the user directory: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fileStamp{}, fmt.Errorf("cannot look at the user directory: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fileStamp{}, fmt.Errorf("cannot read the user directory: %w", err)
	}
	var ff fileFormat
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&ff); err != nil {
		return nil, nil, fileStamp{}, d.decodeError(err)
	}
	log := d.log.Load()
	for i, fu := range ff.User {
		u := User{Address: normAddress(strings.TrimSpace(fu.Address)), Name: fu.Name,
			PasswordHash: fu.PasswordHash, SCRAMSHA256: fu.SCRAMSHA256, CRAMMD5: fu.CRAMMD5,
			Quota: fu.Quota, MovedTo: strings.TrimSpace(fu.MovedTo)}
		if err := d.checkUser(u); err != nil {
			return nil, nil, fileStamp{}, fmt.Errorf("%s: user #%d: %v", d.path, i+1, err)
		}
		if err := checkCredentials(u); err != nil {
			return nil, nil, fileStamp{}, fmt.Errorf("%s: user %s: %v", d.path, u.Address, err)
		}
		if users[u.Address] != nil {
			return nil, nil, fileStamp{}, fmt.Errorf("%s: user %s is listed twice", d.path, u.Address)
		}
		users[u.Address] = &u
	}
	for i, fa := range ff.Alias {
		a := Alias{Address: normAddress(strings.TrimSpace(fa.Address)), List: fa.List}
		for _, t := range fa.Targets {
			a.Targets = append(a.Targets, normTarget(t))
		}
		if err := d.checkAlias(a); err != nil {
			return nil, nil, fileStamp{}, fmt.Errorf("%s: alias #%d: %v", d.path, i+1, err)
		}
		if aliases[a.Address] != nil {
			return nil, nil, fileStamp{}, fmt.Errorf("%s: alias %s is listed twice", d.path, a.Address)
		}
		if users[a.Address] != nil {
			return nil, nil, fileStamp{}, fmt.Errorf("%s: %s is both a user and an alias", d.path, a.Address)
		}
		aliases[a.Address] = &a
	}
	for addr := range users {
		if _, dom, _ := splitAddress(addr); !d.IsLocalDomain(dom) {
			log.Warn("user is not in a local domain and will get no mail", "address", addr, "file", d.path)
		}
	}
	return users, aliases, stampOf(fi), nil
}

// decodeError names the file, line and key, as the main config does.
func (d *Directory) decodeError(err error) error {
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) && len(sm.Errors) > 0 {
		e := sm.Errors[0]
		row, _ := e.Position()
		return fmt.Errorf("%s line %d: unknown key %q", d.path, row, strings.Join(e.Key(), "."))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		return fmt.Errorf("%s line %d: %v", d.path, row, de.Error())
	}
	return fmt.Errorf("%s: %v", d.path, err)
}

func normTarget(t string) string {
	t = strings.TrimSpace(t)
	t = strings.TrimSuffix(strings.TrimPrefix(t, "<"), ">")
	local, domain, ok := splitAddress(t)
	if !ok {
		return t
	}
	return local + "@" + domain
}

func (d *Directory) checkUser(u User) error {
	if err := checkLocalAddress(u.Address); err != nil {
		return err
	}
	if u.MovedTo != "" {
		if err := checkAnyAddress(u.MovedTo); err != nil {
			return fmt.Errorf("user %s: moved_to: %v", u.Address, err)
		}
	}
	if strings.ContainsAny(u.Name, "\r\n<>") {
		return fmt.Errorf("user %s: the name %q contains a line break or angle bracket", u.Address, u.Name)
	}
	return nil
}

func (d *Directory) checkAlias(a Alias) error {
	if err := checkLocalAddress(a.Address); err != nil {
		return err
	}
	if len(a.Targets) == 0 {
		return fmt.Errorf("alias %s has no targets", a.Address)
	}
	for _, t := range a.Targets {
		if err := checkAnyAddress(t); err != nil {
			return fmt.Errorf("alias %s: target: %v", a.Address, err)
		}
	}
	return nil
}

// Users lists the users sorted by address.
func (d *Directory) Users() []User {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]User, 0, len(d.users))
	for _, u := range d.users {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.Address, b.Address) })
	return out
}

// Aliases lists the aliases sorted by address.
func (d *Directory) Aliases() []Alias {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Alias, 0, len(d.aliases))
	for _, a := range d.aliases {
		c := *a
		c.Targets = slices.Clone(a.Targets)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Alias) int { return strings.Compare(a.Address, b.Address) })
	return out
}

// Quota is the quota of the user owning the mailbox key
// ("<domain>/<local-part>"): 0 = the configured default, negative =
// unlimited; 0 for a mailbox with no user (the default postmaster).
func (d *Directory) Quota(mailbox string) int64 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if u := d.users[MailboxAddress(mailbox)]; u != nil {
		return u.Quota
	}
	return 0
}

// AddUser adds a user; password "" makes a mailbox that cannot AUTH.
func (d *Directory) AddUser(u User, password string) error {
	u.Address = normAddress(strings.TrimSpace(u.Address))
	u.MovedTo = strings.TrimSpace(u.MovedTo)
	if err := d.checkUser(u); err != nil {
		return err
	}
	if _, dom, _ := splitAddress(u.Address); !d.IsLocalDomain(dom) {
		return fmt.Errorf("cannot add user %s: %s is not a local domain (local: %s)",
			u.Address, dom, strings.Join(d.domains, ", "))
	}
	c, err := d.credentials(password)
	if err != nil {
		return err
	}
	u.PasswordHash, u.SCRAMSHA256, u.CRAMMD5 = c.PasswordHash, c.SCRAMSHA256, c.CRAMMD5
	return d.update(func(users map[string]*User, aliases map[string]*Alias) error {
		if users[u.Address] != nil {
			return fmt.Errorf("cannot add user %s: the user already exists", u.Address)
		}
		if aliases[u.Address] != nil {
			return fmt.Errorf("cannot add user %s: an alias with that address exists", u.Address)
		}
		users[u.Address] = &u
		return nil
	})
}

// SetPassword sets or, with "", removes a user's password.
func (d *Directory) SetPassword(address, password string) error {
	addr := normAddress(strings.TrimSpace(address))
	cr, err := d.credentials(password)
	if err != nil {
		return err
	}
	return d.update(func(users map[string]*User, _ map[string]*Alias) error {
		u := users[addr]
		if u == nil {
			return fmt.Errorf("cannot set the password of %s: no such user", addr)
		}
		c := *u
		c.PasswordHash, c.SCRAMSHA256, c.CRAMMD5 = cr.PasswordHash, cr.SCRAMSHA256, cr.CRAMMD5
		users[addr] = &c
		return nil
	})
}

// DelUser removes a user. Its Maildir stays on disk.
func (d *Directory) DelUser(address string) error {
	addr := normAddress(strings.TrimSpace(address))
	return d.update(func(users map[string]*User, _ map[string]*Alias) error {
		if users[addr] == nil {
			return fmt.Errorf("cannot delete user %s: no such user", addr)
		}
		delete(users, addr)
		return nil
	})
}

// AddAlias adds an alias or replaces the one with the same address.
func (d *Directory) AddAlias(a Alias) error {
	c := Alias{Address: normAddress(strings.TrimSpace(a.Address)), List: a.List}
	for _, t := range a.Targets {
		if t = normTarget(t); !slices.Contains(c.Targets, t) {
			c.Targets = append(c.Targets, t)
		}
	}
	if err := d.checkAlias(c); err != nil {
		return err
	}
	if _, dom, _ := splitAddress(c.Address); !d.IsLocalDomain(dom) {
		return fmt.Errorf("cannot add alias %s: %s is not a local domain (local: %s)",
			c.Address, dom, strings.Join(d.domains, ", "))
	}
	return d.update(func(users map[string]*User, aliases map[string]*Alias) error {
		if users[c.Address] != nil {
			return fmt.Errorf("cannot add alias %s: a user with that address exists", c.Address)
		}
		aliases[c.Address] = &c
		return nil
	})
}

// DelAlias removes an alias.
func (d *Directory) DelAlias(address string) error {
	addr := normAddress(strings.TrimSpace(address))
	return d.update(func(_ map[string]*User, aliases map[string]*Alias) error {
		if aliases[addr] == nil {
			return fmt.Errorf("cannot delete alias %s: no such alias", addr)
		}
		delete(aliases, addr)
		return nil
	})
}

// update is read-modify-write under an exclusive lock on "<path>.lock": it
// re-reads the file (another process may have changed it), applies change
// to copies, writes the file atomically, and only then installs the copies.
func (d *Directory) update(change func(map[string]*User, map[string]*Alias) error) error {
	if err := os.MkdirAll(filepath.Dir(d.path), 0o755); err != nil {
		return fmt.Errorf("cannot create the directory for %s: %w", d.path, err)
	}
	lf, err := os.OpenFile(d.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("cannot open the lock file of the user directory: %w", err)
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("cannot lock the user directory: %w", err)
	}
	defer unix.Flock(int(lf.Fd()), unix.LOCK_UN)

	users, aliases, _, err := d.read()
	if err != nil {
		return err
	}
	if err := change(users, aliases); err != nil {
		return err
	}
	if err := d.write(users, aliases); err != nil {
		return err
	}
	st, err := d.statFile()
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.users, d.aliases, d.stamp, d.racy = users, aliases, st, false
	d.mu.Unlock()
	return nil
}

// write replaces the file atomically: temp file, fsync, rename, fsync of
// the directory, so a crash leaves the old or the new file, never half.
func (d *Directory) write(users map[string]*User, aliases map[string]*Alias) error {
	var ff fileFormat
	for _, u := range users {
		ff.User = append(ff.User, fileUser(*u))
	}
	for _, a := range aliases {
		ff.Alias = append(ff.Alias, fileAlias(*a))
	}
	slices.SortFunc(ff.User, func(a, b fileUser) int { return strings.Compare(a.Address, b.Address) })
	slices.SortFunc(ff.Alias, func(a, b fileAlias) int { return strings.Compare(a.Address, b.Address) })
	var buf bytes.Buffer
	buf.WriteString(fileHeader)
	if err := toml.NewEncoder(&buf).SetIndentTables(false).Encode(ff); err != nil {
		return fmt.Errorf("cannot encode the user directory: %w", err)
	}
	dir := filepath.Dir(d.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(d.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write the user directory: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// Password hashes inside: owner only.
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("cannot write the user directory: %w", err)
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("cannot write the user directory: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("cannot write the user directory: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write the user directory: %w", err)
	}
	if err := os.Rename(tmp.Name(), d.path); err != nil {
		return fmt.Errorf("cannot replace the user directory: %w", err)
	}
	ok = true
	return syncDir(dir)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cannot sync directory %s: %w", dir, err)
	}
	return nil
}
