package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/dnsfake"
)

// These tests run the delivery engine end to end: the real binary, the
// fake DNS on loopback, and real peers (Postfix's smtp-sink, a private
// Postfix instance).

// freeLoopPort finds a port free on ip.
func freeLoopPort(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startFakeDNS(t *testing.T, zone string) string {
	t.Helper()
	s, err := dnsfake.Start(dnsfake.Options{Zone: zone})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Addr
}

// startSink runs smtp-sink on ip:port and returns a function that stops
// it and returns its counters line.
func startSink(t *testing.T, ip string, port int) func() string {
	t.Helper()
	sink := need(t, "smtp-sink")
	var out strings.Builder
	cmd := exec.Command(sink, "-u", "postfix", "-c", net.JoinHostPort(ip, strconv.Itoa(port)), "100")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() string {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		return out.String()
	}
	t.Cleanup(func() { stop() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, err := net.Dial("tcp", net.JoinHostPort(ip, strconv.Itoa(port))); err == nil {
			c.Close()
			return stop
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtp-sink did not start: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func deliveryConfig(dnsAddr string, port int, extra string) string {
	return fmt.Sprintf(`[delivery]
dns_servers = [%q]
smtp_port = %d
loop_addresses = ["127.0.0.254"]
timeout = "5s"
dot_timeout = "5s"
%s`, dnsAddr, port, extra)
}

// `hikyaku send` delivers to smtp-sink through the fake DNS and reports
// one line per recipient; an unknown domain is 700 and the exit status 1.
func TestE2ESendToSmtpSink(t *testing.T) {
	port := freeLoopPort(t, "127.0.0.2")
	dnsAddr := startFakeDNS(t, "sink.test. 300 IN MX 10 mx.sink.test.\nmx.sink.test. 300 IN A 127.0.0.2\n")
	stop := startSink(t, "127.0.0.2", port)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("hostname = \"mx.example.test\"\ndata_dir = %q\n", filepath.Join(dir, "data"))+deliveryConfig(dnsAddr, port, "")), 0o644)
	msg := filepath.Join(dir, "m.eml")
	os.WriteFile(msg, []byte("Subject: send test\nFrom: a@example.test\n\nhello\n"), 0o644)

	out, err := exec.Command(hikyakuBin(t), "send", "--config", cfg, "--from", "a@example.test", "--to", "u1@sink.test", "--to", "u2@sink.test", msg).CombinedOutput()
	if err != nil {
		t.Fatalf("send: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "\t250 "); n != 2 || !strings.Contains(string(out), "via mx.sink.test [127.0.0.2]") {
		t.Errorf("send output:\n%s", out)
	}
	out, err = exec.Command(hikyakuBin(t), "send", "--config", cfg, "--json", "--from", "a@example.test", "--to", "u1@sink.test", "--to", "x@nowhere.test", msg).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("send with an unknown domain: %v, want exit 1\n%s", err, out)
	}
	if !strings.Contains(string(out), `"recipient":"x@nowhere.test","code":700`) || !strings.Contains(string(out), `"recipient":"u1@sink.test","code":250`) {
		t.Errorf("send --json output:\n%s", out)
	}
	if counters := stop(); !strings.Contains(counters, "mesg=") {
		t.Logf("smtp-sink said: %s", counters)
	}
}

// `hikyaku serve` relays a message from a relay client to a real Postfix
// found through the fake DNS; Postfix logs it delivered. A second
// recipient at a domain with no mail host comes back to the local sender
// as an RFC 3464 DSN in its mailbox.
func TestE2ERelayToPostfix(t *testing.T) {
	need(t, "postfix")
	if os.Geteuid() != 0 {
		t.Skip("the private Postfix instance needs root")
	}
	pfDir := t.TempDir()
	pfPort := freeLoopPort(t, "127.0.0.1")
	script, _ := filepath.Abs("../../bench/postfix-ref.sh")
	if out, err := exec.Command("bash", "-c", fmt.Sprintf("source %q && pfref_start %q %d", script, pfDir, pfPort)).CombinedOutput(); err != nil {
		t.Fatalf("starting Postfix: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("bash", "-c", fmt.Sprintf("source %q && pfref_stop %q", script, pfDir)).Run() })

	dnsAddr := startFakeDNS(t, "pf.test. 300 IN MX 10 mx.pf.test.\nmx.pf.test. 300 IN A 127.0.0.1\nnomail.test. 300 IN MX 0 .\n")
	d := startDaemon(t, deliveryConfig(dnsAddr, pfPort, "retry_min = \"200ms\"\nretry_max = \"1s\""), "alice@example.test")
	host, port, _ := net.SplitHostPort(d.smtp)
	py := need(t, "python3")
	sendScript := fmt.Sprintf(`
import smtplib
s = smtplib.SMTP(%q, %s, timeout=10)
s.sendmail("alice@example.test", ["bob@pf.test", "carol@nomail.test"], "Subject: to postfix\r\nMessage-ID: <relay-e2e@example.test>\r\n\r\nhi\r\n")
s.quit()
`, host, port)
	if out, err := exec.Command(py, "-c", sendScript).CombinedOutput(); err != nil {
		t.Fatalf("smtplib: %v\n%s", err, out)
	}
	logPath := ""
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := exec.Command("bash", "-c", fmt.Sprintf("source %q && pfref_log %q", script, pfDir)).Output()
		logPath = strings.TrimSpace(string(out))
		b, _ := os.ReadFile(logPath)
		if strings.Contains(string(b), "to=<bob@pf.test>") && strings.Contains(string(b), "status=sent") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(logPath)
	if !strings.Contains(string(b), "to=<bob@pf.test>") {
		t.Fatalf("Postfix never got bob@pf.test; its log (%s):\n%s\nhikyaku:\n%s", logPath, b, d.stderr)
	}
	// The DSN for carol@nomail.test (null MX: 710, 5.1.10).
	msgs := d.mail("example.test/alice", 1)
	if len(msgs) != 1 {
		t.Fatalf("alice got %d messages, want the DSN\n%s", len(msgs), d.stderr)
	}
	dsn := msgs[0]
	for _, want := range []string{"Return-Path: <>", "multipart/report", "report-type=delivery-status", "Final-Recipient: rfc822; carol@nomail.test", "Action: failed", "Status: 5.1.10"} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn)
		}
	}
	if strings.Contains(dsn, "bob@pf.test") && strings.Contains(dsn, "Final-Recipient: rfc822; bob@pf.test") {
		t.Errorf("DSN names the delivered recipient:\n%s", dsn)
	}
	list := d.run("queue", "list", "--config", d.cfgPath)
	if !strings.Contains(list, "0 message(s)") {
		t.Errorf("relay queue not empty after delivery:\n%s", list)
	}
}
