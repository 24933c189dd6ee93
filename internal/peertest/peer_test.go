package peertest

import (
	"bufio"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// rawClient speaks to the peer by hand, so that these tests do not lean
// on the client package the peer exists to test.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func connect(t *testing.T, p *Peer) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", p.Addr.String())
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return &rawClient{t: t, conn: conn, br: bufio.NewReader(conn)}
}

func (c *rawClient) send(lines ...string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(strings.Join(lines, "\r\n") + "\r\n")); err != nil {
		c.t.Fatal(err)
	}
}

// reply reads one reply, lines joined with "\n"; "" at EOF.
func (c *rawClient) reply() string {
	c.t.Helper()
	var out []string
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			return strings.Join(out, "\n")
		}
		l = strings.TrimSuffix(l, "\r\n")
		out = append(out, l)
		if len(l) < 4 || l[3] == ' ' {
			return strings.Join(out, "\n")
		}
	}
}

func start(t *testing.T, s Script) *Peer {
	t.Helper()
	p, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestConversation(t *testing.T) {
	p := start(t, Script{MaxRecipients: 2, RcptReplies: map[string]string{"no@x": "550 5.1.1 unknown"}})
	c := connect(t, p)
	if g := c.reply(); g != "220 peer.test ESMTP peertest" {
		t.Errorf("greeting %q", g)
	}
	c.send("EHLO me")
	want := "250-peer.test Hello me\n250-PIPELINING\n250-SIZE 10485760\n250-8BITMIME\n250-SMTPUTF8\n250-ENHANCEDSTATUSCODES\n250 DSN"
	if r := c.reply(); r != want {
		t.Errorf("EHLO reply %q", r)
	}
	// One write, five commands: one batch of five at the peer.
	c.send("MAIL FROM:<a@x>", "RCPT TO:<no@x>", "RCPT TO:<b@x>", "RCPT TO:<c@x>", "RCPT TO:<d@x>", "DATA")
	var got []string
	for range 6 {
		got = append(got, c.reply()[:3])
	}
	if !slices.Equal(got, []string{"250", "550", "250", "250", "452", "354"}) {
		t.Errorf("replies %q", got)
	}
	c.send("..leading dot", ".", "") // content, then a stray empty command line
	if r := c.reply(); !strings.HasPrefix(r, "250 2.0.0") {
		t.Errorf("end of data %q", r)
	}
	c.send("QUIT")
	c.reply()
	if !p.WaitIdle(5 * time.Second) {
		t.Fatal("connection still open")
	}
	msgs := p.Messages()
	if len(msgs) != 1 || msgs[0].From != "a@x" || !slices.Equal(msgs[0].Rcpts, []string{"b@x", "c@x"}) || string(msgs[0].Data) != ".leading dot\r\n" {
		t.Errorf("messages %+v", msgs)
	}
	if b := p.Batches(); !slices.Contains(b, 6) || p.PipelinedBatches() != 1 {
		t.Errorf("batches %v", b)
	}
}

// TestActOnFirst: actions hit the first connections only, so that a retry
// succeeds; SetScript changes later connections.
func TestActOnFirst(t *testing.T) {
	p := start(t, Script{Actions: map[codes.Phase]Action{codes.PhaseGreeting: Cut}, ActOnFirst: 1})
	if r := connect(t, p).reply(); r != "" {
		t.Errorf("first connection got %q, want a cut", r)
	}
	if r := connect(t, p).reply(); !strings.HasPrefix(r, "220") {
		t.Errorf("second connection got %q", r)
	}
	p.SetScript(Script{Greeting: "554 5.7.1 go away"})
	if r := connect(t, p).reply(); r != "554 5.7.1 go away" {
		t.Errorf("after SetScript: %q", r)
	}
	if p.Connections() != 3 {
		t.Errorf("%d connections", p.Connections())
	}
}

func TestActions(t *testing.T) {
	cases := []struct {
		name, why string
		action    Action
		want      string // what the client reads after EHLO: "" for nothing
		open      bool   // the connection is still open after the read deadline
	}{
		{"normal", "the reply, connection open", Normal, "250", true},
		{"cut", "nothing, then EOF", Cut, "", false},
		{"reset", "nothing, then RST", Reset, "", false},
		{"stall", "nothing, connection open", Stall, "", true},
		{"reply then reset", "the reply is still readable after the RST", ReplyThenReset, "250", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, Script{Actions: map[codes.Phase]Action{codes.PhaseHelo: tc.action}})
			c := connect(t, p)
			c.reply()
			c.send("EHLO me")
			if tc.action != Normal {
				select {
				case ph := <-p.Acted():
					if ph != codes.PhaseHelo {
						t.Errorf("acted at %d", ph)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("no action reported")
				}
			}
			c.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			r := c.reply()
			if !strings.HasPrefix(r, tc.want) || (tc.want == "" && r != "") {
				t.Errorf("read %q, want %q", r, tc.want)
			}
			_, err := c.br.ReadByte()
			timedOut := err != nil && strings.Contains(err.Error(), "timeout")
			if timedOut != tc.open {
				t.Errorf("after the reply: %v (open %v)", err, tc.open)
			}
		})
	}
}

func TestStartAt(t *testing.T) {
	if _, err := StartAt("192.0.2.1:25", Script{}); err == nil {
		t.Error("listened off loopback")
	}
	a, err := StartAt("127.0.0.2:0", Script{Greeting: "220 a"})
	if err != nil {
		t.Skip("127.0.0.2 not usable here:", err)
	}
	defer a.Close()
	b, err := StartAt(fmt.Sprintf("127.0.0.3:%d", a.Addr.Port()), Script{Greeting: "220 b"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if ra, rb := connect(t, a).reply(), connect(t, b).reply(); ra != "220 a" || rb != "220 b" {
		t.Errorf("one port, two hosts: %q %q", ra, rb)
	}
}

// TestCloseEndsStalls: Close returns while sessions stall or stop reading.
func TestCloseEndsStalls(t *testing.T) {
	p, err := Start(Script{Actions: map[codes.Phase]Action{codes.PhaseContent: StopReading}})
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, p)
	c.reply()
	c.send("EHLO me", "MAIL FROM:<a@x>", "RCPT TO:<b@x>", "DATA")
	for range 4 {
		c.reply()
	}
	<-p.Acted()
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs")
	}
}
