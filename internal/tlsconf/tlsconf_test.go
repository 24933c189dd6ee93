package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writePair(t *testing.T, dir, host string) (certFile, keyFile string) {
	t.Helper()
	c, err := Generate(host)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	return
}

// handshake connects a client with the given version range and returns
// the certificate it saw, or the error.
func handshake(t *testing.T, m *Manager, minV, maxV uint16) (*x509.Certificate, tls.ConnectionState, error) {
	t.Helper()
	conf, err := m.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { tls.Server(a, conf).Handshake(); a.Close() }()
	cc := tls.Client(b, &tls.Config{InsecureSkipVerify: true, MinVersion: minV, MaxVersion: maxV})
	if err := cc.Handshake(); err != nil {
		return nil, tls.ConnectionState{}, err
	}
	cs := cc.ConnectionState()
	return cs.PeerCertificates[0], cs, nil
}

// The self-signed certificate is made on first start, logged as such,
// kept with a private key only the owner can read, and reused next time.
func TestSelfSignedMadeOnceAndReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	m1, err := New(Options{Hostname: "mx.example.test", Dir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if !m1.SelfSigned() || !strings.Contains(logBuf.String(), "SELF-SIGNED") || !strings.Contains(logBuf.String(), "generated") {
		t.Errorf("first start not logged loudly: %s", logBuf.String())
	}
	fi, err := os.Stat(filepath.Join(dir, SelfSignedKey))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}
	logBuf.Reset()
	m2, err := New(Options{Hostname: "mx.example.test", Dir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m1.Certificate().Certificate[0], m2.Certificate().Certificate[0]) || !strings.Contains(logBuf.String(), "reusing") {
		t.Error("second start did not reuse the certificate")
	}
	leaf, _, err := handshake(t, m2, 0, 0)
	if err != nil || leaf.VerifyHostname("mx.example.test") != nil {
		t.Fatalf("handshake: %v, names %v", err, leaf)
	}
	// A new host name needs a new certificate.
	m3, err := New(Options{Hostname: "other.example.test", Dir: dir, Logger: log})
	if err != nil || m3.Certificate().Leaf.VerifyHostname("other.example.test") != nil {
		t.Errorf("host name change: %v", err)
	}
}

// Only TLS 1.2 and later: a TLS 1.1 client fails; 1.2 and 1.3 work.
func TestVersions(t *testing.T) {
	dir := t.TempDir()
	m, err := New(Options{Hostname: "h.example", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		min, max uint16
		ok       bool
	}{
		{"TLS 1.1 refused (RFC 8996)", tls.VersionTLS10, tls.VersionTLS11, false},
		{"TLS 1.2", tls.VersionTLS12, tls.VersionTLS12, true},
		{"TLS 1.3", tls.VersionTLS13, tls.VersionTLS13, true},
	} {
		_, cs, err := handshake(t, m, tc.min, tc.max)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.name, err)
		}
		if tc.ok && cs.Version != tc.max {
			t.Errorf("%s: negotiated %x", tc.name, cs.Version)
		}
	}
}

// Reload swaps in a renewed certificate; a broken file keeps the old one.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, "mx.example.test")
	m, err := New(Options{CertFile: certFile, KeyFile: keyFile, Hostname: "mx.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	first := m.Certificate().Certificate[0]
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	writePair(t, dir, "mx.example.test")
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	second := m.Certificate().Certificate[0]
	if bytes.Equal(first, second) {
		t.Fatal("reload kept the old certificate")
	}
	leaf, _, err := handshake(t, m, 0, 0)
	if err != nil || !bytes.Equal(leaf.Raw, second) {
		t.Fatal("handshake does not present the reloaded certificate")
	}
	os.WriteFile(keyFile, []byte("garbage"), 0o600)
	if err := m.Reload(); err == nil || !strings.Contains(err.Error(), "keeping") {
		t.Fatalf("broken reload: %v", err)
	}
	if !bytes.Equal(m.Certificate().Certificate[0], second) {
		t.Error("a broken reload replaced the certificate")
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	certFile, _ := writePair(t, dir, "h")
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"cert without key", Options{CertFile: certFile, Hostname: "h"}},
		{"missing files", Options{CertFile: filepath.Join(dir, "no.pem"), KeyFile: filepath.Join(dir, "no.key"), Hostname: "h"}},
		{"self-signed without dir", Options{Hostname: "h"}},
	} {
		if _, err := New(tc.o); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
