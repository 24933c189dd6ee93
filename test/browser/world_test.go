package browser

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/dnsfake"
	"github.com/hikyaku/hikyaku/internal/e2etest"
	"github.com/hikyaku/hikyaku/internal/peertest"
)

// world is what the dashboard is tested against: the real binary, a
// config whose domains d0.test … d9.test have their MX at a scripted peer
// on 127.0.0.2, the fake DNS, and `hikyaku serve` on loopback.
type world struct {
	t        *testing.T
	dir      string
	bin      string
	cfg      string
	dataDir  string
	httpAddr string // the dashboard's listener, host:port
	smtpAddr string // serve's SMTP listener
	netns    bool   // serve runs in a network namespace of its own (startServeInNetns)
	peer     *peertest.Peer
	serve    *exec.Cmd
	serveErr *lockedBuffer
}

// lockedBuffer collects a child's stderr while the test reads it.
type lockedBuffer = e2etest.LockedBuffer

// buildHikyaku builds cmd/hikyaku into dir: the test drives the binary an
// operator runs, not a copy of its wiring.
func buildHikyaku(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "hikyaku")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/hikyaku/hikyaku/cmd/hikyaku")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// newWorld starts the fake DNS and the peer and writes the config;
// httpIP is the dashboard listener's address, httpExtra more keys of
// [http], extra more TOML lines (they go before [delivery], so they may
// open a table of their own).
func newWorld(t *testing.T, bin string, script peertest.Script, httpIP, httpExtra, extra string) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir(), bin: bin}
	p, err := peertest.StartAt("127.0.0.2:0", script)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	w.peer = p
	var zone strings.Builder
	// nowhere.test has no record at all: its recipients end with the
	// resolver's code, one more code for the pages to show.
	// remote.example's MX has no listener: relayed mail to it stays
	// deferred in the queue.
	zone.WriteString("$TTL 300\nmx.peer.test. A 127.0.0.2\nremote.example. MX 10 mx.remote.example.\nmx.remote.example. A 127.0.0.9\n")
	for i := range 10 {
		fmt.Fprintf(&zone, "d%d.test. MX 10 mx.peer.test.\n", i)
	}
	dns, err := dnsfake.Start(dnsfake.Options{Zone: zone.String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() })
	w.dataDir = filepath.Join(w.dir, "data")
	w.httpAddr = net.JoinHostPort(farIP, "8025") // its namespace has no other listener
	if httpIP != farIP {
		w.httpAddr = freePort(t, httpIP)
	}
	w.cfg = filepath.Join(w.dir, "hikyaku.toml")
	w.smtpAddr = freePort(t, "127.0.0.1")
	cfg := fmt.Sprintf(`hostname = "sender.example.test"
data_dir = %q
[smtp]
listen = [%q]
[local]
domains = ["example.test"]
[relay]
networks = ["127.0.0.0/8"]
[http]
listen = %q
%s
[campaign]
return_path_domain = "bounce.example.test"
retry_min = "100ms"
retry_max = "200ms"
%s
[delivery]
dns_servers = [%q]
smtp_port = %d
loop_addresses = ["127.0.0.254"]
timeout = "5s"
dot_timeout = "5s"
retry_min = "1h"
retry_max = "2h"
`, w.dataDir, w.smtpAddr, w.httpAddr, httpExtra, extra, dns.Addr, p.Addr.Port())
	if err := os.WriteFile(w.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// writeList writes a campaign list of n rows and a template and returns
// their paths. Row i goes to user{i}@d{i%10}.test, every seventh row to
// nowhere.test.
func (w *world) writeList(name string, n int) (list, tmpl string) {
	var b strings.Builder
	b.WriteString("email\tname\n")
	for i := range n {
		dom := fmt.Sprintf("d%d.test", i%10)
		if i%7 == 6 {
			dom = "nowhere.test"
		}
		fmt.Fprintf(&b, "user%d@%s\tName %d\n", i, dom, i)
	}
	list = filepath.Join(w.dir, name+".tsv")
	tmpl = filepath.Join(w.dir, name+".eml")
	if err := os.WriteFile(list, []byte(b.String()), 0o644); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(tmpl, []byte("From: Shop <news@example.test>\nTo: {{.email}}\nSubject: Hello {{.name}}\n\nDear {{.name}}, row {{.row}}.\n"), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return list, tmpl
}

// mixedScript answers RCPT per recipient of writeList's first n rows: two
// in seven 550 5.1.1 (scored 1: suppressed), one in seven 552 5.2.2
// (scored 0.1), the rest 250 (but for nowhere.test's, which never get
// here).
func mixedScript(n int) peertest.Script {
	r := map[string]string{}
	for i := range n {
		a := fmt.Sprintf("user%d@d%d.test", i, i%10)
		switch i % 7 {
		case 1, 4:
			r[a] = "550 5.1.1 <" + a + ">: Recipient address rejected: User unknown"
		case 2:
			r[a] = "552 5.2.2 <" + a + ">: Mailbox full"
		}
	}
	return peertest.Script{RcptReplies: r}
}

// hk runs the binary with the config and returns its stdout; a non-zero
// exit fails the test.
func (w *world) hk(args ...string) string {
	w.t.Helper()
	cmd := exec.Command(w.bin, append(args, "--config", w.cfg)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		w.t.Fatalf("hikyaku %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// hkIn is hk with stdin.
func (w *world) hkIn(stdin string, args ...string) string {
	w.t.Helper()
	cmd := exec.Command(w.bin, append(args, "--config", w.cfg)...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errb
	if err := cmd.Run(); err != nil {
		w.t.Fatalf("hikyaku %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// startServe starts `hikyaku serve` and waits for its HTTP listener.
func (w *world) startServe() {
	w.t.Helper()
	w.serveErr = new(lockedBuffer)
	w.serve = exec.Command(w.bin, "serve", "--config", w.cfg)
	w.serve.Stderr = w.serveErr
	if err := w.serve.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(w.stopServe)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", w.httpAddr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("serve did not listen on %s: %v\n%s", w.httpAddr, err, w.serveErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// farIP is the dashboard's address when it must listen beyond loopback:
// TEST-NET-1 (RFC 5737), put on the loopback device of a network namespace
// made for serve, so nothing outside that namespace can reach it (it has
// no other device) and serve's own check of its listen address sees an
// address that is not loopback. Every address of 127.0.0.0/8 is loopback
// to internal/web (IsLoopback), so 127.0.0.2 would not do.
const farIP = "192.0.2.1"

// startServeInNetns starts serve in a new network namespace (unshare -n,
// which needs root; ip, nsenter and bash of util-linux and iproute2)
// listening on farIP; chromiumInNetns gives a browser in the same
// namespace. false when the namespace cannot be made.
func (w *world) startServeInNetns() bool {
	w.t.Helper()
	for _, tool := range []string{"unshare", "nsenter", "ip", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			w.t.Logf("%s: %v", tool, err)
			return false
		}
	}
	if out, err := exec.Command("unshare", "-n", "true").CombinedOutput(); err != nil {
		w.t.Logf("unshare -n: %v %s", err, out)
		return false
	}
	w.netns = true
	w.serveErr = new(lockedBuffer)
	// unshare and sh exec, so the process started is serve itself.
	w.serve = exec.Command("unshare", "-n", "sh", "-c",
		`ip link set lo up && ip addr add `+farIP+`/32 dev lo && exec "$0" serve --config "$1"`, w.bin, w.cfg)
	w.serve.Stderr = w.serveErr
	if err := w.serve.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(w.stopServe)
	host, port, _ := net.SplitHostPort(w.httpAddr)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := w.inNetns("bash", "-c", "exec 3<>/dev/tcp/"+host+"/"+port).Run()
		if err == nil {
			return true
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("serve did not listen on %s in its namespace: %v\n%s", w.httpAddr, err, w.serveErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// inNetns is a command run in serve's network namespace.
func (w *world) inNetns(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{fmt.Sprintf("--net=/proc/%d/ns/net", w.serve.Process.Pid), name}, args...)...)
}

// chromiumInNetns writes a script that runs chromium in serve's network
// namespace, for newBrowser's exec path.
func (w *world) chromiumInNetns(chromium string) string {
	w.t.Helper()
	path := filepath.Join(w.dir, "chromium-netns")
	script := fmt.Sprintf("#!/bin/sh\nexec nsenter --net=/proc/%d/ns/net %s \"$@\"\n", w.serve.Process.Pid, chromium)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		w.t.Fatal(err)
	}
	return path
}

func (w *world) stopServe() {
	if w.serve == nil || w.serve.ProcessState != nil {
		return
	}
	if err := e2etest.Stop(w.serve, 15*time.Second); err != nil {
		w.t.Errorf("hikyaku serve %v\n%s", err, w.serveErr)
	}
}

// on is w for a subtest: failures go to t.
func (w *world) on(t *testing.T) *world {
	c := *w
	c.t = t
	return &c
}

// base is the dashboard's URL.
func (w *world) base() string { return "http://" + w.httpAddr }
