package auth

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// memStore is a Store as data: user -> password, and a switch that makes
// every lookup fail like a broken users file.
type memStore struct {
	passwords map[string]string
	scram     map[string]SCRAMKeys
	cram      map[string]CRAMKeys
	down      bool
}

func newMemStore(t testing.TB, users map[string]string) *memStore {
	m := &memStore{passwords: users, scram: map[string]SCRAMKeys{}, cram: map[string]CRAMKeys{}}
	for u, p := range users {
		k, err := DeriveSCRAMSHA256(p, 4096)
		if err != nil {
			t.Fatal(err)
		}
		m.scram[u] = k
		m.cram[u] = DeriveCRAMMD5(p)
	}
	return m
}

var errDown = errors.New("users file unreadable")

func (m *memStore) CheckPassword(user, password string) (bool, error) {
	if m.down {
		return false, errDown
	}
	p, ok := m.passwords[strings.ToLower(user)]
	return ok && p == password, nil
}

func (m *memStore) SCRAMSHA256Keys(user string) (SCRAMKeys, bool, error) {
	if m.down {
		return SCRAMKeys{}, false, errDown
	}
	k, ok := m.scram[strings.ToLower(user)]
	return k, ok, nil
}

func (m *memStore) CRAMMD5Keys(user string) (CRAMKeys, bool, error) {
	if m.down {
		return CRAMKeys{}, false, errDown
	}
	k, ok := m.cram[strings.ToLower(user)]
	return k, ok, nil
}

// step is one client response and what the server must do with it.
type step struct {
	resp    []byte // nil: no initial response
	wantCh  string // challenge expected ("" with done or error)
	done    bool
	wantErr error
}

func run(t *testing.T, ex Exchange, steps []step) {
	t.Helper()
	for i, s := range steps {
		ch, done, err := ex.Next(s.resp)
		if s.wantErr != nil {
			if !errors.Is(err, s.wantErr) {
				t.Fatalf("step %d: err %v, want %v", i, err, s.wantErr)
			}
			return
		}
		if err != nil || done != s.done || string(ch) != s.wantCh {
			t.Fatalf("step %d: got (%q, %v, %v), want (%q, %v, nil)", i, ch, done, err, s.wantCh, s.done)
		}
	}
}

func TestPlainAndLogin(t *testing.T) {
	store := newMemStore(t, map[string]string{"alice@example.test": "s3cret"})
	srv := NewServer(store, "mx.example.test")
	b := func(s string) []byte { return []byte(s) }
	for _, tc := range []struct {
		name, why string
		mech      string
		steps     []step
		down      bool
		user      string
	}{
		{"plain initial response", "the usual form: AUTH PLAIN <b64> (RFC 4954 §4)", Plain,
			[]step{{resp: b("\x00alice@example.test\x00s3cret"), done: true}}, false, "alice@example.test"},
		{"plain after empty challenge", "without an initial response the server sends an empty 334 first", Plain,
			[]step{{resp: nil, wantCh: ""}, {resp: b("\x00alice@example.test\x00s3cret"), done: true}}, false, "alice@example.test"},
		{"plain authzid same user", "an authorization identity equal to the user is allowed (RFC 4616 §2)", Plain,
			[]step{{resp: b("ALICE@example.test\x00alice@example.test\x00s3cret"), done: true}}, false, "alice@example.test"},
		{"plain authzid other user", "acting as someone else is refused", Plain,
			[]step{{resp: b("bob@example.test\x00alice@example.test\x00s3cret"), wantErr: ErrInvalid}}, false, "alice@example.test"},
		{"plain wrong password", "535", Plain,
			[]step{{resp: b("\x00alice@example.test\x00nope"), wantErr: ErrInvalid}}, false, "alice@example.test"},
		{"plain unknown user", "looks exactly like a wrong password", Plain,
			[]step{{resp: b("\x00mallory@example.test\x00s3cret"), wantErr: ErrInvalid}}, false, "mallory@example.test"},
		{"plain two fields", "a message without the authzid NUL is malformed", Plain,
			[]step{{resp: b("alice@example.test\x00s3cret"), wantErr: ErrInvalid}}, false, ""},
		{"plain empty initial response", `"=" is an empty response, malformed for PLAIN`, Plain,
			[]step{{resp: []byte{}, wantErr: ErrInvalid}}, false, ""},
		{"plain store down", "454 4.7.0, not 535", Plain,
			[]step{{resp: b("\x00alice@example.test\x00s3cret"), wantErr: ErrUnavailable}}, true, "alice@example.test"},
		{"login two prompts", "LOGIN asks Username: then Password:", Login,
			[]step{{resp: nil, wantCh: "Username:"}, {resp: b("alice@example.test"), wantCh: "Password:"}, {resp: b("s3cret"), done: true}}, false, "alice@example.test"},
		{"login initial user", "AUTH LOGIN <b64 user> skips the first prompt", Login,
			[]step{{resp: b("alice@example.test"), wantCh: "Password:"}, {resp: b("s3cret"), done: true}}, false, "alice@example.test"},
		{"login wrong password", "535", Login,
			[]step{{resp: nil, wantCh: "Username:"}, {resp: b("alice@example.test"), wantCh: "Password:"}, {resp: b("x"), wantErr: ErrInvalid}}, false, "alice@example.test"},
		{"login empty user", "an empty user name is malformed", Login,
			[]step{{resp: nil, wantCh: "Username:"}, {resp: []byte{}, wantErr: ErrInvalid}}, false, ""},
		{"login store down", "454", Login,
			[]step{{resp: b("alice@example.test"), wantCh: "Password:"}, {resp: b("s3cret"), wantErr: ErrUnavailable}}, true, "alice@example.test"},
		{"cram initial response", "the server speaks first in CRAM-MD5: 501 (RFC 4954 §4)", CRAMMD5,
			[]step{{resp: b("alice"), wantErr: ErrInitialResponse}}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store.down = tc.down
			defer func() { store.down = false }()
			ex, err := srv.Start(tc.mech, nil)
			if err != nil {
				t.Fatal(err)
			}
			run(t, ex, tc.steps)
			if ex.User() != tc.user {
				t.Errorf("User() = %q, want %q", ex.User(), tc.user)
			}
		})
	}
}

// CRAM-MD5 answered as RFC 2195 §2 computes it, from a real HMAC-MD5 of
// the password (not from our stored states), so the stored form is
// checked against the standard.
func TestCRAMMD5(t *testing.T) {
	store := newMemStore(t, map[string]string{"alice@example.test": "s3cret", "long@example.test": strings.Repeat("k", 100)})
	srv := NewServer(store, "mx.example.test")
	for _, tc := range []struct {
		name, why, user, password string
		down                      bool
		want                      error
	}{
		{"right", "the digest of the right password logs in", "alice@example.test", "s3cret", false, nil},
		{"long password", "keys over 64 octets are hashed first (RFC 2104 §2)", "long@example.test", strings.Repeat("k", 100), false, nil},
		{"upper-case user", "the store decides about case", "ALICE@example.test", "s3cret", false, nil},
		{"wrong", "535", "alice@example.test", "other", false, ErrInvalid},
		{"unknown", "same answer as a wrong password", "nobody@example.test", "s3cret", false, ErrInvalid},
		{"down", "454", "alice@example.test", "s3cret", true, ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store.down = tc.down
			defer func() { store.down = false }()
			ex, _ := srv.Start("cram-md5", nil)
			ch, done, err := ex.Next(nil)
			if err != nil || done || !strings.HasPrefix(string(ch), "<") || !strings.HasSuffix(string(ch), "@mx.example.test>") {
				t.Fatalf("challenge %q %v %v", ch, done, err)
			}
			mac := hmac.New(md5.New, []byte(tc.password))
			mac.Write(ch)
			_, done, err = ex.Next([]byte(tc.user + " " + hex.EncodeToString(mac.Sum(nil))))
			if tc.want == nil && (err != nil || !done) || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got done=%v err=%v, want %v", done, err, tc.want)
			}
		})
	}
	ex, _ := srv.Start(CRAMMD5, nil)
	ex.Next(nil)
	if _, _, err := ex.Next([]byte("alice@example.test zz")); !errors.Is(err, ErrInvalid) {
		t.Errorf("short digest: %v", err)
	}
}

func TestSecretsRoundTrip(t *testing.T) {
	k, err := DeriveSCRAMSHA256("pässword", 4096)
	if err != nil {
		t.Fatal(err)
	}
	s := k.String()
	if !strings.HasPrefix(s, "SCRAM-SHA-256$4096:") {
		t.Errorf("SCRAM form %q", s)
	}
	back, err := ParseSCRAMKeys(s)
	if err != nil || back.String() != s {
		t.Errorf("ParseSCRAMKeys(%q) = %v, %v", s, back, err)
	}
	c := DeriveCRAMMD5("pw")
	cb, err := ParseCRAMKeys(c.String())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := cb.Sum([]byte("<1.2@h>"))
	mac := hmac.New(md5.New, []byte("pw"))
	mac.Write([]byte("<1.2@h>"))
	if !hmac.Equal(got, mac.Sum(nil)) {
		t.Error("CRAM-MD5 from parsed states differs from HMAC-MD5")
	}
	for _, bad := range []string{
		"", "SCRAM-SHA-256$", "SCRAM-SHA-256$100:c2FsdHNhbHQ=$" + strings.Repeat("A", 44) + ":" + strings.Repeat("A", 44),
		"SCRAM-SHA-256$4096:c2FsdHNhbHQ=$QQ==:QQ==", "$argon2id$v=19$m=1,t=1,p=1$x$y",
	} {
		if _, err := ParseSCRAMKeys(bad); err == nil {
			t.Errorf("ParseSCRAMKeys(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "CRAM-MD5$", "CRAM-MD5$QQ==$QQ==", "CRAM-MD5$!!$!!"} {
		if _, err := ParseCRAMKeys(bad); err == nil {
			t.Errorf("ParseCRAMKeys(%q) accepted", bad)
		}
	}
	if _, err := DeriveSCRAMSHA256("pw", 1000); err == nil {
		t.Error("1000 iterations accepted")
	}
	if _, err := DeriveSCRAMSHA256("tab\there", 4096); err == nil {
		t.Error("a password SASLprep refuses was accepted")
	}
}

func TestStartUnknown(t *testing.T) {
	srv := NewServer(newMemStore(t, nil), "h")
	for _, m := range []string{"DIGEST-MD5", "GSSAPI", "", "SCRAM-SHA-1"} {
		if _, err := srv.Start(m, nil); !errors.Is(err, ErrUnknownMechanism) {
			t.Errorf("Start(%q) = %v", m, err)
		}
	}
	if _, err := srv.Start(SCRAMSHA256Plus, nil); !errors.Is(err, ErrUnknownMechanism) {
		t.Error("SCRAM-SHA-256-PLUS started without a TLS channel")
	}
	for m, want := range map[string][2]bool{"plain": {true, true}, "LOGIN": {true, true}, "CRAM-MD5": {true, false}, "scram-sha-256": {true, false}, "X": {false, false}} {
		if Known(m) != want[0] || Plaintext(m) != want[1] {
			t.Errorf("%s: Known %v Plaintext %v", m, Known(m), Plaintext(m))
		}
	}
}

func ExampleSCRAMKeys_String() {
	k := SCRAMKeys{Salt: []byte("saltsalt"), Iterations: 4096, StoredKey: make([]byte, 32), ServerKey: make([]byte, 32)}
	fmt.Println(k.String()[:40])
	// Output: SCRAM-SHA-256$4096:c2FsdHNhbHQ=$AAAAAAAA
}
