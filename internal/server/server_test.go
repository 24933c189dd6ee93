package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/config"
)

// send one message through a fresh session and return the queue id.
func (e *testEnv) sendMessage(from string, rcpts []string, body string) string {
	e.t.Helper()
	c := e.dial()
	c.expect("220")
	c.cmd("EHLO client.example", "250")
	c.cmd("MAIL FROM:<"+from+">", "250")
	for _, r := range rcpts {
		c.cmd("RCPT TO:<"+r+">", "25")
	}
	c.cmd("DATA", "354")
	lines := c.cmd(body+"\r\n.", "250 2.0.0 OK id=")
	c.cmd("QUIT", "221")
	return strings.TrimPrefix(lines[0], "250 2.0.0 OK id=")
}

// waitDelivered waits until the router has delivered everything.
func (e *testEnv) waitDelivered() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.router.Wait(ctx); err != nil {
		e.t.Fatal("deliveries did not finish:", err)
	}
}

// maildirFiles reads every message in a mailbox's new/.
func (e *testEnv) maildirFiles(mailbox string) []string {
	e.t.Helper()
	dir := filepath.Join(e.dataDir, "mail", mailbox, "new")
	entries, err := os.ReadDir(dir)
	if err != nil {
		e.t.Fatalf("mailbox %s: %v", mailbox, err)
	}
	var out []string
	for _, en := range entries {
		b, err := os.ReadFile(filepath.Join(dir, en.Name()))
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// The stored message carries, in order, Return-Path, Delivered-To,
// Envelope-To, Delivery-Date and our Received field with "for" when there
// is one recipient (seed 003), and an old Return-Path is gone.
func TestStoredMessageHeaders(t *testing.T) {
	e := newTestEnv(t, nil)
	id := e.sendMessage("sender@example.net", []string{"alice@example.test"},
		"Return-Path: <forged@example.net>\r\nSubject: hello\r\n\r\nbody line\r\n..dot")
	e.waitDelivered()
	msgs := e.maildirFiles("example.test/alice")
	if len(msgs) != 1 {
		t.Fatalf("%d messages in alice's mailbox, want 1", len(msgs))
	}
	m := msgs[0]
	for _, want := range []string{
		"Return-Path: <sender@example.net>\r\n",
		"Delivered-To: alice@example.test\r\n",
		"Envelope-To: alice@example.test\r\n",
		"Delivery-Date: ",
		"Received: from client.example ([127.0.0.1])\r\n\tby mx.example.test (hikyaku) with ESMTP id " + id + "\r\n\tfor <alice@example.test>;",
		"Subject: hello\r\n\r\nbody line\r\n.dot\r\n",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("stored message lacks %q:\n%s", want, m)
		}
	}
	if strings.Contains(m, "forged") {
		t.Errorf("the sender's Return-Path survived:\n%s", m)
	}
	if !strings.HasPrefix(m, "Return-Path: ") {
		t.Errorf("Return-Path is not first:\n%s", m)
	}
}

// With several recipients "for" is left out so Bcc stays private, and
// each mailbox gets one copy even when reached twice (alias + direct).
func TestSeveralRecipients(t *testing.T) {
	e := newTestEnv(t, nil)
	e.sendMessage("s@example.net", []string{"alice@example.test", "team@example.test", "bob@example.test"}, "Subject: x\r\n\r\nhi")
	e.waitDelivered()
	for _, mb := range []string{"example.test/alice", "example.test/bob"} {
		msgs := e.maildirFiles(mb)
		if len(msgs) != 1 {
			t.Fatalf("%s has %d messages, want 1", mb, len(msgs))
		}
		if strings.Contains(msgs[0], "\tfor <") {
			t.Errorf("%s: Received names a recipient of a multi-recipient message:\n%s", mb, msgs[0])
		}
	}
}

// A relayed message is in the relay queue with its recipient queued.
func TestRelayQueued(t *testing.T) {
	e := newTestEnv(t, nil)
	id := e.sendMessage("alice@example.test", []string{"x@remote.example", "friend@example.test"}, "Subject: out\r\n\r\nhi")
	e.waitDelivered()
	it, err := e.relay.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range it.Recipients {
		got = append(got, r.Address+":"+r.Status)
	}
	if strings.Join(got, ",") != "x@remote.example:queued,friend@remote.example:queued" {
		t.Errorf("relay recipients %v", got)
	}
	if it.Recipients[1].Original != "friend@example.test" {
		t.Errorf("alias forward lost its original recipient: %+v", it.Recipients[1])
	}
	data, err := e.relay.Data(id)
	if err != nil || !strings.Contains(string(data), "Subject: out") {
		t.Errorf("relay data: %v %q", err, data)
	}
}

// Sessions over max_sessions_per_ip get 421 4.7.0 and are closed; the
// slot is free again when a session ends.
func TestSessionLimitPerIP(t *testing.T) {
	e := newTestEnv(t, func(c *config.Config) { c.SMTP.MaxSessionsPerIP = 2 })
	a, b := e.dial(), e.dial()
	a.expect("220")
	b.expect("220")
	c := e.dial()
	c.expect("421 4.7.0")
	c.expectClosed()
	a.cmd("QUIT", "221")
	a.expectClosed()
	waitFor(t, func() bool { return e.srv.SessionCount() == 1 })
	d := e.dial()
	d.expect("220")
}

// The global limit answers 421 4.7.0 too.
func TestSessionLimitGlobal(t *testing.T) {
	e := newTestEnv(t, func(c *config.Config) { c.SMTP.MaxSessions, c.SMTP.MaxSessionsPerIP = 1, 1 })
	a := e.dial()
	a.expect("220")
	b := e.dial()
	b.expect("421 4.7.0")
	b.expectClosed()
}

// Shutdown tells an idle session 421 4.3.2 and closes it.
func TestShutdownIdleSession(t *testing.T) {
	e := newTestEnv(t, nil)
	c := e.dial()
	c.expect("220")
	c.cmd("EHLO c.example", "250")
	go e.srv.Shutdown(context.Background())
	c.expect("421 4.3.2")
	c.expectClosed()
}

// A session in the middle of DATA when shutdown starts still gets its
// message stored and acknowledged.
func TestShutdownDuringData(t *testing.T) {
	e := newTestEnv(t, nil)
	c := e.dial()
	c.expect("220")
	c.cmd("EHLO c.example", "250")
	c.cmd("MAIL FROM:<a@example.net>", "250")
	c.cmd("RCPT TO:<alice@example.test>", "250")
	c.cmd("DATA", "354")
	c.send("Subject: late\r\n\r\n")
	done := make(chan struct{})
	go func() { e.srv.Shutdown(context.Background()); close(done) }()
	time.Sleep(100 * time.Millisecond)
	c.send("body\r\n.\r\n")
	c.expect("250 2.0.0 OK id=")
	c.send("NOOP\r\n")
	c.expect("421 4.3.2")
	<-done
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// countReceived counts only header-section Received fields.
func TestCountReceived(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		want      int
	}{
		{"none", "Subject: x\r\n\r\nReceived: body\r\n", 0},
		{"mixed case and folded", "Received: a\r\n\tb\r\nRECEIVED: c\r\nreceived : d\r\nSubject: x\r\n\r\n", 3},
		{"no body", "Received: a\r\n", 1},
		{"not received", "Received-SPF: pass\r\nX-Received: a\r\n\r\n", 0},
	} {
		if got := countReceived([]byte(tc.msg)); got != tc.want {
			t.Errorf("%s: countReceived = %d, want %d", tc.name, got, tc.want)
		}
	}
}
