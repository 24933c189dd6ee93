package auth

import (
	"crypto/md5"
	"crypto/rand"
	"encoding"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/xdg-go/scram"
)

// SCRAMIterations is the PBKDF2 count for new SCRAM-SHA-256 keys when the
// caller has no opinion: four times RFC 7677 §4's minimum of 4096. The
// client pays it at each login (a few ms); an attacker who steals the
// users file pays it per guess.
const SCRAMIterations = 16384

// SCRAMKeys are what a server stores for SCRAM-SHA-256 (RFC 5802 §3):
// enough to check a client's proof and prove itself, not enough to log in
// as the user elsewhere. They still allow an offline guess of the
// password at the cost of Iterations HMACs per guess.
type SCRAMKeys struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}

// DeriveSCRAMSHA256 computes the keys for a password with a fresh random
// salt. The password is SASLprep-normalised first (RFC 5802 §5.1); a
// password SASLprep refuses (control characters, unassigned code points)
// cannot be used with SCRAM and is an error.
func DeriveSCRAMSHA256(password string, iterations int) (SCRAMKeys, error) {
	if iterations < 4096 {
		return SCRAMKeys{}, fmt.Errorf("SCRAM iteration count %d is below RFC 7677's 4096", iterations)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return SCRAMKeys{}, err
	}
	c, err := scram.SHA256.NewClient("", password, "")
	if err != nil {
		return SCRAMKeys{}, errors.New("the password cannot be used with SCRAM (SASLprep refuses it)")
	}
	sc, err := c.GetStoredCredentialsWithError(scram.KeyFactors{Salt: string(salt), Iters: iterations})
	if err != nil {
		return SCRAMKeys{}, err
	}
	return SCRAMKeys{Salt: salt, Iterations: iterations, StoredKey: sc.StoredKey, ServerKey: sc.ServerKey}, nil
}

var std = base64.StdEncoding

// scramPrefix starts the RFC 5803 form, which PostgreSQL uses too.
const scramPrefix = "SCRAM-SHA-256$"

// String writes the keys as RFC 5803 §3 does:
// "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>", base64.
func (k SCRAMKeys) String() string {
	return scramPrefix + strconv.Itoa(k.Iterations) + ":" + std.EncodeToString(k.Salt) + "$" +
		std.EncodeToString(k.StoredKey) + ":" + std.EncodeToString(k.ServerKey)
}

// ParseSCRAMKeys reads the form String writes.
func ParseSCRAMKeys(s string) (SCRAMKeys, error) {
	var k SCRAMKeys
	rest, ok := strings.CutPrefix(s, scramPrefix)
	if !ok {
		return k, fmt.Errorf("SCRAM keys do not start with %q", scramPrefix)
	}
	factors, keys, ok := strings.Cut(rest, "$")
	iters, salt, ok1 := strings.Cut(factors, ":")
	stored, server, ok2 := strings.Cut(keys, ":")
	if !ok || !ok1 || !ok2 {
		return k, errors.New("SCRAM keys are not iterations:salt$StoredKey:ServerKey")
	}
	var err error
	if k.Iterations, err = strconv.Atoi(iters); err != nil || k.Iterations < 4096 || k.Iterations > 10_000_000 {
		return k, fmt.Errorf("SCRAM iteration count %q is not from 4096 to 10000000", iters)
	}
	if k.Salt, err = std.DecodeString(salt); err != nil || len(k.Salt) < 8 {
		return k, errors.New("SCRAM salt is not base64 of at least 8 bytes")
	}
	if k.StoredKey, err = std.DecodeString(stored); err != nil || len(k.StoredKey) != 32 {
		return k, errors.New("SCRAM StoredKey is not base64 of 32 bytes")
	}
	if k.ServerKey, err = std.DecodeString(server); err != nil || len(k.ServerKey) != 32 {
		return k, errors.New("SCRAM ServerKey is not base64 of 32 bytes")
	}
	return k, nil
}

// CRAMKeys are the HMAC-MD5 states after the key has been mixed in (RFC
// 2104's inner and outer pads), as Dovecot stores them. They are not the
// password, but they are equivalent to it for CRAM-MD5: whoever reads them
// can log in with CRAM-MD5. That is the price of the mechanism, and why it
// is off unless configured.
type CRAMKeys struct {
	Inner, Outer []byte // crypto/md5 states in their MarshalBinary form
}

// DeriveCRAMMD5 computes the HMAC-MD5 states for a password.
func DeriveCRAMMD5(password string) CRAMKeys {
	key := []byte(password)
	if len(key) > md5.BlockSize {
		s := md5.Sum(key)
		key = s[:]
	}
	pad := func(b byte) []byte {
		block := make([]byte, md5.BlockSize)
		copy(block, key)
		for i := range block {
			block[i] ^= b
		}
		h := md5.New()
		h.Write(block)
		state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			panic(err) // crypto/md5 always marshals
		}
		return state
	}
	return CRAMKeys{Inner: pad(0x36), Outer: pad(0x5c)}
}

// Sum is HMAC-MD5(password, msg) computed from the stored states.
func (k CRAMKeys) Sum(msg []byte) ([]byte, error) {
	inner, outer := md5.New(), md5.New()
	if err := inner.(encoding.BinaryUnmarshaler).UnmarshalBinary(k.Inner); err != nil {
		return nil, fmt.Errorf("CRAM-MD5 inner state: %w", err)
	}
	if err := outer.(encoding.BinaryUnmarshaler).UnmarshalBinary(k.Outer); err != nil {
		return nil, fmt.Errorf("CRAM-MD5 outer state: %w", err)
	}
	inner.Write(msg)
	outer.Write(inner.Sum(nil))
	return outer.Sum(nil), nil
}

const cramPrefix = "CRAM-MD5$"

// String writes "CRAM-MD5$<inner>$<outer>", base64.
func (k CRAMKeys) String() string {
	return cramPrefix + std.EncodeToString(k.Inner) + "$" + std.EncodeToString(k.Outer)
}

// ParseCRAMKeys reads the form String writes and checks the states load.
func ParseCRAMKeys(s string) (CRAMKeys, error) {
	var k CRAMKeys
	rest, ok := strings.CutPrefix(s, cramPrefix)
	if !ok {
		return k, fmt.Errorf("CRAM-MD5 keys do not start with %q", cramPrefix)
	}
	in, out, ok := strings.Cut(rest, "$")
	if !ok {
		return k, errors.New("CRAM-MD5 keys are not inner$outer")
	}
	var err error
	if k.Inner, err = std.DecodeString(in); err != nil {
		return k, errors.New("CRAM-MD5 inner state is not base64")
	}
	if k.Outer, err = std.DecodeString(out); err != nil {
		return k, errors.New("CRAM-MD5 outer state is not base64")
	}
	if _, err := k.Sum(nil); err != nil {
		return k, err
	}
	return k, nil
}
