package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/net/idna"
)

// Key is one signing key: d= Domain, s= Selector.
type Key struct {
	Domain, Selector string
	Signer           crypto.Signer // ed25519.PrivateKey or *rsa.PrivateKey
}

// rsaBits is the size of generated RSA keys: 2048 is what mailbox
// providers ask for and still fits a TXT record in two strings.
const rsaBits = 2048

// minRSABits is RFC 8301 §3.2's floor for signing keys.
const minRSABits = 1024

// GenerateKey makes a new key, "ed25519" or "rsa" (2048 bits), and its
// PKCS #8 PEM encoding to save.
func GenerateKey(alg string) (crypto.Signer, []byte, error) {
	var key crypto.Signer
	switch strings.ToLower(alg) {
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		key = k
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return nil, nil, err
		}
		key = k
	default:
		return nil, nil, fmt.Errorf("dkim: unknown key algorithm %q (want ed25519 or rsa)", alg)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// LoadKey reads a PEM private key: PKCS #8 ("PRIVATE KEY", ed25519 or
// RSA) or PKCS #1 ("RSA PRIVATE KEY", as opendkim-genkey writes).
func LoadKey(domain, selector, pemPath string) (Key, error) {
	d, err := normDomain(domain)
	if err != nil {
		return Key{}, err
	}
	if err := checkSelector(selector); err != nil {
		return Key{}, err
	}
	data, err := os.ReadFile(pemPath)
	if err != nil {
		return Key{}, fmt.Errorf("dkim: %w", err)
	}
	signer, err := parseKey(data)
	if err != nil {
		return Key{}, fmt.Errorf("dkim: %s: %w", pemPath, err)
	}
	return Key{Domain: d, Selector: strings.ToLower(selector), Signer: signer}, nil
}

func parseKey(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM private key found")
		}
		var k any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			continue // parameters, certificates: look further
		}
		if err != nil {
			return nil, err
		}
		switch k := k.(type) {
		case ed25519.PrivateKey:
			return k, nil
		case *rsa.PrivateKey:
			if bits := k.N.BitLen(); bits < minRSABits {
				return nil, fmt.Errorf("RSA key of %d bits, under RFC 8301's %d", bits, minRSABits)
			}
			return k, nil
		}
		return nil, fmt.Errorf("unsupported key type %T (want ed25519 or RSA)", k)
	}
}

// DNSRecord is the TXT record to publish for pub, in zone-file form:
//
//	sel._domainkey.example.com. IN TXT "v=DKIM1; k=ed25519; p=…"
//
// An RSA key's p= is its SubjectPublicKeyInfo, as opendkim-genkey writes
// it; an ed25519 key's is the bare 32 octets (RFC 8463 §4.2). The text is
// cut into strings of at most 255 octets (RFC 1035 §3.3.14), which
// verifiers join again (RFC 6376 §3.6.2.2). An unsupported key gives "".
func DNSRecord(selector, domain string, pub crypto.PublicKey) string {
	var k string
	var p []byte
	switch pub := pub.(type) {
	case ed25519.PublicKey:
		k, p = "ed25519", pub
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return ""
		}
		k, p = "rsa", der
	default:
		return ""
	}
	if d, err := normDomain(domain); err == nil {
		domain = d
	}
	text := "v=DKIM1; k=" + k + "; p=" + base64.StdEncoding.EncodeToString(p)
	var parts []string
	for len(text) > 255 {
		parts = append(parts, `"`+text[:255]+`"`)
		text = text[255:]
	}
	parts = append(parts, `"`+text+`"`)
	return fmt.Sprintf("%s._domainkey.%s. IN TXT %s", strings.ToLower(selector), domain, strings.Join(parts, " "))
}

// normDomain is the form keys are filed under: lower-case A-labels, no
// final dot.
func normDomain(d string) (string, error) {
	d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
	if d == "" {
		return "", errors.New("dkim: empty domain")
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("dkim: domain %q: %v", d, err)
	}
	return a, nil
}

// checkSelector allows what fits a DNS label sequence (RFC 6376 §3.1).
func checkSelector(s string) error {
	if s == "" {
		return errors.New("dkim: empty selector")
	}
	for l := range strings.SplitSeq(s, ".") {
		if l == "" || len(l) > 63 {
			return fmt.Errorf("dkim: selector %q is not a sequence of DNS labels", s)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("dkim: selector %q has %q", s, c)
			}
		}
	}
	return nil
}
