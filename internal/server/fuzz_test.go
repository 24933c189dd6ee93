package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/metrics"
	"github.com/hikyaku/hikyaku/internal/spool"
	"github.com/hikyaku/hikyaku/internal/tlsconf"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// memSpool and nopRouter let the fuzzer run sessions without disk work.
type memSpool struct{}

func (memSpool) Commit(ctx context.Context, env *spool.Envelope, data []byte) error { return nil }
func (memSpool) FreeBytes() int64                                                   { return 1 << 40 }

type nopRouter struct{}

func (nopRouter) Route(*spool.Message) {}

var (
	fuzzOnce sync.Once
	fuzzSrv  *Server
)

func fuzzServer(f *testing.F) *Server {
	fuzzOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hikyaku-fuzz")
		if err != nil {
			f.Fatal(err)
		}
		cfg := config.Defaults()
		cfg.Hostname = "mx.example.test"
		cfg.DataDir = dir
		cfg.Local.Domains = []string{"example.test"}
		cfg.SMTP.CommandTimeout = config.Duration(2 * time.Second)
		cfg.SMTP.DataTimeout = config.Duration(2 * time.Second)
		cfg.SMTP.MaxMessageSize = 4096
		cfg.SMTP.EXPN = true
		cfg.SMTP.VRFY = "on"
		// AUTH in clear, so that the fuzzer reaches the SASL exchanges
		// (STARTTLS with fuzzed bytes only ever fails the handshake).
		cfg.Auth.AllowPlaintext = true
		cfg.Auth.CRAMMD5 = true
		cfg.Auth.MaxFailures = 0
		cfg.Auth.FailureDelay = 0
		d, err := mailbox.OpenDirectory(filepath.Join(dir, "users.toml"), cfg.Local.Domains)
		if err != nil {
			f.Fatal(err)
		}
		d.SetCredentialOptions(mailbox.CredentialOptions{CRAMMD5: true, SCRAMIterations: 4096})
		d.AddUser(mailbox.User{Address: "alice@example.test", Name: "Alice"}, alicePassword)
		d.AddAlias(mailbox.Alias{Address: "team@example.test", Targets: []string{"alice@example.test", "x@remote.example"}, List: true})
		fuzzSrv = New(Deps{Config: &cfg, Directory: d, Spool: memSpool{}, Router: nopRouter{}, Metrics: metrics.New(),
			TLS: tlsconf.Static(testCert())})
	})
	return fuzzSrv
}

var replyLine = regexp.MustCompile(`^[2-5][0-9][0-9][ -]`)

// FuzzSession feeds arbitrary client input to a whole session: it must
// never panic, and every line the server writes must be a well-formed
// reply line (docs/conventions.md habit 16: chasquid's FuzzConnection).
func FuzzSession(f *testing.F) {
	srv := fuzzServer(f)
	files, _ := filepath.Glob("testdata/dialogs/*.dlg")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		var in strings.Builder
		for _, l := range strings.Split(string(b), "\n") {
			if s, ok := strings.CutPrefix(l, "c -> "); ok {
				in.WriteString(s + "\r\n")
			} else if s, ok := strings.CutPrefix(l, "c => "); ok {
				if u, err := strconv.Unquote(s); err == nil {
					in.WriteString(u)
				}
			}
		}
		f.Add([]byte(in.String()))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.handle(&pipeConn{server}, MX)
		}()
		client.SetDeadline(time.Now().Add(5 * time.Second))
		go func() {
			client.Write(input)
			client.Write([]byte("\r\nQUIT\r\n"))
		}()
		br := bufio.NewReader(client)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				if err != io.EOF && !strings.Contains(err.Error(), "closed") && !isTimeout(err) {
					t.Fatalf("reading replies: %v", err)
				}
				break
			}
			if !strings.HasSuffix(line, "\r\n") || !replyLine.MatchString(line) {
				t.Fatalf("malformed reply line %q", line)
			}
		}
		client.Close()
		<-done
		if n := testutil.ToFloat64(srv.Metrics.PanicsRecovered); n > 0 {
			t.Fatalf("%v panics recovered", n)
		}
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// pipeConn gives net.Pipe a loopback TCP remote address, as the session
// parses it for limits and Received.
type pipeConn struct{ net.Conn }

func (pipeConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
