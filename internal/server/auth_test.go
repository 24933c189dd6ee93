package server

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/xdg-go/scram"
)

// scramLogin runs a real SCRAM client (xdg-go/scram) through AUTH and
// returns the final reply.
func scramLogin(t *testing.T, c *client, mech string, conv *scram.ClientConversation) string {
	t.Helper()
	first, err := conv.Step("")
	if err != nil {
		t.Fatal(err)
	}
	c.send("AUTH " + mech + " " + base64.StdEncoding.EncodeToString([]byte(first)) + "\r\n")
	for range 4 {
		lines, err := c.reply()
		if err != nil {
			t.Fatal(err)
		}
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "334 ") {
			return last
		}
		ch, err := base64.StdEncoding.DecodeString(last[4:])
		if err != nil {
			t.Fatalf("challenge %q: %v", last, err)
		}
		out, err := conv.Step(string(ch))
		if err != nil {
			c.send("*\r\n")
			t.Fatalf("client refused the server's %q: %v", ch, err)
		}
		c.send(base64.StdEncoding.EncodeToString([]byte(out)) + "\r\n")
	}
	t.Fatal("AUTH did not end")
	return ""
}

// SCRAM-SHA-256 and -PLUS through the real SMTP session with an
// independent client implementation; the server proves itself too
// (the client checks the server signature before sending its empty
// last response).
func TestSCRAMOverSMTP(t *testing.T) {
	e := newTestEnv(t, nil)
	for _, tc := range []struct {
		name, why, mech, user, password string
		plus                            bool
		want                            string
	}{
		{"scram", "SCRAM-SHA-256 with the stored keys", "SCRAM-SHA-256", "alice@example.test", alicePassword, false, "235 2.7.0"},
		{"scram non-ASCII", "SASLprep'd password", "SCRAM-SHA-256", "carl@example.org", carlPassword, false, "235 2.7.0"},
		{"scram-plus", "bound to this TLS channel (tls-exporter)", "SCRAM-SHA-256-PLUS", "alice@example.test", alicePassword, true, "235 2.7.0"},
		{"scram wrong password", "the proof fails", "SCRAM-SHA-256", "alice@example.test", "nope", false, "535 5.7.8"},
		{"scram no password", "bob has no password, so no SCRAM keys", "SCRAM-SHA-256", "bob@example.test", "x", false, "535 5.7.8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.greetTLS()
			sc, err := scram.SHA256.NewClient(tc.user, tc.password, "")
			if err != nil {
				t.Fatal(err)
			}
			conv := sc.NewConversation()
			if tc.plus {
				cs := c.conn.(*tls.Conn).ConnectionState()
				cb, err := scram.NewTLSExporterBinding(&cs)
				if err != nil {
					t.Fatal(err)
				}
				conv = sc.NewConversationWithChannelBinding(cb)
			}
			if got := scramLogin(t, c, tc.mech, conv); !strings.HasPrefix(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if n := testutil.ToFloat64(e.srv.m.authAttempts.WithLabelValues("SCRAM-SHA-256-PLUS", "success")); n != 1 {
		t.Errorf("PLUS successes counted %v", n)
	}
}

// CRAM-MD5 with net/smtp's client (RFC 2195 computed independently).
func TestCRAMMD5OverSMTP(t *testing.T) {
	e := newTestEnv(t, func(c *config.Config) { c.Auth.CRAMMD5 = true })
	for _, tc := range []struct {
		name, user, password string
		ok                   bool
	}{
		{"right", "alice@example.test", alicePassword, true},
		{"wrong", "alice@example.test", "nope", false},
		{"no password", "bob@example.test", "x", false},
	} {
		c, err := smtp.Dial(e.addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
			t.Fatal(err)
		}
		err = c.Auth(smtp.CRAMMD5Auth(tc.user, tc.password))
		if (err == nil) != tc.ok {
			t.Errorf("%s: AUTH CRAM-MD5 = %v", tc.name, err)
		}
		if err != nil && !strings.Contains(err.Error(), `535 "5.7.8`) {
			t.Errorf("%s: failure is %v, want 535 5.7.8", tc.name, err)
		}
		c.Close()
	}
}

// The empty challenge goes out as "334 " with its space (RFC 4954 §4).
func TestEmptyChallengeHasSpace(t *testing.T) {
	e := newTestEnv(t, nil)
	c := e.greetTLS()
	c.send("AUTH PLAIN\r\n")
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := c.br.ReadString('\n')
	if err != nil || line != "334 \r\n" {
		t.Fatalf("empty challenge %q, %v", line, err)
	}
}

// A response line over 12288 octets fails the AUTH with 500 5.5.6
// (RFC 4954 §4); one of exactly 12288 (CRLF included) is read.
func TestAuthLineTooLong(t *testing.T) {
	e := newTestEnv(t, nil)
	c := e.greetTLS()
	c.cmd("AUTH PLAIN", "334")
	c.cmd(strings.Repeat("A", 12289), "500 5.5.6")
	c.cmd("AUTH PLAIN", "334")
	c.cmd(strings.Repeat("A", 12286), "535 5.7.8") // decodes, but is no PLAIN message
	c.cmd("NOOP", "250")
}

// A user attacked past the limit is not locked out: from another client
// network the right password still works, after the delay; the attacking
// network is blocked.
func TestAuthThrottleUserNotLockedOut(t *testing.T) {
	e := newTestEnv(t, func(c *config.Config) {
		c.Auth.MaxFailures = 2
		c.Auth.FailureDelay = config.Duration(20 * time.Millisecond)
	})
	a := e.greetTLS()
	for range 2 {
		a.cmd("AUTH PLAIN "+b64("\x00alice@example.test\x00guess"), "535 5.7.8")
	}
	a.cmd("AUTH PLAIN "+b64("\x00alice@example.test\x00"+alicePassword), "454 4.7.0")

	conn, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).Dial("tcp", e.addr)
	if err != nil {
		t.Skipf("cannot dial from 127.0.0.2: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	b := &client{t: t, conn: conn, br: bufio.NewReader(conn)}
	b.expect("220")
	b.cmd("EHLO c.example", "250")
	b.cmd("STARTTLS", "220")
	b.starttls()
	b.cmd("EHLO c.example", "250")
	start := time.Now()
	b.cmd("AUTH PLAIN "+b64("\x00alice@example.test\x00"+alicePassword), "235 2.7.0")
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("a throttled user's success came after %v, want the doubled delay (40ms)", d)
	}
	if n := testutil.ToFloat64(e.srv.m.authAttempts.WithLabelValues("PLAIN", "failure")); n != 2 {
		t.Errorf("failures counted %v", n)
	}
	if n := testutil.ToFloat64(e.srv.m.authAttempts.WithLabelValues("PLAIN", "throttled")); n != 1 {
		t.Errorf("throttled counted %v", n)
	}
}
