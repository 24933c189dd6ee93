package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Options say where the certificate comes from.
type Options struct {
	// CertFile and KeyFile are PEM files (the chain, leaf first, and its
	// private key). Both empty: a self-signed certificate in Dir.
	CertFile, KeyFile string
	// Hostname is the name the self-signed certificate is made for.
	Hostname string
	// Dir keeps the self-signed certificate between starts.
	Dir    string
	Logger *slog.Logger
}

// Self-signed file names under Options.Dir.
const (
	SelfSignedCert = "selfsigned-cert.pem"
	SelfSignedKey  = "selfsigned-key.pem"
)

// selfSignedLifetime is how long a generated certificate is valid; an
// expired or soon-expiring one is replaced at the next start.
const selfSignedLifetime = 365 * 24 * time.Hour

// Manager holds the current certificate. It is safe for concurrent use:
// handshakes read the certificate while Reload swaps it.
type Manager struct {
	opts       Options
	log        *slog.Logger
	cert       atomic.Pointer[tls.Certificate]
	conf       *tls.Config
	selfSigned bool
}

// New loads the configured certificate, or makes or reuses the
// self-signed one. An error here stops the server from starting: a
// configured certificate that cannot be read is not silently replaced.
func New(o Options) (*Manager, error) {
	m := &Manager{opts: o, log: o.Logger}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.CertFile == "" && o.KeyFile == "":
		m.selfSigned = true
		cert, err := selfSigned(o.Dir, o.Hostname, m.log)
		if err != nil {
			return nil, err
		}
		m.cert.Store(cert)
	case o.CertFile == "" || o.KeyFile == "":
		return nil, errors.New("tls: cert_file and key_file go together")
	default:
		cert, err := loadPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, err
		}
		m.cert.Store(cert)
		m.describe("TLS certificate loaded", cert)
	}
	m.conf = m.newConf()
	return m, nil
}

// newConf leaves CipherSuites, curves and session tickets to Go's
// defaults, which follow current advice release by release.
func (m *Manager) newConf() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return m.cert.Load(), nil
		},
	}
}

// ServerConfig is the configuration for handshakes. It never changes; the
// certificate inside it follows Reload.
func (m *Manager) ServerConfig() (*tls.Config, error) {
	if m == nil || m.cert.Load() == nil {
		return nil, errors.New("tls: no certificate")
	}
	return m.conf, nil
}

// SelfSigned reports whether the certificate is the generated one.
func (m *Manager) SelfSigned() bool { return m.selfSigned }

// Certificate is the certificate presented now.
func (m *Manager) Certificate() *tls.Certificate { return m.cert.Load() }

// Reload re-reads the certificate files (on SIGHUP, after a renewal). On
// any error the certificate in use stays and the error is returned for
// the caller to log. With a self-signed certificate it does nothing.
func (m *Manager) Reload() error {
	if m.selfSigned {
		return nil
	}
	cert, err := loadPair(m.opts.CertFile, m.opts.KeyFile)
	if err != nil {
		return fmt.Errorf("%w; keeping the certificate in use", err)
	}
	m.cert.Store(cert)
	m.describe("TLS certificate reloaded", cert)
	return nil
}

func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: loading %s and %s: %w", certFile, keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls: %s: %w", certFile, err)
		}
	}
	return &cert, nil
}

// describe logs what is presented now, and warns about what clients that
// check will refuse.
func (m *Manager) describe(msg string, cert *tls.Certificate) {
	leaf := cert.Leaf
	m.log.Info(msg, "subject", leaf.Subject.String(), "names", leaf.DNSNames,
		"not_after", leaf.NotAfter.Format(time.RFC3339), "sha256", fingerprint(leaf))
	if time.Now().After(leaf.NotAfter) {
		m.log.Warn("TLS certificate has expired", "not_after", leaf.NotAfter.Format(time.RFC3339))
	}
	if m.opts.Hostname != "" && leaf.VerifyHostname(m.opts.Hostname) != nil {
		m.log.Warn("TLS certificate does not name this host", "hostname", m.opts.Hostname, "names", leaf.DNSNames)
	}
}

func fingerprint(c *x509.Certificate) string {
	s := sha256.Sum256(c.Raw)
	return hex.EncodeToString(s[:])
}

// selfSigned reuses the certificate in dir when it is still good for
// hostname, else makes a new one (ECDSA P-256, one year).
func selfSigned(dir, hostname string, log *slog.Logger) (*tls.Certificate, error) {
	if dir == "" || hostname == "" {
		return nil, errors.New("tls: a self-signed certificate needs a directory and a host name")
	}
	certPath, keyPath := filepath.Join(dir, SelfSignedCert), filepath.Join(dir, SelfSignedKey)
	cert, err := loadPair(certPath, keyPath)
	switch {
	case err == nil && cert.Leaf.VerifyHostname(hostname) == nil && time.Until(cert.Leaf.NotAfter) > 30*24*time.Hour:
		loudly(log, "reusing", certPath, cert.Leaf)
		return cert, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		log.Warn("self-signed TLS certificate unreadable; making a new one", "err", err)
	}
	if cert, err = generate(hostname); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return nil, err
	}
	if err := writeFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	if err := writeFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644); err != nil {
		return nil, err
	}
	loudly(log, "generated", certPath, cert.Leaf)
	return cert, nil
}

// loudly says, at warning level, what a self-signed certificate means.
func loudly(log *slog.Logger, what, path string, leaf *x509.Certificate) {
	log.Warn("TLS: using a SELF-SIGNED certificate ("+what+"). This is a development convenience: "+
		"clients that verify certificates will refuse it. Set [tls] cert_file and key_file for real use.",
		"file", path, "names", leaf.DNSNames, "not_after", leaf.NotAfter.Format(time.RFC3339), "sha256", fingerprint(leaf))
}

func generate(hostname string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hostname, Organization: []string{"hikyaku self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{hostname},
	}
	if hostname != "localhost" {
		tmpl.DNSNames = append(tmpl.DNSNames, "localhost")
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// writeFile replaces path atomically, so that a crash never leaves half a
// key.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("tls: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("tls: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("tls: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	return nil
}

// Generate makes a self-signed certificate for hostname without keeping
// it anywhere: for tests and benchmarks that need a TLS server.
func Generate(hostname string) (*tls.Certificate, error) { return generate(hostname) }

// Static returns a Manager that presents cert, for tests and benchmarks.
func Static(cert *tls.Certificate) *Manager {
	m := &Manager{log: slog.New(slog.DiscardHandler), selfSigned: true}
	m.cert.Store(cert)
	m.conf = m.newConf()
	return m
}
