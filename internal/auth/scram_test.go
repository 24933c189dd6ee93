package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xdg-go/scram"
)

// converse runs a real SCRAM client (xdg-go/scram's, an independent
// implementation of the client side) against our exchange, through the
// rounds SMTP gives it.
func converse(t *testing.T, ex Exchange, client *scram.ClientConversation, initial bool) error {
	t.Helper()
	first, err := client.Step("")
	if err != nil {
		t.Fatal(err)
	}
	var resp []byte
	if initial {
		resp = []byte(first)
	} else {
		ch, done, err := ex.Next(nil)
		if err != nil || done || len(ch) != 0 {
			t.Fatalf("want an empty first challenge, got %q %v %v", ch, done, err)
		}
		resp = []byte(first)
	}
	for range 4 {
		ch, done, err := ex.Next(resp)
		if err != nil {
			return err
		}
		if done {
			if !client.Valid() {
				t.Fatal("server said done but the client did not verify the server")
			}
			return nil
		}
		out, err := client.Step(string(ch))
		if err != nil {
			t.Fatalf("client refused the server's %q: %v", ch, err)
		}
		resp = []byte(out)
	}
	t.Fatal("exchange did not end")
	return nil
}

func TestSCRAMWithRealClient(t *testing.T) {
	store := newMemStore(t, map[string]string{"alice@example.test": "s3cret", "ünï@example.test": "pässwörd"})
	srv := NewServer(store, "mx.example.test")
	for _, tc := range []struct {
		name, why      string
		user, password string
		authz          string
		initial        bool
		down           bool
		want           error
	}{
		{"right, initial response", "AUTH SCRAM-SHA-256 <client-first>", "alice@example.test", "s3cret", "", true, false, nil},
		{"right, empty challenge first", "AUTH SCRAM-SHA-256 then 334", "alice@example.test", "s3cret", "", false, false, nil},
		{"non-ASCII", "SASLprep of name and password on both sides (RFC 5802 §5.1)", "ünï@example.test", "pässwörd", "", true, false, nil},
		{"authzid same", "a=user is allowed", "alice@example.test", "s3cret", "alice@example.test", true, false, nil},
		{"authzid other", "acting for another user is refused", "alice@example.test", "s3cret", "bob@example.test", true, false, ErrInvalid},
		{"wrong password", "proof fails: 535", "alice@example.test", "nope", "", true, false, ErrInvalid},
		{"unknown user", "fails at the proof, like a wrong password", "nobody@example.test", "s3cret", "", true, false, ErrInvalid},
		{"store down", "454", "alice@example.test", "s3cret", "", true, true, ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store.down = tc.down
			defer func() { store.down = false }()
			c, err := scram.SHA256.NewClient(tc.user, tc.password, tc.authz)
			if err != nil {
				t.Fatal(err)
			}
			ex, err := srv.Start("SCRAM-SHA-256", nil)
			if err != nil {
				t.Fatal(err)
			}
			err = converse(t, ex, c.NewConversation(), tc.initial)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if ex.User() != tc.user {
				t.Errorf("User() = %q", ex.User())
			}
		})
	}
}

// An unknown user gets a salt and count like anyone else, and the same
// salt each time, so that the server-first message does not tell.
func TestSCRAMUnknownUserLooksReal(t *testing.T) {
	srv := NewServer(newMemStore(t, nil), "h")
	first := func() string {
		ex, _ := srv.Start(SCRAMSHA256, nil)
		ch, _, err := ex.Next([]byte("n,,n=ghost@example.test,r=abcdefghijklmnop"))
		if err != nil {
			t.Fatal(err)
		}
		_, rest, _ := strings.Cut(string(ch), ",s=")
		return rest
	}
	a, b := first(), first()
	if a != b || a == "" {
		t.Errorf("fake salts differ or are empty: %q %q", a, b)
	}
}

// tlsPair returns the server's and the client's view of one real TLS 1.3
// connection over a pipe.
func tlsPair(t *testing.T) (server, client *tls.ConnectionState) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "h"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"h"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	sc := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{cert}})
	cc := tls.Client(b, &tls.Config{InsecureSkipVerify: true})
	errc := make(chan error, 1)
	go func() { errc <- sc.Handshake() }()
	if err := cc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	s, c := sc.ConnectionState(), cc.ConnectionState()
	return &s, &c
}

// SCRAM-SHA-256-PLUS binds the exchange to the TLS channel (RFC 9266
// tls-exporter): the right binding logs in, a client bound to another
// channel (a man in the middle) fails, and a client that supports binding
// but thinks the server does not ("y") is a downgrade and fails.
func TestSCRAMChannelBinding(t *testing.T) {
	store := newMemStore(t, map[string]string{"alice@example.test": "s3cret"})
	srv := NewServer(store, "h")
	serverCS, clientCS := tlsPair(t)
	_, otherCS := tlsPair(t)
	if !ChannelBindingAvailable(serverCS) || ChannelBindingAvailable(nil) {
		t.Fatal("ChannelBindingAvailable wrong")
	}
	c, _ := scram.SHA256.NewClient("alice@example.test", "s3cret", "")
	bind := func(cs *tls.ConnectionState) scram.ChannelBinding {
		cb, err := scram.NewTLSExporterBinding(cs)
		if err != nil {
			t.Fatal(err)
		}
		return cb
	}
	for _, tc := range []struct {
		name, why string
		mech      string
		conv      *scram.ClientConversation
		want      error
	}{
		{"plus bound", "the client's binding matches the server's channel", SCRAMSHA256Plus, c.NewConversationWithChannelBinding(bind(clientCS)), nil},
		{"plus other channel", "a relayed exchange carries the wrong binding", SCRAMSHA256Plus, c.NewConversationWithChannelBinding(bind(otherCS)), ErrInvalid},
		{"plain, no binding support", "a client without binding support ('n') may use SCRAM-SHA-256", SCRAMSHA256, c.NewConversation(), nil},
		{"plain, downgrade", "'y' while PLUS was offered means someone removed it", SCRAMSHA256, c.NewConversationAdvertisingChannelBinding(), ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := srv.Start(tc.mech, serverCS)
			if err != nil {
				t.Fatal(err)
			}
			err = converse(t, ex, tc.conv, true)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
