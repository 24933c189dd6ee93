package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/metrics"
	"github.com/hikyaku/hikyaku/internal/queue"
	"github.com/hikyaku/hikyaku/internal/spool"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// testEnv is a real server on a loopback port with a real spool,
// mailboxes and relay queue under t.TempDir(): the layered fixture of
// STYLE 17, from which the dialog files and Go tests start.
type testEnv struct {
	t       *testing.T
	cfg     *config.Config
	srv     *Server
	addr    string
	dataDir string
	dir     *mailbox.Directory
	store   *mailbox.Store
	relay   *queue.Store
	router  *queue.Router
	metrics *metrics.Metrics
}

func newTestEnv(t *testing.T, mutate func(*config.Config)) *testEnv {
	t.Helper()
	cfg := config.Defaults()
	cfg.Hostname = "mx.example.test"
	cfg.DataDir = t.TempDir()
	cfg.Local.Domains = []string{"example.test", "example.org"}
	cfg.Relay.Networks = []string{"127.0.0.0/8", "::1/128"}
	cfg.SMTP.CommandTimeout = config.Duration(5 * time.Second)
	cfg.SMTP.DataTimeout = config.Duration(5 * time.Second)
	cfg.SMTP.MinFreeSpace = 0
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	e := &testEnv{t: t, cfg: &cfg, dataDir: cfg.DataDir, metrics: metrics.New()}
	var err error
	e.dir, err = mailbox.OpenDirectory(filepath.Join(cfg.DataDir, "users.toml"), cfg.Local.Domains)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []mailbox.User{
		{Address: "alice@example.test", Name: "Alice Example"},
		{Address: "bob@example.test"},
		{Address: "carol@example.test", MovedTo: "carol@new.example"},
		{Address: "full@example.test", Quota: 10},
	} {
		if err := e.dir.AddUser(u, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []mailbox.Alias{
		{Address: "team@example.test", Targets: []string{"alice@example.test", "bob@example.test"}, List: true},
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
	e.srv = New(Deps{Config: e.cfg, Directory: e.dir, Spool: sp, Router: e.router, Quota: e.store, Metrics: e.metrics})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	go e.srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.srv.Shutdown(ctx)
		e.router.Wait(ctx)
		e.router.Stop()
		sp.Close()
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

func (e *testEnv) dial() *client {
	e.t.Helper()
	conn, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	return &client{t: e.t, conn: conn, br: bufio.NewReader(conn)}
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
}

func intSetting(set func(*config.Config, int)) func(*config.Config, string) error {
	return func(c *config.Config, v string) error {
		n, err := strconv.Atoi(v)
		set(c, n)
		return err
	}
}
