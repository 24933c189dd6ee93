package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/e2etest"
)

// These tests drive the real binary with real clients (Python's smtplib,
// swaks, Postfix's smtp-source) on loopback, and read the Maildir files
// it leaves, as an administrator would. scripts/setup-test-deps installs
// the clients; a test whose client is missing says so and skips.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// hikyakuBin builds the binary once per test run.
func hikyakuBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hikyaku-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "hikyaku")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// daemon is a running `hikyaku serve`.
type daemon struct {
	t       *testing.T
	cmd     *exec.Cmd
	cfgPath string
	dataDir string
	smtp    string
	http    string
	stderr  *bytes.Buffer
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startDaemon writes a config with the acceptance-suite keys plus extra
// TOML lines, adds users, and starts the server.
func startDaemon(t *testing.T, extra string, users ...string) *daemon {
	t.Helper()
	dir := t.TempDir()
	d := &daemon{t: t, dataDir: filepath.Join(dir, "data"), smtp: freePort(t), http: freePort(t), cfgPath: filepath.Join(dir, "hikyaku.toml")}
	if !strings.Contains(extra, "[delivery]") {
		// Relayed mail must never reach the system resolver: by default
		// every remote domain's MX is an address with no listener, so
		// relayed mail stays deferred in the queue.
		dnsAddr := startFakeDNS(t, "$TTL 300\nremote.example. MX 10 mx.remote.example.\nmx.remote.example. A 127.0.0.9\n")
		extra += "\n" + deliveryConfig(dnsAddr, 25, `retry_min = "1h"`+"\n"+`retry_max = "2h"`)
	}
	cfg := fmt.Sprintf(`hostname = "mx.example.test"
data_dir = %q
[smtp]
listen = [%q]
max_recipients = 100
max_message_size = "25MiB"
max_received = 100
max_sessions_per_ip = 50
[local]
domains = ["example.test"]
[relay]
networks = ["127.0.0.0/8"]
[http]
listen = %q
%s
`, d.dataDir, d.smtp, d.http, extra)
	if err := os.WriteFile(d.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		d.run("user", "add", "--config", d.cfgPath, u)
	}
	d.start()
	return d
}

func (d *daemon) start() {
	d.t.Helper()
	d.stderr = new(bytes.Buffer)
	d.cmd = exec.Command(hikyakuBin(d.t), "serve", "--config", d.cfgPath)
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(d.stop)
	waitListening(d.t, d.smtp, d.stderr)
}

// waitListening waits up to 10s for addr to accept a connection, and
// fails the test with the server's log when it does not.
func waitListening(t *testing.T, addr string, log fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server on %s did not start: %v\n%s", addr, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits: a clean stop delivers what was accepted.
func (d *daemon) stop() {
	if d.cmd == nil || d.cmd.ProcessState != nil {
		return
	}
	if err := e2etest.Stop(d.cmd, 20*time.Second); err != nil {
		d.t.Errorf("hikyaku serve %v\n%s", err, d.stderr)
	}
}

// run runs a hikyaku sub-command and returns its stdout; it fails the
// test on a non-zero exit.
func (d *daemon) run(args ...string) string {
	d.t.Helper()
	out, err := exec.Command(hikyakuBin(d.t), args...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		d.t.Fatalf("hikyaku %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return string(out)
}

// mail returns the messages in a mailbox's new/, waiting up to 10s for
// want of them.
func (d *daemon) mail(mailbox string, want int) []string {
	d.t.Helper()
	dir := filepath.Join(d.dataDir, "mail", mailbox, "new")
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, _ := os.ReadDir(dir)
		if len(entries) >= want || time.Now().After(deadline) {
			var out []string
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					d.t.Fatal(err)
				}
				out = append(out, string(b))
			}
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; scripts/setup-test-deps installs it", tool)
		}
		t.Skipf("%s is not installed (run scripts/setup-test-deps)", tool)
	}
	return p
}

// Python's smtplib: EHLO, a message with a non-ASCII subject, sendmail's
// refused-recipient report, and QUIT.
func TestE2EPythonSmtplib(t *testing.T) {
	py := need(t, "python3")
	d := startDaemon(t, "", "alice@example.test", "bob@example.test")
	host, port, _ := net.SplitHostPort(d.smtp)
	script := fmt.Sprintf(`
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "sender@example.net"
m["To"] = "alice@example.test, bob@example.test"
m["Subject"] = "こんにちは from smtplib"
m.set_content("line one\n.line starting with a dot\n")
s = smtplib.SMTP(%q, %s, local_hostname="py.example", timeout=10)
code, msg = s.ehlo()
assert code == 250 and b"ENHANCEDSTATUSCODES" in msg, (code, msg)
refused = s.send_message(m, to_addrs=["alice@example.test", "bob@example.test", "nobody@example.test"])
assert list(refused) == ["nobody@example.test"], refused
assert refused["nobody@example.test"][0] == 550, refused
print(s.noop())
s.quit()
print("ok")
`, host, port)
	out, err := exec.Command(py, "-c", script).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("smtplib: %v\n%s\nserver:\n%s", err, out, d.stderr)
	}
	for _, mb := range []string{"example.test/alice", "example.test/bob"} {
		msgs := d.mail(mb, 1)
		if len(msgs) != 1 {
			t.Fatalf("%s: %d messages", mb, len(msgs))
		}
		if !strings.Contains(msgs[0], "\r\n.line starting with a dot") || !strings.Contains(msgs[0], "Received: from py.example ([127.0.0.1])") {
			t.Errorf("%s: stored message:\n%s", mb, msgs[0])
		}
	}
}

// swaks: a plain message, then one with PIPELINING and BDAT.
func TestE2ESwaks(t *testing.T) {
	swaks := need(t, "swaks")
	d := startDaemon(t, "", "alice@example.test")
	for _, args := range [][]string{
		{"--to", "alice@example.test", "--from", "s@example.net", "--server", d.smtp, "--header", "Subject: swaks plain"},
		{"--to", "alice@example.test", "--from", "s@example.net", "--server", d.smtp, "--pipeline", "--header", "Subject: swaks pipelined"},
	} {
		out, err := exec.Command(swaks, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("swaks %v: %v\n%s", args, err, out)
		}
		if !strings.Contains(string(out), "<-  250 2.0.0 OK id=") {
			t.Errorf("swaks did not see 250 with a queue id:\n%s", out)
		}
	}
	out, _ := exec.Command(swaks, "--to", "nobody@example.test", "--from", "s@example.net", "--server", d.smtp).CombinedOutput()
	if !strings.Contains(string(out), "<** 550 5.1.1") {
		t.Errorf("swaks to an unknown user:\n%s", out)
	}
	if n := len(d.mail("example.test/alice", 2)); n != 2 {
		t.Errorf("alice has %d messages, want 2", n)
	}
}

// smtp-source: 20 sessions × 1,000 messages; every one is stored once.
func TestE2ESmtpSource(t *testing.T) {
	src := need(t, "smtp-source")
	d := startDaemon(t, "", "alice@example.test")
	out, err := exec.Command(src, "-s", "20", "-m", "1000", "-l", "1024", "-f", "s@example.net", "-t", "alice@example.test", d.smtp).CombinedOutput()
	if err != nil {
		t.Fatalf("smtp-source: %v\n%s", err, out)
	}
	if n := len(d.mail("example.test/alice", 1000)); n != 1000 {
		t.Fatalf("alice has %d messages, want 1000\n%s", n, out)
	}
}

// The relay queue shows what a relay client sent, and the CLI reads it.
func TestE2EQueueList(t *testing.T) {
	py := need(t, "python3")
	d := startDaemon(t, "")
	host, port, _ := net.SplitHostPort(d.smtp)
	script := fmt.Sprintf(`
import smtplib
s = smtplib.SMTP(%q, %s, timeout=10)
s.sendmail("alice@example.test", ["x@remote.example"], "Subject: relay me\r\n\r\nhi\r\n")
s.quit()
`, host, port)
	if out, err := exec.Command(py, "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("smtplib: %v\n%s", err, out)
	}
	var list string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		list = d.run("queue", "list", "--config", d.cfgPath)
		if strings.Contains(list, "x@remote.example (deferred)") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(list, "x@remote.example (deferred)") || !strings.Contains(list, "1 message(s)") {
		t.Fatalf("queue list:\n%s", list)
	}
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	show := d.run("queue", "show", "--config", d.cfgPath, id)
	if !strings.Contains(show, "Subject: relay me") || !strings.Contains(show, `"address": "x@remote.example"`) {
		t.Errorf("queue show:\n%s", show)
	}
}

// A raw session with the pieces smtplib would not send: the greeting
// line and seed 003's lower-case commands.
func TestE2ERawSession(t *testing.T) {
	d := startDaemon(t, "", "alice@example.test")
	c, err := net.Dial("tcp", d.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	expect := func(prefix string) {
		t.Helper()
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("want %q: %v", prefix, err)
			}
			if len(line) >= 4 && line[3] == '-' {
				continue
			}
			if !strings.HasPrefix(line, prefix) {
				t.Fatalf("got %q, want %q", line, prefix)
			}
			return
		}
	}
	expect("220 mx.example.test ESMTP")
	for _, step := range [][2]string{
		{"helo vine42.example\r\n", "250 mx.example.test Hello vine42.example [127.0.0.1]"},
		{"mail from:c1e08@example.test\r\n", "250 2.1.0"},
		{"rcpt to:alice@example.test\r\n", "250 2.1.5"},
		{"data\r\n", "354"},
		{"subject:abc\r\n\r\nabcdef\r\n.\r\n", "250 2.0.0 OK id="},
		{"quit\r\n", "221 2.0.0 mx.example.test"},
	} {
		fmt.Fprint(c, step[0])
		expect(step[1])
	}
}

// The user and alias commands edit users.toml as an administrator would.
func TestE2EUserAliasCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("hostname = \"mx.example.test\"\ndata_dir = %q\n[local]\ndomains = [\"example.test\"]\n", filepath.Join(dir, "data"))), 0o644)
	d := &daemon{t: t}
	d.run("user", "add", "--config", cfg, "--name", "Alice Example", "alice@example.test")
	d.run("alias", "add", "--config", cfg, "--list", "team@example.test", "alice@example.test", "x@remote.example")
	if out := d.run("user", "list", "--config", cfg); !strings.Contains(out, "alice@example.test") || !strings.Contains(out, "Alice Example") {
		t.Errorf("user list:\n%s", out)
	}
	if out := d.run("alias", "list", "--config", cfg); !strings.Contains(out, "team@example.test") || !strings.Contains(out, "x@remote.example") {
		t.Errorf("alias list:\n%s", out)
	}
	d.run("alias", "del", "--config", cfg, "team@example.test")
	d.run("user", "del", "--config", cfg, "alice@example.test")
	if out := d.run("user", "list", "--config", cfg); strings.Contains(out, "alice@") {
		t.Errorf("user still listed after del:\n%s", out)
	}
	cmd := exec.Command(hikyakuBin(t), "user", "del", "--config", cfg)
	if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != 2 {
		t.Errorf("user del without an address: %v, want exit 2", err)
	}
}
