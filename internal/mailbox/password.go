package mailbox

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/hikyaku/hikyaku/internal/auth"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// argonParams are the argon2id costs for new hashes: RFC 9106 §4's second
// recommended option (64 MiB, t=3, p=4), about 50-100 ms per AUTH on one
// core. Existing hashes keep the costs written in their PHC string, so
// raising these never locks anyone out. Tests lower them.
var argonParams = struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	keyLen  uint32
	saltLen int
}{64 * 1024, 3, 4, 32, 16}

// hashSlots bounds concurrent password hashing: each argon2id run holds its
// memory cost (64 MiB), so a burst of AUTH attempts must queue rather than
// exhaust RAM.
var hashSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

var b64 = base64.RawStdEncoding

// hashPassword returns an argon2id PHC string
// ("$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>").
func hashPassword(password string) (string, error) {
	salt := make([]byte, argonParams.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("cannot read random bytes for the password salt: %w", err)
	}
	p := argonParams
	hashSlots <- struct{}{}
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, p.keyLen)
	<-hashSlots
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// checkHashFormat tells a hand-edited file with a plain-text password (or a
// typo) from a real hash, at load time rather than at the first AUTH.
func checkHashFormat(h string) error {
	switch {
	case h == "":
		return nil
	case strings.HasPrefix(h, "$argon2id$"):
		_, err := parseArgon2id(h)
		return err
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			return fmt.Errorf("the bcrypt hash is malformed: %v", err)
		}
		return nil
	}
	return errors.New("password_hash is neither an argon2id PHC string nor a bcrypt hash (set passwords with `hikyaku user passwd`)")
}

type argon2idHash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parseArgon2id(h string) (argon2idHash, error) {
	var a argon2idHash
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	f := strings.Split(h, "$")
	if len(f) != 6 || f[1] != "argon2id" {
		return a, errors.New("the argon2id hash does not have six $-separated fields")
	}
	var v int
	if _, err := fmt.Sscanf(f[2], "v=%d", &v); err != nil || v != argon2.Version {
		return a, fmt.Errorf("the argon2id hash has version %q, want v=%d", f[2], argon2.Version)
	}
	var threads uint32
	if _, err := fmt.Sscanf(f[3], "m=%d,t=%d,p=%d", &a.memory, &a.time, &threads); err != nil {
		return a, fmt.Errorf("the argon2id parameters %q are malformed", f[3])
	}
	// Bound the costs so that a hand-edited file cannot make one AUTH
	// allocate gigabytes or spin for minutes.
	if a.memory < 8 || a.memory > 4<<20 || a.time < 1 || a.time > 64 || threads < 1 || threads > 255 {
		return a, fmt.Errorf("the argon2id parameters %q are out of range", f[3])
	}
	a.threads = uint8(threads)
	var err error
	if a.salt, err = b64.DecodeString(f[4]); err != nil || len(a.salt) < 8 {
		return a, errors.New("the argon2id salt is not valid base64 of at least 8 bytes")
	}
	if a.key, err = b64.DecodeString(f[5]); err != nil || len(a.key) < 16 || len(a.key) > 64 {
		return a, errors.New("the argon2id hash is not valid base64 of 16 to 64 bytes")
	}
	return a, nil
}

// verifyPassword compares in constant time with respect to the password.
func verifyPassword(hash, password string) (bool, error) {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	if strings.HasPrefix(hash, "$2") {
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		return err == nil, err
	}
	a, err := parseArgon2id(hash)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), a.salt, a.time, a.memory, a.threads, uint32(len(a.key)))
	return subtle.ConstantTimeCompare(key, a.key) == 1, nil
}

// dummyHash is verified against when the user is unknown or has no
// password, so that AUTH takes as long for a missing user as for a wrong
// password and cannot be used to list accounts.
var dummyHash = sync.OnceValue(func() string {
	h, err := hashPassword("no such user")
	if err != nil {
		panic(err)
	}
	return h
})

// SetHashCost sets the argon2id memory (KiB, at least 8) and passes of
// passwords hashed from now on in this process. Tests and benchmarks
// lower it before they start; the server never calls it.
func SetHashCost(memoryKiB, passes uint32) {
	argonParams.memory, argonParams.time, argonParams.threads = max(memoryKiB, 8), max(passes, 1), 1
}

// CredentialOptions say which secrets are derived from a password when it
// is set ([auth] in the configuration).
type CredentialOptions struct {
	CRAMMD5         bool // also keep CRAM-MD5's HMAC-MD5 states (auth.cram_md5)
	SCRAMIterations int  // PBKDF2 count of the SCRAM-SHA-256 keys; 0 = auth.SCRAMIterations
}

// SetCredentialOptions applies to passwords set from now on.
func (d *Directory) SetCredentialOptions(o CredentialOptions) { d.credOpts.Store(&o) }

// credentials are the stored forms of one password, one per mechanism
// family: never the password itself.
type credentials struct{ PasswordHash, SCRAMSHA256, CRAMMD5 string }

func (d *Directory) credentials(password string) (credentials, error) {
	var c credentials
	if password == "" {
		return c, nil
	}
	var o CredentialOptions
	if p := d.credOpts.Load(); p != nil {
		o = *p
	}
	h, err := hashPassword(password)
	if err != nil {
		return c, err
	}
	c.PasswordHash = h
	iters := o.SCRAMIterations
	if iters == 0 {
		iters = auth.SCRAMIterations
	}
	k, err := auth.DeriveSCRAMSHA256(password, iters)
	if err != nil {
		// PLAIN and LOGIN still work; only SCRAM is lost.
		d.log.Load().Warn("password stored without SCRAM-SHA-256 keys", "err", err)
	} else {
		c.SCRAMSHA256 = k.String()
	}
	if o.CRAMMD5 {
		c.CRAMMD5 = auth.DeriveCRAMMD5(password).String()
	}
	return c, nil
}

// checkCredentials catches hand-edited or damaged secrets at load time.
func checkCredentials(u User) error {
	if err := checkHashFormat(u.PasswordHash); err != nil {
		return err
	}
	if u.SCRAMSHA256 != "" {
		if _, err := auth.ParseSCRAMKeys(u.SCRAMSHA256); err != nil {
			return fmt.Errorf("scram_sha256: %v", err)
		}
	}
	if u.CRAMMD5 != "" {
		if _, err := auth.ParseCRAMKeys(u.CRAMMD5); err != nil {
			return fmt.Errorf("cram_md5: %v", err)
		}
	}
	return nil
}

// SCRAMSHA256Keys returns the user's SCRAM-SHA-256 keys (auth.Store).
func (d *Directory) SCRAMSHA256Keys(address string) (auth.SCRAMKeys, bool, error) {
	s := d.secret(address, func(u *User) string { return u.SCRAMSHA256 })
	if s == "" {
		return auth.SCRAMKeys{}, false, nil
	}
	k, err := auth.ParseSCRAMKeys(s)
	if err != nil {
		return k, false, fmt.Errorf("the stored SCRAM keys of %s are unusable: %w", address, err)
	}
	return k, true, nil
}

// CRAMMD5Keys returns the user's CRAM-MD5 states (auth.Store).
func (d *Directory) CRAMMD5Keys(address string) (auth.CRAMKeys, bool, error) {
	s := d.secret(address, func(u *User) string { return u.CRAMMD5 })
	if s == "" {
		return auth.CRAMKeys{}, false, nil
	}
	k, err := auth.ParseCRAMKeys(s)
	if err != nil {
		return k, false, fmt.Errorf("the stored CRAM-MD5 keys of %s are unusable: %w", address, err)
	}
	return k, true, nil
}

// secret reads one field of a user that can log in at all: a user
// without a password hash has no other secret either.
func (d *Directory) secret(address string, field func(*User) string) string {
	addr := normAddress(strings.TrimSpace(address))
	d.mu.RLock()
	defer d.mu.RUnlock()
	if u := d.users[addr]; u != nil && u.PasswordHash != "" {
		return field(u)
	}
	return ""
}
