package auth

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"strings"
)

// Mechanism names, as in AUTH and the EHLO keyword.
const (
	Plain           = "PLAIN"              // RFC 4616
	Login           = "LOGIN"              // draft-murchison-sasl-login
	CRAMMD5         = "CRAM-MD5"           // RFC 2195
	SCRAMSHA256     = "SCRAM-SHA-256"      // RFC 5802, RFC 7677
	SCRAMSHA256Plus = "SCRAM-SHA-256-PLUS" // RFC 5802 §6 with tls-exporter (RFC 9266)
)

// Errors an exchange ends with. Anything else from Next wraps one of them.
var (
	// ErrInvalid: wrong credentials, unknown user, or a response that does
	// not follow the mechanism (535 5.7.8; the two are not told apart so
	// that AUTH cannot be used to probe accounts).
	ErrInvalid = errors.New("authentication credentials invalid")
	// ErrUnavailable: the credential store could not answer (454 4.7.0).
	ErrUnavailable = errors.New("credential store unavailable")
	// ErrInitialResponse: an initial response for a mechanism in which the
	// server speaks first (RFC 4954 §4: 501).
	ErrInitialResponse = errors.New("mechanism takes no initial response")
	// ErrUnknownMechanism: Start got a name it does not implement.
	ErrUnknownMechanism = errors.New("unknown mechanism")
)

// Store is where the secrets of users are kept. The user is the
// authentication identity as the client typed it; the store decides how
// to normalise it. A false "found" is an unknown user or one with no such
// secret (no password, or CRAM-MD5 not enabled when it was set); an error
// means the store itself failed.
type Store interface {
	// CheckPassword compares a password (PLAIN, LOGIN); it should take as
	// long for an unknown user as for a wrong password.
	CheckPassword(user, password string) (bool, error)
	SCRAMSHA256Keys(user string) (keys SCRAMKeys, found bool, err error)
	CRAMMD5Keys(user string) (keys CRAMKeys, found bool, err error)
}

// Exchange is one authentication attempt.
type Exchange interface {
	// Next takes the client's next response, already base64-decoded. The
	// first call gets the initial response of the AUTH command, or nil
	// when there was none ("=" is an empty, non-nil response). It returns
	// the next challenge, or done once the client is authenticated. After
	// an error the exchange is over.
	Next(response []byte) (challenge []byte, done bool, err error)
	// User is the authentication identity the client gave, as given, or
	// "" before it is known: for logs and the per-user throttle.
	User() string
}

// Server starts exchanges against one Store.
type Server struct {
	store    Store
	hostname string
	// secret makes the fake SCRAM parameters of unknown users stable per
	// process, so asking twice does not reveal that the user is unknown.
	secret [32]byte
}

// NewServer returns a Server. hostname goes into CRAM-MD5 challenges.
func NewServer(store Store, hostname string) *Server {
	s := &Server{store: store, hostname: hostname}
	rand.Read(s.secret[:])
	return s
}

// Start begins an exchange with the named mechanism (case-insensitive).
// cs is the TLS state of the connection, nil in clear; the -PLUS
// mechanism needs it to bind the exchange to the channel.
func (s *Server) Start(mech string, cs *tls.ConnectionState) (Exchange, error) {
	switch strings.ToUpper(mech) {
	case Plain:
		return &plainExchange{store: s.store}, nil
	case Login:
		return &loginExchange{store: s.store}, nil
	case CRAMMD5:
		return &cramExchange{store: s.store, hostname: s.hostname}, nil
	case SCRAMSHA256:
		return s.newSCRAM(cs, false)
	case SCRAMSHA256Plus:
		return s.newSCRAM(cs, true)
	}
	return nil, ErrUnknownMechanism
}

// Known reports whether mech names a mechanism this package implements,
// whatever the configuration allows.
func Known(mech string) bool {
	switch strings.ToUpper(mech) {
	case Plain, Login, CRAMMD5, SCRAMSHA256, SCRAMSHA256Plus:
		return true
	}
	return false
}

// Plaintext reports whether mech sends the password itself, readable by
// anyone on the path unless the connection is encrypted.
func Plaintext(mech string) bool {
	m := strings.ToUpper(mech)
	return m == Plain || m == Login
}

// ChannelBindingAvailable reports whether SCRAM-SHA-256-PLUS can be
// offered on a connection in state cs: it binds to tls-exporter (RFC
// 9266), which Go provides for TLS 1.3 and for TLS 1.2 with extended
// master secret.
func ChannelBindingAvailable(cs *tls.ConnectionState) bool {
	if cs == nil {
		return false
	}
	_, err := cs.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
	return err == nil
}
