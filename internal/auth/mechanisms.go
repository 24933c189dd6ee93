package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xdg-go/scram"
)

// maxField bounds each of PLAIN's fields (RFC 4616 §2: 255 octets).
const maxField = 255

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func unavailable(err error) error { return fmt.Errorf("%w: %v", ErrUnavailable, err) }

// checkPassword maps the store's answer to the exchange's result.
func checkPassword(store Store, user, password string) error {
	ok, err := store.CheckPassword(user, password)
	switch {
	case err != nil:
		return unavailable(err)
	case !ok:
		return invalid("wrong password or unknown user")
	}
	return nil
}

// plainExchange is RFC 4616: one message, "authzid NUL authcid NUL passwd".
type plainExchange struct {
	store Store
	user  string
	asked bool
}

func (e *plainExchange) User() string { return e.user }

func (e *plainExchange) Next(resp []byte) ([]byte, bool, error) {
	if resp == nil && !e.asked {
		e.asked = true
		return []byte{}, false, nil // the client speaks first: an empty challenge
	}
	f := bytes.Split(resp, []byte{0})
	if len(f) != 3 {
		return nil, false, invalid("PLAIN message has %d NUL-separated fields, want 3", len(f))
	}
	authz, authc, pass := string(f[0]), string(f[1]), string(f[2])
	if authc == "" || pass == "" || len(authz) > maxField || len(authc) > maxField || len(pass) > maxField ||
		!utf8.ValidString(authz) || !utf8.ValidString(authc) || !utf8.ValidString(pass) {
		return nil, false, invalid("PLAIN fields empty, too long or not UTF-8")
	}
	e.user = authc
	// Acting for someone else is not supported: the authorization
	// identity, when given, must be the user (RFC 4616 §2).
	if authz != "" && !strings.EqualFold(authz, authc) {
		return nil, false, invalid("authorization identity %q differs from %q", authz, authc)
	}
	if err := checkPassword(e.store, authc, pass); err != nil {
		return nil, false, err
	}
	return nil, true, nil
}

// loginExchange is the LOGIN mechanism: the server asks "Username:" and
// "Password:", the client answers each (an initial response is the user
// name, as Outlook and swaks send it).
type loginExchange struct {
	store Store
	user  string
	step  int
}

func (e *loginExchange) User() string { return e.user }

var (
	loginUser = []byte("Username:")
	loginPass = []byte("Password:")
)

func (e *loginExchange) Next(resp []byte) ([]byte, bool, error) {
	if e.step == 0 && resp == nil {
		e.step = 1
		return loginUser, false, nil
	}
	if e.step <= 1 {
		if len(resp) == 0 || len(resp) > maxField || !utf8.Valid(resp) {
			return nil, false, invalid("LOGIN user name empty, too long or not UTF-8")
		}
		e.user, e.step = string(resp), 2
		return loginPass, false, nil
	}
	if len(resp) == 0 || len(resp) > maxField || !utf8.Valid(resp) {
		return nil, false, invalid("LOGIN password empty, too long or not UTF-8")
	}
	if err := checkPassword(e.store, e.user, string(resp)); err != nil {
		return nil, false, err
	}
	return nil, true, nil
}

// cramExchange is RFC 2195: the server sends a unique msg-id, the client
// answers "user HEX(HMAC-MD5(password, challenge))".
type cramExchange struct {
	store     Store
	hostname  string
	user      string
	challenge []byte
}

func (e *cramExchange) User() string { return e.user }

// dummyCRAM is compared against for unknown users so that the answer
// takes the same time.
var dummyCRAM = DeriveCRAMMD5("no such user")

func (e *cramExchange) Next(resp []byte) ([]byte, bool, error) {
	if e.challenge == nil {
		if resp != nil {
			return nil, false, ErrInitialResponse
		}
		var r [8]byte
		rand.Read(r[:])
		e.challenge = fmt.Appendf(nil, "<%s.%d@%s>", hex.EncodeToString(r[:]), time.Now().Unix(), e.hostname)
		return e.challenge, false, nil
	}
	i := bytes.LastIndexByte(resp, ' ')
	if i <= 0 || len(resp)-i-1 != 32 || i > maxField || !utf8.Valid(resp[:i]) {
		return nil, false, invalid("CRAM-MD5 response is not \"user digest\"")
	}
	e.user = string(resp[:i])
	got := make([]byte, 16)
	if _, err := hex.Decode(got, bytes.ToLower(resp[i+1:])); err != nil {
		return nil, false, invalid("CRAM-MD5 digest is not hex")
	}
	keys, found, err := e.store.CRAMMD5Keys(e.user)
	if err != nil {
		return nil, false, unavailable(err)
	}
	if !found {
		keys = dummyCRAM
	}
	want, err := keys.Sum(e.challenge)
	if err != nil {
		return nil, false, unavailable(err)
	}
	if !hmac.Equal(got, want) || !found {
		return nil, false, invalid("wrong digest or unknown user")
	}
	return nil, true, nil
}

// scramExchange drives xdg-go/scram's server conversation through SMTP's
// rounds: client-first, client-final, then an empty response to the
// server-final message (RFC 4954 has no success-with-data, so the
// server-final goes out as one more 334 challenge).
type scramExchange struct {
	conv     *scram.ServerConversation
	user     string
	storeErr error
	step     int
}

func (e *scramExchange) User() string { return e.user }

func (s *Server) newSCRAM(cs *tls.ConnectionState, plus bool) (Exchange, error) {
	e := &scramExchange{}
	lookup := func(user string) (scram.StoredCredentials, error) {
		e.user = user
		keys, found, err := s.store.SCRAMSHA256Keys(user)
		if err != nil {
			e.storeErr = err
			return scram.StoredCredentials{}, err
		}
		if !found {
			// Go through the motions with parameters derived from the
			// name, so an unknown user looks like a wrong password
			// (RFC 5802 §9 suggests this).
			keys = s.fakeSCRAM(user)
		}
		return scram.StoredCredentials{
			KeyFactors: scram.KeyFactors{Salt: string(keys.Salt), Iters: keys.Iterations},
			StoredKey:  keys.StoredKey, ServerKey: keys.ServerKey,
		}, nil
	}
	srv, err := scram.SHA256.NewServer(lookup)
	if err != nil {
		return nil, err
	}
	var cb scram.ChannelBinding
	if cs != nil {
		// With a binding available the PLUS form is advertised, so even
		// the plain form must carry it to detect a downgrade ("y" flag).
		cb, _ = scram.NewTLSExporterBinding(cs)
	}
	switch {
	case plus && !cb.IsSupported():
		return nil, ErrUnknownMechanism
	case plus:
		e.conv = srv.NewConversationWithChannelBindingRequired(cb)
	case cb.IsSupported():
		e.conv = srv.NewConversationWithChannelBinding(cb)
	default:
		e.conv = srv.NewConversation()
	}
	return e, nil
}

func (e *scramExchange) Next(resp []byte) ([]byte, bool, error) {
	switch e.step {
	case 0:
		if resp == nil {
			e.step = 1
			return []byte{}, false, nil
		}
		fallthrough
	case 1:
		e.step = 2
		out, err := e.conv.Step(string(resp))
		if err != nil {
			return nil, false, e.fail(err)
		}
		if a := e.conv.AuthzID(); a != "" && !strings.EqualFold(a, e.conv.Username()) {
			return nil, false, invalid("SCRAM: authorization identity %q differs from %q", a, e.conv.Username())
		}
		return []byte(out), false, nil
	case 2:
		e.step = 3
		out, err := e.conv.Step(string(resp))
		if err != nil || !e.conv.Valid() {
			return nil, false, e.fail(err)
		}
		return []byte(out), false, nil
	case 3:
		e.step = 4
		if len(resp) != 0 {
			return nil, false, invalid("SCRAM: the answer to server-final must be empty")
		}
		return nil, true, nil
	}
	return nil, false, invalid("SCRAM: the exchange is over")
}

func (e *scramExchange) fail(err error) error {
	if e.storeErr != nil {
		return unavailable(e.storeErr)
	}
	if err == nil {
		err = errors.New("proof not valid")
	}
	return invalid("SCRAM: %v", err)
}

// fakeSCRAM gives an unknown user stable, plausible parameters.
func (s *Server) fakeSCRAM(user string) SCRAMKeys {
	mac := func(label string) []byte {
		h := hmac.New(sha256.New, s.secret[:])
		h.Write([]byte(label + "\x00" + strings.ToLower(user)))
		return h.Sum(nil)
	}
	return SCRAMKeys{Salt: mac("salt")[:16], Iterations: SCRAMIterations, StoredKey: mac("stored"), ServerKey: mac("server")}
}
