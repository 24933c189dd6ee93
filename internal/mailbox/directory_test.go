package mailbox

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestMain(m *testing.M) {
	// Cheap argon2id for tests; the format and the check are the same.
	argonParams.memory, argonParams.time, argonParams.threads = 64, 1, 1
	os.Exit(m.Run())
}

var testDomains = []string{"example.test", "Other.Test."}

// openTest writes content (if any) to users.toml in a fresh directory and
// opens it, with logs captured in the returned buffer.
func openTest(t *testing.T, content string) (*Directory, *syncBuffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.toml")
	if content != "" {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d, err := OpenDirectory(path, testDomains)
	if err != nil {
		t.Fatalf("OpenDirectory: %v", err)
	}
	logs := &syncBuffer{}
	d.SetLogger(slog.New(slog.NewTextHandler(logs, nil)))
	return d, logs
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const resolveFixture = `
[[user]]
address = "alice@example.test"
name = "Alice Example"

[[user]]
address = "Bob@Example.Test"

[[user]]
address = "carol@example.test"
moved_to = "carol@new.example"

[[user]]
address = "dave@other.test"

[[user]]
address = "alice+special@example.test"

[[alias]]
address = "team@example.test"
targets = ["alice@example.test", "sales@example.test", "partner@remote.example"]
list = true

[[alias]]
address = "sales@example.test"
targets = ["bob@example.test", "ALICE@example.test"]

[[alias]]
address = "loop1@example.test"
targets = ["loop2@example.test"]

[[alias]]
address = "loop2@example.test"
targets = ["alice@example.test", "loop1@example.test"]

[[alias]]
address = "self@example.test"
targets = ["self+again@example.test"]

[[alias]]
address = "fwd@example.test"
targets = ["x@remote.example", "x@REMOTE.example."]

[[alias]]
address = "follow@example.test"
targets = ["carol@example.test"]

[[alias]]
address = "ghost@example.test"
targets = ["nobody@example.test"]

[[alias]]
address = "postmaster@other.test"
targets = ["dave@other.test"]
`

func TestResolve(t *testing.T) {
	d, logs := openTest(t, resolveFixture)
	mbox := func(name string, keys ...string) Resolution {
		return Resolution{Kind: KindMailbox, Mailboxes: keys, Name: name}
	}
	tests := []struct {
		name, addr string
		want       Resolution
		why        string
	}{
		{"user", "alice@example.test", mbox("Alice Example", "example.test/alice"), "a plain local user"},
		{"case", "ALICE@Example.TEST.", mbox("Alice Example", "example.test/alice"), "local parts and domains are matched case-insensitively, trailing dot ignored"},
		{"brackets", "<alice@example.test>", mbox("Alice Example", "example.test/alice"), "a path as written in RCPT TO"},
		{"stored lower", "bob@example.test", mbox("", "example.test/bob"), "a mixed-case address in the file is stored lower-cased"},
		{"plus", "alice+news@example.test", mbox("Alice Example", "example.test/alice"), "subaddress falls back to the user"},
		{"plus exact", "alice+special@example.test", mbox("", "example.test/alice+special"), "an existing alice+special wins over the fallback"},
		{"plus unknown", "nobody+tag@example.test", Resolution{}, "the fallback needs the base to exist"},
		{"moved", "carol@example.test", Resolution{Kind: KindMoved, MovedTo: "carol@new.example"}, "551 please try"},
		{"list", "team@example.test", Resolution{Kind: KindAlias,
			Mailboxes: []string{"example.test/alice", "example.test/bob"},
			Forwards:  []string{"partner@remote.example"}}, "nested alias expanded, alice reached twice kept once"},
		{"plus alias", "team+x@example.test", Resolution{Kind: KindAlias,
			Mailboxes: []string{"example.test/alice", "example.test/bob"},
			Forwards:  []string{"partner@remote.example"}}, "subaddress of an alias"},
		{"loop", "loop1@example.test", Resolution{}, "a loop is a configuration error: unknown, not a hang"},
		{"loop via plus", "self@example.test", Resolution{}, "self+again falls back to self: still a loop"},
		{"forward only", "fwd@example.test", Resolution{Kind: KindAlias, Forwards: []string{"x@remote.example"}}, "off-site targets only: 251, deduplicated"},
		{"follow moved", "follow@example.test", Resolution{Kind: KindAlias, Forwards: []string{"carol@new.example"}}, "an alias to a moved user forwards to the new address"},
		{"dangling", "ghost@example.test", Resolution{}, "an alias leading nowhere is unknown"},
		{"postmaster default", "postmaster@example.test", mbox("", "example.test/postmaster"), "RFC 5321 §4.5.1: always exists"},
		{"postmaster bare", "Postmaster", mbox("", "example.test/postmaster"), "RCPT TO:<Postmaster> without a domain"},
		{"postmaster alias", "POSTMASTER@other.test", Resolution{Kind: KindAlias, Mailboxes: []string{"other.test/dave"}}, "a configured postmaster alias wins"},
		{"unknown", "nobody@example.test", Resolution{}, "550 5.1.1"},
		{"non-local", "alice@remote.example", Resolution{}, "another domain is not ours even if the local part matches"},
		{"postmaster non-local", "postmaster@remote.example", Resolution{}, "the postmaster rule is for local domains only"},
		{"no domain", "alice", Resolution{}, "only postmaster may go without a domain"},
		{"empty", "", Resolution{}, "null input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := d.Resolve(tt.addr); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Resolve(%q) = %+v, want %+v (%s)", tt.addr, got, tt.want, tt.why)
			}
		})
	}
	for _, want := range []string{"alias loop through", "alias target does not exist", "leads to no mailbox"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestIsLocalDomain(t *testing.T) {
	d, _ := openTest(t, "")
	for dom, want := range map[string]bool{
		"example.test": true, "EXAMPLE.test.": true, "other.test": true,
		"sub.example.test": false, "": false, "test": false,
	} {
		if got := d.IsLocalDomain(dom); got != want {
			t.Errorf("IsLocalDomain(%q) = %v, want %v", dom, got, want)
		}
	}
}

func TestExpand(t *testing.T) {
	d, _ := openTest(t, resolveFixture)
	team := []string{"Alice Example <alice@example.test>", "<sales@example.test>", "<partner@remote.example>"}
	tests := []struct {
		name, list string
		want       []string
		ok         bool
	}{
		{"list", "team@example.test", team, true},            // names for local users, nested list as its address
		{"bare name", "TEAM", team, true},                    // EXPN team: the first local domain
		{"brackets", "<team@Example.Test>", team, true},      // as a client may write it
		{"alias not list", "sales@example.test", nil, false}, // EXPN must not reveal plain aliases
		{"user", "alice@example.test", nil, false},           // a user is no list
		{"unknown", "nope@example.test", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := d.Expand(tt.list)
			if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Expand(%q) = %q, %v; want %q, %v", tt.list, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestDirectoryPersistence(t *testing.T) {
	d, _ := openTest(t, "")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.AddUser(User{Address: "Alice@Example.Test", Name: "Alice Example", Quota: 1 << 20}, "s3cret"))
	must(d.AddUser(User{Address: "bob@other.test"}, ""))
	must(d.AddAlias(Alias{Address: "team@example.test", Targets: []string{"alice@example.test", "<far@remote.example>"}, List: true}))

	errTests := []struct {
		name    string
		err     error
		mention string
	}{
		{"duplicate user", d.AddUser(User{Address: "alice@example.test"}, ""), "alice@example.test"},
		{"non-local user", d.AddUser(User{Address: "eve@remote.example"}, ""), "remote.example is not a local domain"},
		{"bad address", d.AddUser(User{Address: "no-at-sign"}, ""), "no-at-sign"},
		{"slash in local part", d.AddUser(User{Address: "a/b@example.test"}, ""), "a/b@example.test"},
		{"dotdot", d.AddUser(User{Address: "..@example.test"}, ""), "..@example.test"},
		{"user over alias", d.AddUser(User{Address: "team@example.test"}, ""), "alias"},
		{"alias over user", d.AddAlias(Alias{Address: "alice@example.test", Targets: []string{"x@y.example"}}), "user"},
		{"alias without targets", d.AddAlias(Alias{Address: "empty@example.test"}), "no targets"},
		{"alias bad target", d.AddAlias(Alias{Address: "t2@example.test", Targets: []string{"a b@x.example"}}), "a b@x.example"},
		{"del unknown", d.DelUser("nobody@example.test"), "nobody@example.test"},
		{"passwd unknown", d.SetPassword("nobody@example.test", "x"), "nobody@example.test"},
		{"del unknown alias", d.DelAlias("nolist@example.test"), "nolist@example.test"},
	}
	for _, tt := range errTests {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.mention) {
			t.Errorf("%s: error %v should mention %q", tt.name, tt.err, tt.mention)
		}
	}

	fi, err := os.Stat(d.Path())
	must(err)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600 (it holds password hashes)", fi.Mode().Perm())
	}

	d2, err := OpenDirectory(d.Path(), testDomains)
	must(err)
	users := d2.Users()
	if len(users) != 2 || users[0].Address != "alice@example.test" || users[0].Name != "Alice Example" ||
		users[0].Quota != 1<<20 || !strings.HasPrefix(users[0].PasswordHash, "$argon2id$v=19$") ||
		users[1].Address != "bob@other.test" || users[1].PasswordHash != "" {
		t.Errorf("users after reopen: %+v", users)
	}
	wantAliases := []Alias{{Address: "team@example.test", Targets: []string{"alice@example.test", "far@remote.example"}, List: true}}
	if got := d2.Aliases(); !reflect.DeepEqual(got, wantAliases) {
		t.Errorf("aliases after reopen: %+v, want %+v", got, wantAliases)
	}

	must(d2.SetPassword("ALICE@example.test", "n3w"))
	must(d2.AddAlias(Alias{Address: "team@example.test", Targets: []string{"bob@other.test"}}))
	must(d2.DelUser("bob@other.test"))
	d3, err := OpenDirectory(d.Path(), testDomains)
	must(err)
	if ok, err := d3.CheckPassword("alice@example.test", "n3w"); !ok || err != nil {
		t.Errorf("new password after reopen: %v %v", ok, err)
	}
	if ok, _ := d3.CheckPassword("alice@example.test", "s3cret"); ok {
		t.Error("old password still accepted")
	}
	if got := d3.Users(); len(got) != 1 {
		t.Errorf("after DelUser: %+v", got)
	}
	if got := d3.Aliases(); len(got) != 1 || got[0].List || !reflect.DeepEqual(got[0].Targets, []string{"bob@other.test"}) {
		t.Errorf("AddAlias should replace: %+v", got)
	}
	must(d3.DelAlias("Team@Example.Test"))
	if got := d3.Aliases(); len(got) != 0 {
		t.Errorf("after DelAlias: %+v", got)
	}
}

// Two handles on one file are a CLI and a running server: each change must
// be made on top of the other's, never over it.
func TestDirectoryConcurrentWriters(t *testing.T) {
	d1, _ := openTest(t, "")
	d2, err := OpenDirectory(d1.Path(), testDomains)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 10 {
		d := d1
		if i%2 == 1 {
			d = d2
		}
		wg.Go(func() {
			if err := d.AddUser(User{Address: string(rune('a'+i)) + "@example.test"}, ""); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	d3, err := OpenDirectory(d1.Path(), testDomains)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d3.Users()); n != 10 {
		t.Errorf("%d users on disk, want 10 (a writer lost another's change)", n)
	}
}

func TestReloadHandEdited(t *testing.T) {
	d, _ := openTest(t, "[[user]]\naddress = \"alice@example.test\"\n")
	clock := time.Now()
	d.now = func() time.Time { return clock }
	edit := func(content string) {
		t.Helper()
		if err := os.WriteFile(d.Path(), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	has := func(addr string) bool { return d.Resolve(addr).Kind == KindMailbox }

	edit("[[user]]\naddress = \"alice@example.test\"\n\n[[user]]\naddress = \"bob@example.test\"\n")
	if err := d.Reload(); err != nil || !has("bob@example.test") {
		t.Fatalf("edited file not picked up: %v", err)
	}

	edit("[[user]]\naddress = \"carol@example.test\"\n")
	// Users, not Resolve: a lookup that misses reads a changed file itself
	// (TestResolveMissReloads).
	listed := func(addr string) bool {
		for _, u := range d.Users() {
			if u.Address == addr {
				return true
			}
		}
		return false
	}
	if err := d.Reload(); err != nil || listed("carol@example.test") {
		t.Errorf("Reload looked at the file twice within a second (err %v)", err)
	}
	clock = clock.Add(1100 * time.Millisecond)
	if err := d.Reload(); err != nil || !has("carol@example.test") || has("alice@example.test") {
		t.Errorf("second edit not picked up after a second: %v", err)
	}

	edit("[[user]]\naddress = \"dave@example.test\"\npasword_hash = \"x\"\n")
	clock = clock.Add(1100 * time.Millisecond)
	err := d.Reload()
	if err == nil || !strings.Contains(err.Error(), `line 3: unknown key "user.pasword_hash"`) {
		t.Errorf("broken file: err = %v, want line and key named", err)
	}
	if !has("carol@example.test") || has("dave@example.test") {
		t.Error("a broken file must leave the last good directory in place")
	}
	clock = clock.Add(1100 * time.Millisecond)
	if err := d.Reload(); err != nil {
		t.Errorf("the same broken file reported twice: %v", err)
	}

	os.Remove(d.Path())
	clock = clock.Add(1100 * time.Millisecond)
	if err := d.Reload(); err != nil || has("carol@example.test") {
		t.Errorf("a removed file is an empty directory: %v", err)
	}
}

// A user added by another process (the CLI) is found by the very next
// lookup, before the periodic reload; misses look at the file at most
// every missCheckInterval, and a broken file read by a miss is still
// reported by Reload.
func TestResolveMissReloads(t *testing.T) {
	d, _ := openTest(t, "[[user]]\naddress = \"alice@example.test\"\n")
	clock := time.Now()
	d.now = func() time.Time { return clock }
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	cli, err := OpenDirectory(d.Path(), testDomains)
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.AddUser(User{Address: "bob@example.test"}, ""); err != nil {
		t.Fatal(err)
	}
	if k := d.Resolve("bob@example.test").Kind; k != KindMailbox {
		t.Fatalf("a user just added resolves as %v, want a mailbox at once", k)
	}

	if err := cli.AddUser(User{Address: "carol@example.test"}, ""); err != nil {
		t.Fatal(err)
	}
	d.Resolve("nobody@example.test") // spends this interval's look
	if k := d.Resolve("carol@example.test").Kind; k != KindUnknown {
		t.Errorf("two misses within %v looked at the file twice (carol is %v)", missCheckInterval, k)
	}
	clock = clock.Add(missCheckInterval)
	if k := d.Resolve("carol@example.test").Kind; k != KindMailbox {
		t.Errorf("after %v carol is %v, want a mailbox", missCheckInterval, k)
	}

	if err := os.WriteFile(d.Path(), []byte("[[user]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(missCheckInterval)
	if k := d.Resolve("carol@example.test").Kind; k != KindMailbox {
		t.Errorf("a broken file dropped carol (%v); the last good directory must stay", k)
	}
	clock = clock.Add(2 * time.Second)
	if err := d.Reload(); err == nil {
		t.Error("Reload did not report the broken file a miss had read")
	}
}

func TestOpenDirectoryErrors(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"unknown key", "[[user]]\naddress = \"a@example.test\"\nfullname = \"A\"\n", `line 3: unknown key "user.fullname"`},
		{"syntax", "[[user]\n", "line 1"},
		{"plain-text password", "[[user]]\naddress = \"a@example.test\"\npassword_hash = \"hunter2\"\n", "hikyaku user passwd"},
		{"duplicate user", "[[user]]\naddress = \"a@example.test\"\n[[user]]\naddress = \"A@example.test\"\n", "a@example.test is listed twice"},
		{"user and alias", "[[user]]\naddress = \"a@example.test\"\n[[alias]]\naddress = \"a@example.test\"\ntargets = [\"b@x.example\"]\n", "both a user and an alias"},
		{"bad user address", "[[user]]\naddress = \"a@@example.test\"\n", "user #1"},
		{"bad moved_to", "[[user]]\naddress = \"a@example.test\"\nmoved_to = \"nowhere\"\n", "moved_to"},
		{"bad target", "[[alias]]\naddress = \"t@example.test\"\ntargets = [\"x\"]\n", "alias #1"},
		{"argon2 out of range", "[[user]]\naddress = \"a@example.test\"\npassword_hash = \"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\"\n", "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "users.toml")
			os.WriteFile(path, []byte(tt.content), 0o600)
			_, err := OpenDirectory(path, testDomains)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v, want it to name %s and say %q", err, path, tt.want)
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	bc, err := bcrypt.GenerateFromPassword([]byte("bcrypt-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := openTest(t, "[[user]]\naddress = \"old@example.test\"\npassword_hash = '"+string(bc)+"'\n")
	if err := d.AddUser(User{Address: "alice@example.test"}, "correct horse"); err != nil {
		t.Fatal(err)
	}
	if err := d.AddUser(User{Address: "nopw@example.test"}, ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, addr, pw string
		want           bool
	}{
		{"argon2id right", "alice@example.test", "correct horse", true},
		{"case of address", "Alice@EXAMPLE.test", "correct horse", true}, // addresses are case-insensitive, passwords not
		{"argon2id wrong", "alice@example.test", "Correct horse", false},
		{"empty password", "alice@example.test", "", false},
		{"bcrypt right", "old@example.test", "bcrypt-pw", true}, // hashes imported from another MTA
		{"bcrypt wrong", "old@example.test", "bcrypt-pW", false},
		{"no password set", "nopw@example.test", "", false}, // mailbox-only users cannot AUTH
		{"unknown user", "who@example.test", "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := d.CheckPassword(tt.addr, tt.pw)
			if ok != tt.want || err != nil {
				t.Errorf("CheckPassword(%q, %q) = %v, %v; want %v", tt.addr, tt.pw, ok, err, tt.want)
			}
		})
	}
}

func TestHashFormat(t *testing.T) {
	h, err := hashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkHashFormat(h); err != nil {
		t.Errorf("our own hash %q rejected: %v", h, err)
	}
	h2, _ := hashPassword("pw")
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}
