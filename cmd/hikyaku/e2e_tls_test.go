package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/e2etest"
	"github.com/hikyaku/hikyaku/internal/tlsconf"
)

// These tests drive STARTTLS, implicit TLS, AUTH and submission in the
// real binary with real clients: swaks (--tls, --tls-on-connect, --auth),
// Python's smtplib (starttls, login, SMTP_SSL) and openssl s_client.

// tlsDaemon is a daemon with a submission (587-style) and a submissions
// (465-style) listener, users with passwords, and CRAM-MD5 enabled.
type tlsDaemon struct {
	*daemon
	sub, subs string
	log       *lockedBuffer // the server's stderr, readable while it runs
}

// lockedBuffer is the server's stderr, readable while it runs.
type lockedBuffer = e2etest.LockedBuffer

// start is daemon.start with the log also going where the test may read
// it during the run.
func (d *tlsDaemon) start() {
	d.t.Helper()
	d.stderr = new(bytes.Buffer)
	d.cmd = exec.Command(hikyakuBin(d.t), "serve", "--config", d.cfgPath)
	d.cmd.Stderr = io.MultiWriter(d.stderr, d.log)
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(d.stop)
	waitListening(d.t, d.smtp, d.log)
}

// startTLSDaemon starts hikyaku with tlsTOML added to [tls] and
// authTOML to [auth], and adds users with passwords.
func startTLSDaemon(t *testing.T, tlsTOML, authTOML string, users map[string]string) *tlsDaemon {
	t.Helper()
	dir := t.TempDir()
	d := &daemon{t: t, dataDir: filepath.Join(dir, "data"), smtp: freePort(t), http: freePort(t), cfgPath: filepath.Join(dir, "hikyaku.toml")}
	td := &tlsDaemon{daemon: d, sub: freePort(t), subs: freePort(t), log: &lockedBuffer{}}
	dnsAddr := startFakeDNS(t, "$TTL 300\nremote.example. MX 10 mx.remote.example.\nmx.remote.example. A 127.0.0.9\n")
	cfg := fmt.Sprintf(`hostname = "mx.example.test"
data_dir = %q
[smtp]
listen = [%q]
submission_listen = [%q]
submissions_listen = [%q]
max_sessions_per_ip = 50
[local]
domains = ["example.test"]
[relay]
networks = ["192.0.2.0/24"]
[tls]
%s
[auth]
cram_md5 = true
failure_delay = "0s"
%s
[http]
listen = %q
%s`, d.dataDir, d.smtp, td.sub, td.subs, tlsTOML, authTOML, d.http,
		deliveryConfig(dnsAddr, 25, `retry_min = "1h"`+"\n"+`retry_max = "2h"`))
	if err := os.WriteFile(d.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for u, pw := range users {
		cmd := exec.Command(hikyakuBin(t), "user", "add", "--config", d.cfgPath, "--password-stdin", u)
		cmd.Stdin = strings.NewReader(pw + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("user add %s: %v\n%s", u, err, out)
		}
	}
	td.start()
	return td
}

var testUsers = map[string]string{"alice@example.test": "Open sesame 1", "bob@example.test": "b0b-password"}

// swaks with every mechanism over STARTTLS on the submission port, over
// implicit TLS on the submissions port, and a wrong password.
func TestE2ESwaksTLSAuth(t *testing.T) {
	swaks := need(t, "swaks")
	d := startTLSDaemon(t, "", "", testUsers)
	base := []string{"--from", "alice@example.test", "--to", "friend@remote.example", "--auth-user", "alice@example.test"}
	for _, tc := range []struct {
		name, why string
		args      []string
		want      []string
	}{
		{"plain starttls", "PLAIN after STARTTLS on 587", []string{"--server", d.sub, "--tls", "--auth", "PLAIN", "--auth-password", testUsers["alice@example.test"]},
			[]string{"<-  220 2.0.0", "~> AUTH PLAIN", "<~  235 2.7.0", "<~  250 2.0.0 OK id="}},
		{"login starttls", "LOGIN's two prompts", []string{"--server", d.sub, "--tls", "--auth", "LOGIN", "--auth-password", testUsers["alice@example.test"]},
			[]string{"<~  334 VXNlcm5hbWU6", "<~  235 2.7.0", "<~  250 2.0.0 OK id="}},
		{"cram-md5 starttls", "CRAM-MD5 from the stored HMAC states", []string{"--server", d.sub, "--tls", "--auth", "CRAM-MD5", "--auth-password", testUsers["alice@example.test"]},
			[]string{"~> AUTH CRAM-MD5", "<~  235 2.7.0", "<~  250 2.0.0 OK id="}},
		{"implicit tls", "port 465 style: TLS from the first byte", []string{"--server", d.subs, "--tls-on-connect", "--auth", "PLAIN", "--auth-password", testUsers["alice@example.test"]},
			[]string{"<~  220 mx.example.test", "<~  235 2.7.0", "<~  250 2.0.0 OK id="}},
		{"wrong password", "535 5.7.8", []string{"--server", d.sub, "--tls", "--auth", "PLAIN", "--auth-password", "nope"},
			[]string{"<~* 535 5.7.8"}},
		{"no auth on submission", "530 5.7.0 authentication required", []string{"--server", d.sub, "--tls", "--from", "alice@example.test"},
			[]string{"<~* 530 5.7.0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, base...), tc.args...)
			if tc.name == "no auth on submission" {
				args = []string{"--from", "alice@example.test", "--to", "friend@remote.example", "--server", d.sub, "--tls"}
			}
			out, _ := exec.Command(swaks, append(args, "--header", "Subject: swaks "+tc.name)...).CombinedOutput()
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("swaks output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	metrics := httpGet(t, "http://"+d.http+"/metrics")
	for _, w := range []string{
		`hikyaku_smtp_auth_total{mechanism="PLAIN",result="success"} 2`,
		`hikyaku_smtp_auth_total{mechanism="CRAM-MD5",result="success"} 1`,
		`hikyaku_smtp_auth_total{mechanism="PLAIN",result="failure"} 1`,
		`hikyaku_smtp_tls_sessions_total{how="implicit",version="TLSv1.3"} 1`,
	} {
		if !strings.Contains(metrics, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Python's smtplib: starttls() and login() on the submission port (login
// picks CRAM-MD5 when offered, so PLAIN and LOGIN are forced too),
// SMTP_SSL on the submissions port, and the stored message: ESMTPSA with
// the TLS comment, and Date and Message-ID added.
func TestE2EPythonStarttlsLogin(t *testing.T) {
	py := need(t, "python3")
	d := startTLSDaemon(t, "", "", testUsers)
	host, subPort, _ := net.SplitHostPort(d.sub)
	_, subsPort, _ := net.SplitHostPort(d.subs)
	script := fmt.Sprintf(`
import smtplib, ssl
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
user, pw = "bob@example.test", %q
msg = "From: bob@example.test\r\nTo: alice@example.test\r\nSubject: from smtplib\r\n\r\nhello\r\n"
for mech in (None, "PLAIN", "LOGIN"):
    s = smtplib.SMTP(%q, %s, local_hostname="py.example", timeout=10)
    s.ehlo()
    assert s.has_extn("starttls"), "no STARTTLS"
    assert not s.has_extn("auth"), "AUTH offered in clear"
    s.starttls(context=ctx)
    s.ehlo()
    assert "CRAM-MD5" in s.esmtp_features["auth"], s.esmtp_features
    if mech is None:
        code, _ = s.login(user, pw)
    else:
        s.user, s.password = user, pw
        code, _ = s.auth(mech, getattr(s, "auth_" + mech.lower()), initial_response_ok=(mech == "PLAIN"))
    assert code == 235, code
    s.sendmail("bob@example.test", ["alice@example.test"], msg)
    s.quit()
s = smtplib.SMTP_SSL(%q, %s, local_hostname="py.example", timeout=10, context=ctx)
s.login(user, pw)
try:
    s.sendmail("alice@example.test", ["alice@example.test"], msg)
    raise SystemExit("sent as someone else")
except smtplib.SMTPSenderRefused as e:
    assert e.smtp_code == 553, e
s.quit()
try:
    s = smtplib.SMTP(%q, %s, timeout=10)
    s.starttls(context=ctx)
    s.login(user, "wrong")
    raise SystemExit("wrong password accepted")
except smtplib.SMTPAuthenticationError as e:
    assert e.smtp_code == 535, e
print("ok")
`, testUsers["bob@example.test"], host, subPort, host, subsPort, host, subPort)
	out, err := exec.Command(py, "-c", script).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("smtplib: %v\n%s\nserver:\n%s", err, out, d.log)
	}
	msgs := d.mail("example.test/alice", 3)
	if len(msgs) != 3 {
		t.Fatalf("alice has %d messages, want 3", len(msgs))
	}
	for _, m := range msgs {
		for _, want := range []string{"\t(using TLSv1.3 with cipher TLS_", "with ESMTPSA id ", "\r\nDate: ", "\r\nMessage-ID: <"} {
			if !strings.Contains(m, want) {
				t.Errorf("stored message lacks %q:\n%s", want, m)
			}
		}
	}
}

// openssl s_client -starttls smtp: the handshake, TLS 1.3, EHLO again
// inside TLS with AUTH offered; TLS 1.1 is refused.
func TestE2EOpensslStarttls(t *testing.T) {
	openssl := need(t, "openssl")
	d := startTLSDaemon(t, "", "", testUsers)
	cmd := exec.Command(openssl, "s_client", "-starttls", "smtp", "-connect", d.smtp, "-servername", "mx.example.test", "-crlf", "-ign_eof", "-brief")
	cmd.Stdin = strings.NewReader("EHLO openssl.example\nQUIT\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("s_client: %v\n%s", err, out)
	}
	for _, want := range []string{"Protocol version: TLSv1.3", "250 AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN", "221 2.0.0"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("s_client output lacks %q:\n%s", want, out)
		}
	}
	if _, inside, _ := strings.Cut(string(out), "Hello openssl.example"); strings.Contains(inside, "STARTTLS") {
		t.Errorf("STARTTLS offered again inside TLS:\n%s", out)
	}
	// SECLEVEL=0 lets OpenSSL offer TLS 1.1 at all, so the refusal is ours.
	old := exec.Command(openssl, "s_client", "-starttls", "smtp", "-connect", d.smtp, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-brief")
	old.Stdin = strings.NewReader("QUIT\n")
	if out, err := old.CombinedOutput(); err == nil || !strings.Contains(string(out), "alert protocol version") {
		t.Errorf("TLS 1.1 not refused with protocol_version: %v\n%s", err, out)
	}
}

// presented returns the SHA-256 of the certificate the server presents
// after STARTTLS.
func presented(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	read := func(prefix string) {
		for {
			line, err := br.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, prefix) {
				t.Fatalf("want %s: %q %v", prefix, line, err)
			}
			if line[3] == ' ' {
				return
			}
		}
	}
	read("220")
	fmt.Fprint(c, "EHLO x.example\r\n")
	read("250")
	fmt.Fprint(c, "STARTTLS\r\n")
	read("220")
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(tc.ConnectionState().PeerCertificates[0].Raw)
	return hex.EncodeToString(s[:])
}

func writeCert(t *testing.T, certFile, keyFile, host string) string {
	t.Helper()
	c, err := tlsconf.Generate(host)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	s := sha256.Sum256(c.Certificate[0])
	return hex.EncodeToString(s[:])
}

// Certificate files are re-read on SIGHUP; a broken file is logged and
// the certificate in use kept.
func TestE2ECertReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeCert(t, certFile, keyFile, "mx.example.test")
	d := startTLSDaemon(t, fmt.Sprintf("cert_file = %q\nkey_file = %q", certFile, keyFile), "", nil)
	if got := presented(t, d.smtp); got != first {
		t.Fatalf("presented %s, want the configured %s", got, first)
	}
	second := writeCert(t, certFile, keyFile, "mx.example.test")
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, func() bool { return presented(t, d.smtp) == second })
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, func() bool { return strings.Contains(d.log.String(), "TLS certificate reload failed") })
	if got := presented(t, d.smtp); got != second {
		t.Errorf("after a broken reload presented %s, want %s", got, second)
	}
}

// With no certificate configured, a self-signed one is made on first
// start, logged loudly, and reused at the next start.
func TestE2ESelfSignedReused(t *testing.T) {
	d := startTLSDaemon(t, "", "", nil)
	first := presented(t, d.smtp)
	if !strings.Contains(d.log.String(), "SELF-SIGNED") {
		t.Errorf("no loud warning:\n%s", d.log)
	}
	if _, err := os.Stat(filepath.Join(d.dataDir, "tls", tlsconf.SelfSignedCert)); err != nil {
		t.Fatal(err)
	}
	d.stop()
	d.start()
	if !strings.Contains(d.log.String(), "reusing") {
		t.Errorf("second start did not say it reused the certificate:\n%s", d.log)
	}
	if got := presented(t, d.smtp); got != first {
		t.Errorf("restart presented %s, want the same self-signed %s", got, first)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
