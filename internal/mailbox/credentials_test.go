package mailbox

import (
	"crypto/hmac"
	"crypto/md5"
	"os"
	"strings"
	"testing"

	"github.com/hikyaku/hikyaku/internal/auth"
)

// The directory is the AUTH credential store.
var _ auth.Store = (*Directory)(nil)

// Setting a password stores one secret per mechanism family and never the
// password; CRAM-MD5's states only when asked for; removing the password
// removes them all; and the secrets survive the file.
func TestCredentialsStored(t *testing.T) {
	for _, tc := range []struct {
		name, why string
		opts      CredentialOptions
		cram      bool
	}{
		{"default", "argon2id and SCRAM-SHA-256 keys; no CRAM-MD5 (auth.cram_md5 = false)", CredentialOptions{}, false},
		{"cram enabled", "auth.cram_md5 = true also keeps the HMAC-MD5 states", CredentialOptions{CRAMMD5: true, SCRAMIterations: 4096}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := openTest(t, "")
			d.SetCredentialOptions(tc.opts)
			if err := d.AddUser(User{Address: "alice@example.test"}, "s3cret"); err != nil {
				t.Fatal(err)
			}
			raw, _ := os.ReadFile(d.Path())
			if strings.Contains(string(raw), "s3cret") {
				t.Fatal("the password itself is in users.toml")
			}
			d2, err := OpenDirectory(d.Path(), testDomains)
			if err != nil {
				t.Fatal(err)
			}
			k, found, err := d2.SCRAMSHA256Keys("Alice@Example.Test")
			if !found || err != nil || len(k.StoredKey) != 32 {
				t.Fatalf("SCRAM keys: %v %v %v", k, found, err)
			}
			if iters := tc.opts.SCRAMIterations; iters != 0 && k.Iterations != iters || iters == 0 && k.Iterations != auth.SCRAMIterations {
				t.Errorf("iterations %d", k.Iterations)
			}
			ck, found, err := d2.CRAMMD5Keys("alice@example.test")
			if found != tc.cram || err != nil {
				t.Fatalf("CRAM-MD5 keys found=%v err=%v, want %v", found, err, tc.cram)
			}
			if found {
				sum, _ := ck.Sum([]byte("<x@y>"))
				mac := hmac.New(md5.New, []byte("s3cret"))
				mac.Write([]byte("<x@y>"))
				if !hmac.Equal(sum, mac.Sum(nil)) {
					t.Error("stored CRAM-MD5 states do not compute HMAC-MD5 of the password")
				}
			}
			if err := d2.SetPassword("alice@example.test", ""); err != nil {
				t.Fatal(err)
			}
			if _, found, _ := d2.SCRAMSHA256Keys("alice@example.test"); found {
				t.Error("SCRAM keys left after the password was removed")
			}
			if _, found, _ := d2.CRAMMD5Keys("alice@example.test"); found {
				t.Error("CRAM-MD5 keys left after the password was removed")
			}
		})
	}
}

// A damaged secret is refused at load time, naming the user, rather than
// failing at the first AUTH; a secret on a user with no password is never
// handed out (a user without a password cannot AUTH at all).
func TestCredentialsChecked(t *testing.T) {
	scram, _ := auth.DeriveSCRAMSHA256("pw", 4096)
	for _, tc := range []struct {
		name, why, file, wantErr string
	}{
		{"bad scram", "a truncated key is caught at load",
			"[[user]]\naddress = \"a@example.test\"\nscram_sha256 = \"SCRAM-SHA-256$4096:AAAA\"\n", "a@example.test: scram_sha256"},
		{"bad cram", "so is a damaged CRAM-MD5 state",
			"[[user]]\naddress = \"a@example.test\"\ncram_md5 = \"CRAM-MD5$x$y\"\n", "a@example.test: cram_md5"},
		{"scram without password", "loads, but is not used",
			"[[user]]\naddress = \"a@example.test\"\nscram_sha256 = \"" + scram.String() + "\"\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := t.TempDir() + "/users.toml"
			os.WriteFile(path, []byte(tc.file), 0o600)
			d, err := OpenDirectory(path, testDomains)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, found, _ := d.SCRAMSHA256Keys("a@example.test"); found {
				t.Error("SCRAM keys of a user without a password were handed out")
			}
		})
	}
}

// A password SASLprep refuses still sets the password hash (PLAIN and
// LOGIN work); only SCRAM is left out, with a warning.
func TestCredentialsWithoutSCRAM(t *testing.T) {
	d, logs := openTest(t, "")
	if err := d.AddUser(User{Address: "a@example.test"}, "tab\there"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := d.CheckPassword("a@example.test", "tab\there"); !ok {
		t.Error("password not set")
	}
	if _, found, _ := d.SCRAMSHA256Keys("a@example.test"); found {
		t.Error("SCRAM keys for a password SASLprep refuses")
	}
	if !strings.Contains(logs.String(), "without SCRAM-SHA-256") {
		t.Errorf("no warning: %s", logs.String())
	}
}
