package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/auth"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/metrics"
	"github.com/hikyaku/hikyaku/internal/queue"
	"github.com/hikyaku/hikyaku/internal/resolve"
	"github.com/hikyaku/hikyaku/internal/spool"
	"github.com/hikyaku/hikyaku/internal/tlsconf"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMain(m *testing.M) {
	// Cheap argon2id: the format and the check are the same.
	mailbox.SetHashCost(64, 1)
	os.Exit(m.Run())
}

// testCert is one self-signed certificate for every test server.
var testCert = sync.OnceValue(func() *tls.Certificate {
	c, err := tlsconf.Generate("mx.example.test")
	if err != nil {
		panic(err)
	}
	return c
})

// Passwords of the test users; bob has none and cannot AUTH.
const (
	alicePassword = "s3cret"
	carlPassword  = "pässwörd"
)

// envOptions are the test server's parts that are not configuration.
type envOptions struct {
	tls       string // "on" (default), "off", "broken"
	storeDown bool   // every credential lookup fails
	kind      Kind   // the listener dial() connects to
	bounces   BounceChecker
}

// brokenTLS is a TLS provider whose configuration cannot be had now.
type brokenTLS struct{}

func (brokenTLS) ServerConfig() (*tls.Config, error) { return nil, errors.New("certificate gone") }

// downStore is a credential store that cannot answer.
type downStore struct{}

var errStoreDown = errors.New("users file unreadable")

func (downStore) CheckPassword(string, string) (bool, error) { return false, errStoreDown }
func (downStore) SCRAMSHA256Keys(string) (auth.SCRAMKeys, bool, error) {
	return auth.SCRAMKeys{}, false, errStoreDown
}
func (downStore) CRAMMD5Keys(string) (auth.CRAMKeys, bool, error) {
	return auth.CRAMKeys{}, false, errStoreDown
}

// testEnv is a real server on a loopback port with a real spool,
// mailboxes and relay queue under t.TempDir(): the layered fixture of
// docs/conventions.md habit 17, from which the dialog files and Go tests start.
type testEnv struct {
	t       *testing.T
	cfg     *config.Config
	srv     *Server
	addr    string
	dataDir string
	opts    envOptions
	addrs   map[Kind]string // listener addresses by kind
	dir     *mailbox.Directory
	store   *mailbox.Store
	relay   *queue.Store
	router  *queue.Router
	metrics *metrics.Metrics
}

func newTestEnv(t *testing.T, mutate func(*config.Config)) *testEnv {
	t.Helper()
	return newTestEnvOpts(t, envOptions{}, mutate)
}

func newTestEnvOpts(t *testing.T, opts envOptions, mutate func(*config.Config)) *testEnv {
	t.Helper()
	cfg := config.Defaults()
	cfg.Hostname = "mx.example.test"
	cfg.DataDir = t.TempDir()
	cfg.Local.Domains = []string{"example.test", "example.org"}
	cfg.Relay.Networks = []string{"127.0.0.0/8", "::1/128"}
	cfg.SMTP.CommandTimeout = config.Duration(5 * time.Second)
	cfg.SMTP.DataTimeout = config.Duration(5 * time.Second)
	cfg.SMTP.MinFreeSpace = 0
	cfg.Auth.FailureDelay = 0
	// No DNS in these tests: the checks that need it are off unless a
	// test turns them on with its own fake DNS.
	cfg.SPF.Check = false
	cfg.DKIM.Verify = false
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	e := &testEnv{t: t, cfg: &cfg, dataDir: cfg.DataDir, metrics: metrics.New(), opts: opts, addrs: map[Kind]string{}}
	var err error
	e.dir, err = mailbox.OpenDirectory(filepath.Join(cfg.DataDir, "users.toml"), cfg.Local.Domains)
	if err != nil {
		t.Fatal(err)
	}
	e.dir.SetCredentialOptions(mailbox.CredentialOptions{CRAMMD5: true, SCRAMIterations: 4096})
	for _, u := range []struct {
		mailbox.User
		password string
	}{
		{mailbox.User{Address: "alice@example.test", Name: "Alice Example"}, alicePassword},
		{mailbox.User{Address: "bob@example.test"}, ""},
		{mailbox.User{Address: "carl@example.org"}, carlPassword},
		{mailbox.User{Address: "carol@example.test", MovedTo: "carol@new.example"}, ""},
		{mailbox.User{Address: "full@example.test", Quota: 10}, ""},
	} {
		if err := e.dir.AddUser(u.User, u.password); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []mailbox.Alias{
		{Address: "team@example.test", Targets: []string{"alice@example.test", "bob@example.test"}, List: true},
		{Address: "sales@example.org", Targets: []string{"team@example.test"}},
		{Address: "friend@example.test", Targets: []string{"friend@remote.example"}},
	} {
		if err := e.dir.AddAlias(a); err != nil {
			t.Fatal(err)
		}
	}
	e.store = mailbox.NewStore(filepath.Join(cfg.DataDir, "mail"), cfg.Hostname, mailbox.StoreOptions{})
	// Fill full@'s mailbox past its 10-octet quota.
	if errs := e.store.Deliver([]mailbox.Delivery{{Mailbox: "example.test/full", QueueID: "prefill", Data: []byte("Subject: x\r\n\r\nfill\r\n"), ReceivedAt: time.Now()}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	e.relay, err = queue.OpenStore(filepath.Join(cfg.DataDir, "queue"))
	if err != nil {
		t.Fatal(err)
	}
	sp, _, err := spool.Open(filepath.Join(cfg.DataDir, "spool"), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.router = queue.NewRouter(e.store, e.relay, sp, queue.RouterOptions{Metrics: e.metrics})
	e.router.Start()
	deps := Deps{Config: e.cfg, Directory: e.dir, Spool: sp, Router: e.router, Quota: e.store, Metrics: e.metrics}
	switch opts.tls {
	case "", "on":
		deps.TLS = tlsconf.Static(testCert())
	case "broken":
		deps.TLS = brokenTLS{}
	}
	if opts.storeDown {
		deps.Credentials = downStore{}
	}
	deps.Bounces = opts.bounces
	servers := e.cfg.Delivery.DNSServers
	if len(servers) == 0 {
		servers = []string{"127.0.0.1:1"} // never the system resolver
	}
	res, err := resolve.New(resolve.Options{Servers: servers, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if deps.Policy, err = NewPolicy(e.cfg, res, nil); err != nil {
		t.Fatal(err)
	}
	e.srv = New(deps)
	for _, k := range []Kind{MX, Submission, Submissions} {
		if k == Submissions && deps.TLS == nil {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		e.addrs[k] = ln.Addr().String()
		go e.srv.ServeKind(ln, k)
	}
	e.addr = e.addrs[MX]
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.srv.Shutdown(ctx)
		e.router.Wait(ctx)
		e.router.Stop()
		sp.Close()
		e.relay.Close()
		if n := testutil.ToFloat64(e.metrics.PanicsRecovered); n > 0 {
			t.Errorf("%v panics recovered in sessions", n)
		}
	})
	return e
}

// client is a raw SMTP client for tests: it sends exactly the bytes it is
// given and reads whole replies.
type client struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

// dial connects to the listener of opts.kind, with TLS first for an
// implicit-TLS one.
func (e *testEnv) dial() *client { return e.dialKind(e.opts.kind) }

func (e *testEnv) dialKind(k Kind) *client {
	e.t.Helper()
	conn, err := net.DialTimeout("tcp", e.addrs[k], 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	c := &client{t: e.t, conn: conn, br: bufio.NewReader(conn)}
	if k == Submissions {
		c.starttls()
	}
	return c
}

// starttls runs the client side of the handshake. Nothing may be waiting
// in the reader: the server must not have sent anything after its 220.
func (c *client) starttls() {
	c.t.Helper()
	if n := c.br.Buffered(); n > 0 {
		b, _ := c.br.Peek(n)
		c.t.Fatalf("server sent %q in clear before the handshake", b)
	}
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true, ServerName: "mx.example.test"})
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	tc.SetDeadline(time.Time{})
	c.conn, c.br = tc, bufio.NewReader(tc)
}

func (c *client) send(raw string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write([]byte(raw)); err != nil {
		c.t.Fatalf("write %q: %v", raw, err)
	}
}

// reply reads one whole reply and returns its lines.
func (c *client) reply() ([]string, error) {
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var lines []string
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			return lines, err
		}
		if !strings.HasSuffix(line, "\r\n") {
			return lines, fmt.Errorf("reply line without CRLF: %q", line)
		}
		line = strings.TrimSuffix(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return lines, nil
		}
	}
}

// expect reads a reply and checks its last line starts with prefix.
func (c *client) expect(prefix string) []string {
	c.t.Helper()
	lines, err := c.reply()
	if err != nil {
		c.t.Fatalf("reading reply (want %q): %v (got %q)", prefix, err, lines)
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, prefix) {
		c.t.Fatalf("reply %q, want prefix %q", lines, prefix)
	}
	return lines
}

// cmd sends one command line and checks the reply.
func (c *client) cmd(line, prefix string) []string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.expect(prefix)
}

func (c *client) expectClosed() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := c.br.ReadByte(); err == nil {
		rest, _ := c.br.ReadString('\n')
		c.t.Fatalf("connection still open, read %q", string(b)+rest)
	}
}

// mutators the dialog files may use with "set KEY VALUE".
var dialogSettings = map[string]func(cfg *config.Config, v string) error{
	"vrfy":             func(c *config.Config, v string) error { c.SMTP.VRFY = v; return nil },
	"expn":             func(c *config.Config, v string) error { c.SMTP.EXPN = v == "true"; return nil },
	"helo_once":        func(c *config.Config, v string) error { c.SMTP.HeloOnce = v == "true"; return nil },
	"bare_lf":          func(c *config.Config, v string) error { c.SMTP.BareLF = v; return nil },
	"max_recipients":   intSetting(func(c *config.Config, n int) { c.SMTP.MaxRecipients = n }),
	"max_received":     intSetting(func(c *config.Config, n int) { c.SMTP.MaxReceived = n }),
	"max_errors":       intSetting(func(c *config.Config, n int) { c.SMTP.MaxErrors = n }),
	"max_message_size": intSetting(func(c *config.Config, n int) { c.SMTP.MaxMessageSize = config.Size(n) }),
	"max_sessions":     intSetting(func(c *config.Config, n int) { c.SMTP.MaxSessions = n }),
	"max_sessions_per_ip": intSetting(func(c *config.Config, n int) {
		c.SMTP.MaxSessionsPerIP = n
	}),
	"quota_permanent": func(c *config.Config, v string) error { c.Local.QuotaPermanent = v == "true"; return nil },
	"relay_networks":  func(c *config.Config, v string) error { c.Relay.Networks = strings.Fields(v); return nil },
	"command_timeout": func(c *config.Config, v string) error {
		d, err := time.ParseDuration(v)
		c.SMTP.CommandTimeout = config.Duration(d)
		return err
	},
	"min_free_space": intSetting(func(c *config.Config, n int) { c.SMTP.MinFreeSpace = config.Size(n) }),
	// "set policy deny client 127.0.0.0/8": a line of the lists file.
	"policy": func(c *config.Config, v string) error {
		if c.Policy.ListsFile == "" {
			c.Policy.ListsFile = filepath.Join(c.DataDir, "policy-test.txt")
		}
		f, err := os.OpenFile(c.Policy.ListsFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = fmt.Fprintln(f, v)
		return err
	},
	// "set filter reject|tempfail|accept": a filter script answering so.
	"filter": func(c *config.Config, v string) error {
		exit := map[string]int{"accept": 0, "reject": 77, "tempfail": 75}[v]
		script := filepath.Join(c.DataDir, "filter.sh")
		c.Filter.Command = script
		return os.WriteFile(script, []byte(fmt.Sprintf("#!/bin/sh\ncat >/dev/null\necho 'filter says %s'\nexit %d\n", v, exit)), 0o755)
	},
	"messages_per_minute":    intSetting(func(c *config.Config, n int) { c.Policy.MessagesPerMinute = n }),
	"connections_per_minute": intSetting(func(c *config.Config, n int) { c.Policy.ConnectionsPerMinute = n }),
	"auth_on_mx":             boolSetting(func(c *config.Config, b bool) { c.Auth.OnMX = b }),
	"auth_plaintext":         boolSetting(func(c *config.Config, b bool) { c.Auth.AllowPlaintext = b }),
	"auth_cram_md5":          boolSetting(func(c *config.Config, b bool) { c.Auth.CRAMMD5 = b }),
	"auth_sender_match":      boolSetting(func(c *config.Config, b bool) { c.Auth.SenderMustMatch = b }),
	"auth_max_failures":      intSetting(func(c *config.Config, n int) { c.Auth.MaxFailures = n }),
}

// envSettings are the "set" keys for what is not configuration.
var envSettings = map[string]func(o *envOptions, v string) error{
	"tls":        func(o *envOptions, v string) error { o.tls = v; return nil },
	"auth_store": func(o *envOptions, v string) error { o.storeDown = v == "down"; return nil },
	"listener": func(o *envOptions, v string) error {
		for _, k := range []Kind{MX, Submission, Submissions} {
			if k.String() == v {
				o.kind = k
				return nil
			}
		}
		return fmt.Errorf("no listener kind %q", v)
	},
}

func boolSetting(set func(*config.Config, bool)) func(*config.Config, string) error {
	return func(c *config.Config, v string) error {
		b, err := strconv.ParseBool(v)
		set(c, b)
		return err
	}
}

func intSetting(set func(*config.Config, int)) func(*config.Config, string) error {
	return func(c *config.Config, v string) error {
		n, err := strconv.Atoi(v)
		set(c, n)
		return err
	}
}
