package server

import (
	"crypto/tls"
	"encoding/base64"
	"net/smtp"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// greetTLS is the layered fixture after STARTTLS: greeted, upgraded,
// greeted again.
func (e *testEnv) greetTLS() *client {
	e.t.Helper()
	c := e.dial()
	c.expect("220")
	c.cmd("EHLO c.example", "250")
	c.cmd("STARTTLS", "220 2.0.0")
	c.starttls()
	c.cmd("EHLO c.example", "250")
	return c
}

// STARTTLS command injection (CVE-2011-0411): "STARTTLS\r\nRSET\r\n" in
// one write. The RSET is never answered in clear (starttls() fails on any
// byte after the 220) and never run inside TLS: the first reply there is
// NOOP's, and nothing else follows.
func TestStartTLSInjection(t *testing.T) {
	e := newTestEnv(t, nil)
	c := e.dial()
	c.expect("220")
	c.cmd("EHLO c.example", "250")
	c.send("STARTTLS\r\nRSET\r\n")
	c.expect("220 2.0.0")
	time.Sleep(50 * time.Millisecond) // give a wrong server time to answer RSET
	c.starttls()
	lines := c.cmd("NOOP", "250 2.0.0")
	if lines[0] != "250 2.0.0 OK" {
		t.Fatalf("first reply inside TLS is %q, not NOOP's", lines)
	}
	c.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if b, err := c.br.ReadByte(); err == nil {
		rest, _ := c.br.ReadString('\n')
		t.Fatalf("extra reply inside TLS: %q", string(b)+rest)
	}
	if n := testutil.ToFloat64(e.srv.m.tlsInjections); n != 1 {
		t.Errorf("discarded-plaintext counter = %v, want 1", n)
	}
}

// The Received field names the protocol with S and A (RFC 3848, RFC 6531)
// and the TLS version and cipher in a comment where Postfix puts it.
func TestReceivedTLSAndAuth(t *testing.T) {
	e := newTestEnv(t, nil)
	for _, tc := range []struct {
		name, why string
		auth      bool
		utf8      bool
		proto     string
	}{
		{"tls", "STARTTLS alone: ESMTPS", false, false, "ESMTPS"},
		{"tls and auth", "STARTTLS and AUTH: ESMTPSA", true, false, "ESMTPSA"},
		{"utf8 tls auth", "SMTPUTF8 over TLS with AUTH: UTF8SMTPSA", true, true, "UTF8SMTPSA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.greetTLS()
			if tc.auth {
				c.cmd("AUTH PLAIN "+b64("\x00alice@example.test\x00"+alicePassword), "235")
			}
			mail := "MAIL FROM:<alice@example.test>"
			if tc.utf8 {
				mail += " SMTPUTF8"
			}
			c.cmd(mail, "250")
			c.cmd("RCPT TO:<bob@example.test>", "250")
			c.cmd("DATA", "354")
			id := strings.TrimPrefix(c.cmd("Subject: "+tc.name+"\r\n\r\nhi\r\n.", "250 2.0.0 OK id=")[0], "250 2.0.0 OK id=")
			e.waitDelivered()
			var msg string
			for _, m := range e.maildirFiles("example.test/bob") {
				if strings.Contains(m, id) {
					msg = m
				}
			}
			want := regexp.MustCompile(`Received: from c\.example \(\[127\.0\.0\.1\]\)\r\n\t\(using TLSv1\.3 with cipher TLS_[A-Z0-9_]+\)\r\n\tby mx\.example\.test \(hikyaku\) with ` + tc.proto + ` id ` + id + `\r\n`)
			if !want.MatchString(msg) {
				t.Errorf("Received field does not match %s:\n%s", want, msg)
			}
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// Go's net/smtp, an independent client: STARTTLS, AUTH PLAIN, a message;
// then a TLS 1.2 client, which must work too.
func TestNetSMTPClient(t *testing.T) {
	e := newTestEnv(t, nil)
	for _, maxV := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		c, err := smtp.Dial(e.addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true, MaxVersion: maxV}); err != nil {
			t.Fatalf("StartTLS: %v", err)
		}
		if ok, mechs := c.Extension("AUTH"); !ok || !strings.Contains(mechs, "PLAIN") {
			t.Fatalf("AUTH not offered after STARTTLS: %q", mechs)
		}
		if err := c.Auth(smtp.PlainAuth("", "alice@example.test", alicePassword, "127.0.0.1")); err != nil {
			t.Fatalf("AUTH PLAIN: %v", err)
		}
		if err := c.Mail("alice@example.test"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("x@remote.example"); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("Subject: net/smtp\r\n\r\nhi\r\n"))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Quit(); err != nil {
			t.Fatal(err)
		}
	}
	if n := testutil.ToFloat64(e.srv.m.tlsSessions.WithLabelValues("starttls", "TLSv1.2")); n != 1 {
		t.Errorf("TLS 1.2 sessions = %v, want 1", n)
	}
	if n := testutil.ToFloat64(e.srv.m.authAttempts.WithLabelValues("PLAIN", "success")); n != 2 {
		t.Errorf("PLAIN successes = %v, want 2", n)
	}
}

// A client that fails the handshake is logged and counted, and the
// server carries on.
func TestHandshakeFailure(t *testing.T) {
	e := newTestEnv(t, nil)
	c := e.dial()
	c.expect("220")
	c.cmd("EHLO c.example", "250")
	c.cmd("STARTTLS", "220")
	c.send("this is not a ClientHello\r\n")
	c.expectClosed()
	waitFor(t, func() bool { return testutil.ToFloat64(e.srv.m.tlsFailures.WithLabelValues("starttls")) == 1 })
	e.greetTLS().cmd("QUIT", "221")
}

// A submitted message without Date or Message-ID gets them (RFC 6409
// §8); one with them keeps its own; mail on the MX listener is never
// changed.
func TestSubmissionCompletesHeader(t *testing.T) {
	e := newTestEnvOpts(t, envOptions{kind: Submission}, func(c *config.Config) {})
	for _, tc := range []struct {
		name, why string
		kind      Kind
		header    string
		wantDate  bool // a Date field we added
		wantID    bool
	}{
		{"bare", "neither field: both added", Submission, "Subject: bare\r\n", true, true},
		{"has both", "the client's own fields are kept, nothing added", Submission, "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nmessage-id: <own@c.example>\r\nSubject: both\r\n", false, false},
		{"has date", "only Message-ID added", Submissions, "DATE : Mon, 1 Jan 2024 00:00:00 +0000\r\nSubject: date\r\n", false, true},
		{"mx", "relay and local mail on port 25 is not submission", MX, "Subject: mx\r\n", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dialKind(tc.kind)
			c.expect("220")
			c.cmd("EHLO c.example", "250")
			if tc.kind != Submissions {
				c.cmd("STARTTLS", "220")
				c.starttls()
				c.cmd("EHLO c.example", "250")
			}
			if tc.kind != MX {
				c.cmd("AUTH PLAIN "+b64("\x00alice@example.test\x00"+alicePassword), "235")
			}
			c.cmd("MAIL FROM:<alice@example.test>", "250")
			c.cmd("RCPT TO:<bob@example.test>", "250")
			c.cmd("DATA", "354")
			id := strings.TrimPrefix(c.cmd(tc.header+"\r\nbody\r\n.", "250 2.0.0 OK id=")[0], "250 2.0.0 OK id=")
			e.waitDelivered()
			var msg string
			for _, m := range e.maildirFiles("example.test/bob") {
				if strings.Contains(m, id) {
					msg = m
				}
			}
			added := regexp.MustCompile(`(?m)^Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\r$`)
			if got := added.MatchString(msg); got != tc.wantDate {
				t.Errorf("Date added = %v, want %v:\n%s", got, tc.wantDate, msg)
			}
			addedID := regexp.MustCompile(`(?m)^Message-ID: <` + id + `\.[0-9a-f]{12}@mx\.example\.test>\r$`)
			if got := addedID.MatchString(msg); got != tc.wantID {
				t.Errorf("Message-ID added = %v, want %v:\n%s", got, tc.wantID, msg)
			}
			if !strings.Contains(msg, tc.header+"\r\nbody\r\n") {
				t.Errorf("the client's header changed:\n%s", msg)
			}
		})
	}
}

func TestHeaderFields(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		date, mid bool
	}{
		{"none", "Subject: x\r\n\r\nDate: in body\r\n", false, false},
		{"both, odd case and space", "DATE : x\r\nMessage-Id: <a@b>\r\n\r\n", true, true},
		{"folded lookalike", "Subject: x\r\n Date: folded\r\n\r\n", false, false},
		{"no body", "Message-ID: <a@b>\r\n", false, true},
	} {
		if d, m := headerFields([]byte(tc.msg)); d != tc.date || m != tc.mid {
			t.Errorf("%s: headerFields = %v, %v", tc.name, d, m)
		}
	}
}
