package smtpclient

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/outcome"
	"github.com/hikyaku/hikyaku/internal/peertest"
)

func waitIdle(t *testing.T, p *peertest.Peer) {
	t.Helper()
	if !p.WaitIdle(5 * time.Second) {
		t.Fatal("the peer still has a connection open")
	}
}

func dialPeer(t *testing.T, p *peertest.Peer) *Client {
	t.Helper()
	c, err := Dial(context.Background(), "peer.test", p.Addr, testOptions())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func rcpts(addrs ...string) []Recipient {
	var out []Recipient
	for _, a := range addrs {
		out = append(out, Recipient{Addr: a})
	}
	return out
}

// want is the part of a result a case checks.
type want struct {
	code     int
	enhanced string
	text     string // the whole text
	command  string
	phase    codes.Phase
}

func (w want) check(t *testing.T, i int, r outcome.Result) {
	t.Helper()
	if r.Code != w.code || r.Enhanced != w.enhanced || r.Text != w.text || r.Command != w.command || r.Phase != w.phase {
		t.Errorf("recipient %d: got %d %q %q command %q phase %d\nwant %d %q %q command %q phase %d",
			i, r.Code, r.Enhanced, r.Text, r.Command, r.Phase, w.code, w.enhanced, w.text, w.command, w.phase)
	}
}

// TestRemoteReplies: each recipient gets the reply that settled it, kept
// whole (code, enhanced code, every line of text, the command answered).
func TestRemoteReplies(t *testing.T) {
	queued := want{250, "2.0.0", "Ok: queued", ".", codes.PhaseDot}
	unknown := want{550, "5.1.1", "The email account that you tried to reach does not exist.\nPlease try double-checking.",
		"RCPT TO:<b@peer.test>", codes.PhaseRcpt}
	multi550 := "550-5.1.1 The email account that you tried to reach does not exist.\n550 5.1.1 Please try double-checking."
	for _, pipelining := range []bool{true, false} {
		exts := []string{"ENHANCEDSTATUSCODES", "8BITMIME"}
		if pipelining {
			exts = append(exts, "PIPELINING")
		}
		cases := []struct {
			name   string
			why    string
			script peertest.Script
			want   []want
		}{
			{name: "all accepted", why: "the end-of-data reply is every accepted recipient's",
				want: []want{queued, queued, queued}},
			{name: "one unknown, multi-line", why: "a RCPT refusal stays with its recipient, all lines kept, the repeated enhanced code taken off",
				script: peertest.Script{RcptReplies: map[string]string{"b@peer.test": multi550}},
				want:   []want{queued, unknown, queued}},
			{name: "MAIL refused", why: "a MAIL refusal is every recipient's",
				script: peertest.Script{Replies: map[string]string{"MAIL": "553 5.7.1 Sender address rejected: not owned by user"}},
				want: slices.Repeat([]want{{553, "5.7.1", "Sender address rejected: not owned by user",
					"MAIL FROM:<s@client.test> BODY=8BITMIME", codes.PhaseMail}}, 3)},
			{name: "DATA refused", why: "the DATA reply goes to accepted recipients only",
				script: peertest.Script{RcptReplies: map[string]string{"b@peer.test": multi550},
					Replies: map[string]string{"DATA": "451 4.3.0 Try again later"}},
				want: []want{{451, "4.3.0", "Try again later", "DATA", codes.PhaseData}, unknown, {451, "4.3.0", "Try again later", "DATA", codes.PhaseData}}},
			{name: "content refused", why: "the end-of-data refusal with no enhanced code",
				script: peertest.Script{Replies: map[string]string{"DOT": "554 Message rejected as spam"}},
				want:   slices.Repeat([]want{{554, "", "Message rejected as spam", ".", codes.PhaseDot}}, 3)},
			{name: "enhanced code of another class stays in the text", why: "RFC 2034: the class must agree with the code",
				script: peertest.Script{RcptReplies: map[string]string{"b@peer.test": "450 5.1.1 odd"}},
				want:   []want{queued, {450, "", "5.1.1 odd", "RCPT TO:<b@peer.test>", codes.PhaseRcpt}, queued}},
			{name: "all refused", why: "no DATA is sent (or it is refused) and nobody gets a DATA reply",
				script: peertest.Script{Replies: map[string]string{"RCPT": "550 5.7.1 relay denied"}},
				want: []want{{550, "5.7.1", "relay denied", "RCPT TO:<a@peer.test>", codes.PhaseRcpt},
					{550, "5.7.1", "relay denied", "RCPT TO:<b@peer.test>", codes.PhaseRcpt},
					{550, "5.7.1", "relay denied", "RCPT TO:<c@peer.test>", codes.PhaseRcpt}}},
		}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/pipelining=%v", tc.name, pipelining), func(t *testing.T) {
				t.Parallel()
				tc.script.Extensions = exts
				p := startPeer(t, tc.script)
				c := dialPeer(t, p)
				m := Message{From: "s@client.test", Recipients: rcpts("a@peer.test", "b@peer.test", "c@peer.test"), Data: []byte("x\r\n"), EightBit: true}
				res, err := c.Send(context.Background(), m)
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				for i, w := range tc.want {
					w.check(t, i, res[i])
					if res[i].Host != "peer.test" || res[i].IP != "127.0.0.1" {
						t.Errorf("recipient %d: host %q ip %q", i, res[i].Host, res[i].IP)
					}
				}
				if !c.Usable() {
					t.Error("a refusal made the connection unusable")
				}
			})
		}
	}
}

// TestRefusedBeforeConnecting: the greeting and EHLO refusals end Dial
// with the remote reply.
func TestRefusedAtGreetingAndHelo(t *testing.T) {
	cases := []struct {
		name   string
		why    string
		script peertest.Script
		want   want
		quit   bool // the client said QUIT
	}{
		{name: "554 greeting", why: "RFC 5321 §3.1: a 554 greeting; the client quits",
			script: peertest.Script{Greeting: "554 5.7.1 You are blocked"}, want: want{554, "5.7.1", "You are blocked", "", codes.PhaseGreeting}, quit: true},
		{name: "421 greeting multi-line", why: "busy server, all lines kept",
			script: peertest.Script{Greeting: "421-peer.test too many connections\n421 try later"}, want: want{421, "", "peer.test too many connections\ntry later", "", codes.PhaseGreeting}},
		{name: "421 EHLO", why: "a 4xx to EHLO is not a reason to try HELO",
			script: peertest.Script{Replies: map[string]string{"EHLO": "421 4.7.0 rate limited"}}, want: want{421, "4.7.0", "rate limited", "EHLO client.test", codes.PhaseHelo}},
		{name: "HELO refused after EHLO 502", why: "the fallback's own refusal is the result",
			script: peertest.Script{NoEHLO: true, Replies: map[string]string{"HELO": "550 5.7.1 go away"}}, want: want{550, "5.7.1", "go away", "HELO client.test", codes.PhaseHelo}, quit: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, tc.script)
			_, err := Dial(context.Background(), "peer.test", p.Addr, testOptions())
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("err %v", err)
			}
			tc.want.check(t, 0, e.Result)
			waitIdle(t, p)
			if got := slices.Contains(p.Commands(), "QUIT"); got != tc.quit {
				t.Errorf("QUIT sent %v, want %v (%q)", got, tc.quit, p.Commands())
			}
		})
	}
}

// TestHeloFallback: a server that refuses EHLO gets HELO and no ESMTP.
func TestHeloFallback(t *testing.T) {
	for _, reply := range []string{"500 5.5.2 unrecognized", "502 5.5.1 not implemented", "504 5.5.2 nope", "550 no ESMTP here"} {
		t.Run(reply[:3], func(t *testing.T) {
			p := startPeer(t, peertest.Script{Replies: map[string]string{"EHLO": reply}})
			c := dialPeer(t, p)
			if len(c.Extensions()) != 0 || c.MaxSize() != 0 {
				t.Errorf("extensions after HELO: %v", c.Extensions())
			}
			m := message(0)
			m.Recipients = rcpts("a@peer.test", "b@peer.test")
			res, err := c.Send(context.Background(), m)
			if err != nil || res[0].Code != 250 || res[1].Code != 250 {
				t.Fatalf("Send: %v %v", res, err)
			}
			c.Quit()
			waitIdle(t, p)
			cmds := p.Commands()
			if cmds[0] != "EHLO client.test" || cmds[1] != "HELO client.test" || cmds[2] != "MAIL FROM:<sender@client.test>" {
				t.Errorf("commands %q", cmds)
			}
			if p.PipelinedBatches() != 0 {
				t.Errorf("pipelined to a HELO-only server: %v", p.Batches())
			}
		})
	}
}

// TestPipelining proves from the peer's side that MAIL, every RCPT and
// DATA arrive together when PIPELINING is offered, and one by one when
// it is not; a long recipient list goes in groups.
func TestPipelining(t *testing.T) {
	many := make([]string, 250)
	for i := range many {
		many[i] = fmt.Sprintf("r%03d@peer.test", i)
	}
	cases := []struct {
		name    string
		why     string
		exts    []string
		rcpts   []string
		batches []int // the peer's batches after the greeting's and EHLO's
	}{
		{name: "offered", why: "RFC 2920: one write for MAIL, 3 RCPTs, DATA",
			rcpts: many[:3], batches: []int{5}},
		{name: "not offered", why: "one command, one reply",
			exts: []string{"8BITMIME"}, rcpts: many[:3], batches: []int{1, 1, 1, 1, 1}},
		{name: "250 recipients", why: "groups of 100 commands keep the replies within the socket buffers",
			rcpts: many, batches: []int{100, 100, 52}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, peertest.Script{Extensions: tc.exts})
			c := dialPeer(t, p)
			m := message(0)
			m.Recipients = rcpts(tc.rcpts...)
			res, err := c.Send(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Code != 250 {
					t.Fatalf("recipient %d: %v", i, r)
				}
			}
			c.Quit()
			waitIdle(t, p)
			got := p.Batches()
			got = got[1 : len(got)-1] // EHLO and QUIT
			if !slices.Equal(got, tc.batches) {
				t.Errorf("batches %v, want %v", got, tc.batches)
			}
			if n := len(p.Messages()[0].Rcpts); n != len(tc.rcpts) {
				t.Errorf("peer got %d recipients", n)
			}
		})
	}
}

// TestNotSent: what the peer cannot take is refused before MAIL, with no
// network work at all.
func TestNotSent(t *testing.T) {
	cases := []struct {
		name string
		why  string
		exts []string
		msg  func(*Message)
		code int
		enh  string
	}{
		{name: "over SIZE", why: "RFC 1870: the peer said how much it takes",
			exts: []string{"SIZE 1000", "PIPELINING"}, msg: func(m *Message) { m.Data = make([]byte, 1001) }, code: 552, enh: "5.3.4"},
		{name: "UTF-8 address without SMTPUTF8", why: "RFC 6531: a non-ASCII address needs the extension",
			exts: []string{"8BITMIME"}, msg: func(m *Message) { m.SMTPUTF8 = true; m.Recipients[0].Addr = "太郎@peer.test" }, code: 553, enh: "5.6.7"},
		{name: "UTF-8 header without SMTPUTF8", why: "RFC 6531: ASCII addresses, UTF-8 header",
			exts: []string{"8BITMIME"}, msg: func(m *Message) { m.SMTPUTF8 = true }, code: 554, enh: "5.6.9"},
		{name: "8-bit without 8BITMIME", why: "RFC 6152 §3: not sent unconverted",
			exts: []string{"PIPELINING"}, msg: func(m *Message) { m.EightBit = true }, code: 554, enh: "5.6.3"},
		{name: "sender with CRLF", why: "an address must not inject a command",
			msg: func(m *Message) { m.From = "a@b>\r\nRCPT TO:<x@y" }, code: 553, enh: "5.1.7"},
		{name: "recipient with CRLF", why: "an address must not inject a command",
			msg: func(m *Message) { m.Recipients[0].Addr = "a@b>\r\nDATA" }, code: 611, enh: "5.1.3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, peertest.Script{Extensions: tc.exts})
			c := dialPeer(t, p)
			m := message(0)
			tc.msg(&m)
			res, err := c.Send(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			if r := res[0]; r.Code != tc.code || r.Enhanced != tc.enh || r.Reason == "" {
				t.Errorf("got %v (reason %q), want %d %s", r, r.Reason, tc.code, tc.enh)
			}
			if tc.code != 611 && !strings.HasPrefix(res[0].Text, "not sent: ") {
				t.Errorf("text %q does not say it was not sent", res[0].Text)
			}
			c.Quit()
			waitIdle(t, p)
			if cmds := p.Commands(); len(cmds) != 2 {
				t.Errorf("network work was done: %q", cmds)
			}
		})
	}
}

// TestTooManyRecipients: a peer over its recipient limit answers 452;
// the engine sends those recipients again in the next transaction at once
// (RFC 5321 §4.5.3.1.10), on the same connection.
func TestTooManyRecipients(t *testing.T) {
	p := startPeer(t, peertest.Script{MaxRecipients: 2})
	c := dialPeer(t, p)
	m := message(0)
	left := rcpts("a@peer.test", "b@peer.test", "c@peer.test", "d@peer.test", "e@peer.test")
	var rounds [][]int
	for len(left) > 0 && len(rounds) < 5 {
		m.Recipients = left
		res, err := c.Send(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		var later []Recipient
		var got []int
		for i, r := range res {
			got = append(got, r.Code)
			if TooManyRecipients(r) {
				later = append(later, left[i])
			}
		}
		rounds, left = append(rounds, got), later
	}
	want := [][]int{{250, 250, 452, 452, 452}, {250, 250, 452}, {250}}
	if fmt.Sprint(rounds) != fmt.Sprint(want) {
		t.Errorf("rounds %v, want %v", rounds, want)
	}
	if p.Connections() != 1 || len(p.Messages()) != 3 {
		t.Errorf("%d connections, %d messages", p.Connections(), len(p.Messages()))
	}
}

// TestTooManyRecipients552: a 552 to RCPT that means "too many
// recipients" is transient (RFC 5321 §4.5.3.1.10): 452 4.5.3 with the
// remote reply quoted; any other 552 stays.
func TestTooManyRecipients552(t *testing.T) {
	cases := []struct {
		name, why, reply string
		code             int
		enhanced, text   string
	}{
		{"452", "the RFC's code passes as it is", "452 4.5.3 Too many recipients", 452, "4.5.3", "Too many recipients"},
		{"552 5.5.3", "old servers; the enhanced code says it", "552 5.5.3 Too many recipients", 452, "4.5.3", "remote said: 552 5.5.3 Too many recipients"},
		{"552 text", "no enhanced code; the text says it", "552 Too many recipients for this message", 452, "4.5.3", "remote said: 552 Too many recipients for this message"},
		{"552 mailbox full", "a real 552 stays permanent", "552 5.2.2 Mailbox full", 552, "5.2.2", "Mailbox full"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, peertest.Script{RcptReplies: map[string]string{"b@peer.test": tc.reply}})
			c := dialPeer(t, p)
			m := message(0)
			m.Recipients = rcpts("a@peer.test", "b@peer.test")
			res, err := c.Send(context.Background(), m)
			if err != nil || res[0].Code != 250 {
				t.Fatal(res, err)
			}
			r := res[1]
			if r.Code != tc.code || r.Enhanced != tc.enhanced || r.Text != tc.text || TooManyRecipients(r) != (tc.code == 452) {
				t.Errorf("got %d %q %q", r.Code, r.Enhanced, r.Text)
			}
		})
	}
}

// TestQuitLostAfterDelivery: a connection lost waiting for QUIT's reply
// changes nothing for recipients already answered 250.
func TestQuitLostAfterDelivery(t *testing.T) {
	for _, a := range []peertest.Action{peertest.Cut, peertest.Reset, peertest.Stall} {
		t.Run(a.String(), func(t *testing.T) {
			t.Parallel()
			s := peertest.Script{Actions: map[codes.Phase]peertest.Action{codes.PhaseQuit: a}}
			p := startPeer(t, s)
			c, err := Dial(context.Background(), "peer.test", p.Addr, optionsFor(s))
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Send(context.Background(), message(0))
			if err != nil || res[0].Code != 250 {
				t.Fatalf("Send: %v %v", res, err)
			}
			if err := c.Quit(); err != nil {
				t.Errorf("Quit: %v, want nil: the delivery is done", err)
			}
			if len(p.Messages()) != 1 {
				t.Error("the peer has no message")
			}
		})
	}
}

// TestManyTransactions: one connection, several messages, RSET between,
// and an aborted transaction reset by the next Send on its own.
func TestManyTransactions(t *testing.T) {
	for _, exts := range [][]string{nil, {"8BITMIME"}} {
		t.Run(fmt.Sprintf("pipelining=%v", exts == nil), func(t *testing.T) {
			p := startPeer(t, peertest.Script{Extensions: exts, RcptReplies: map[string]string{"nobody@peer.test": "550 5.1.1 no such user"}})
			c := dialPeer(t, p)
			ctx := context.Background()
			for i := range 3 {
				m := message(0)
				m.Data = fmt.Appendf(nil, "Subject: %d\r\n\r\nbody\r\n", i)
				if res, err := c.Send(ctx, m); err != nil || res[0].Code != 250 {
					t.Fatalf("message %d: %v %v", i, res, err)
				}
				if err := c.Reset(ctx); err != nil {
					t.Fatal(err)
				}
			}
			// All recipients refused: MAIL stays open at the peer...
			res, err := c.Send(ctx, Message{From: "s@client.test", Recipients: rcpts("nobody@peer.test"), Data: []byte("x\r\n")})
			if err != nil || res[0].Code != 550 {
				t.Fatalf("refused: %v %v", res, err)
			}
			// ...so the next Send starts with RSET.
			if res, err := c.Send(ctx, message(0)); err != nil || res[0].Code != 250 {
				t.Fatalf("after refusal: %v %v", res, err)
			}
			c.Quit()
			waitIdle(t, p)
			if p.Connections() != 1 || len(p.Messages()) != 4 {
				t.Errorf("%d connections, %d messages; want 1 and 4", p.Connections(), len(p.Messages()))
			}
			cmds := p.Commands()
			i := slices.Index(cmds, "RCPT TO:<nobody@peer.test>") + 1
			if i < len(cmds) && cmds[i] == "DATA" {
				i++ // pipelined: DATA went with the RCPT and was refused
			}
			if len(cmds) < i+2 || cmds[i] != "RSET" || !strings.HasPrefix(cmds[i+1], "MAIL FROM:") {
				t.Errorf("no RSET right after the aborted transaction: %q", cmds)
			}
		})
	}
}

// TestDotStuffing: the peer gets back exactly the content, whatever dots
// it holds, with a CRLF added only where the last line lacks one.
func TestDotStuffing(t *testing.T) {
	big := strings.Repeat(".x\r\n", 40000) // dot lines across the 64 KiB chunk boundaries
	cases := []struct {
		name, why, data, want string
	}{
		{"plain", "nothing to do", "a\r\nb\r\n", "a\r\nb\r\n"},
		{"leading dot", "RFC 5321 §4.5.2 on the first line", ".a\r\n", ".a\r\n"},
		{"lone dot line", "must not end the message", "a\r\n.\r\nb\r\n", "a\r\n.\r\nb\r\n"},
		{"double dots", "each line gets one more dot, the peer takes one off", "..\r\n...\r\n", "..\r\n...\r\n"},
		{"no final CRLF", "the terminator needs a line of its own", "a\r\n.b", "a\r\n.b\r\n"},
		{"empty", "an empty message is just the dot", "", ""},
		{"big", "stuffing across chunks", big, big},
	}
	p := startPeer(t, peertest.Script{Extensions: []string{"PIPELINING"}})
	c := dialPeer(t, p)
	for i, tc := range cases {
		m := message(0)
		m.Data = []byte(tc.data)
		if res, err := c.Send(context.Background(), m); err != nil || res[0].Code != 250 {
			t.Fatalf("%s: %v %v", tc.name, res, err)
		}
		if got := p.Messages()[i].Data; string(got) != tc.want {
			t.Errorf("%s (%s): peer got %q, want %q", tc.name, tc.why, clip(string(got)), clip(tc.want))
		}
	}
}

// TestParameters: MAIL and RCPT carry SIZE, BODY, SMTPUTF8 and the DSN
// parameters only when the peer offers the extension.
func TestParameters(t *testing.T) {
	m := Message{From: "s@client.test", Data: []byte("x\r\n"), EightBit: true, SMTPUTF8: true, EnvID: "id+1=2", Ret: "hdrs",
		Recipients: []Recipient{{Addr: "a@peer.test", Notify: "failure,delay", ORCPT: "rfc822;a+b@peer.test"}, {Addr: "b@peer.test", ORCPT: "b@x.test"}}}
	cases := []struct {
		name string
		why  string
		exts []string
		want []string
	}{
		{name: "everything offered", why: "RFC 1870, 6152, 6531, 3461 parameters, xtext-encoded",
			exts: nil, want: []string{"MAIL FROM:<s@client.test> SIZE=3 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+2B1+3D2",
				"RCPT TO:<a@peer.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;a+2Bb@peer.test", "RCPT TO:<b@peer.test> ORCPT=rfc822;b@x.test", "DATA"}},
		{name: "no DSN", why: "DSN parameters to a peer without DSN would be refused",
			exts: []string{"8BITMIME", "SMTPUTF8"}, want: []string{"MAIL FROM:<s@client.test> BODY=8BITMIME SMTPUTF8", "RCPT TO:<a@peer.test>", "RCPT TO:<b@peer.test>", "DATA"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := startPeer(t, peertest.Script{Extensions: tc.exts})
			c := dialPeer(t, p)
			if res, err := c.Send(context.Background(), m); err != nil || res[0].Code != 250 {
				t.Fatalf("Send: %v %v", res, err)
			}
			if got := p.Commands()[1:5]; !slices.Equal(got, tc.want) {
				t.Errorf("commands\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// TestClosing421: a 421 in the middle of a transaction ends the
// connection; unsettled recipients get it, transient.
func TestClosing421(t *testing.T) {
	p := startPeer(t, peertest.Script{Extensions: []string{"8BITMIME"}, RcptReplies: map[string]string{
		"a@peer.test": "550 5.1.1 unknown", "b@peer.test": "421 4.7.0 too many errors, closing"}})
	c := dialPeer(t, p)
	m := message(0)
	m.Recipients = rcpts("a@peer.test", "b@peer.test", "c@peer.test")
	res, err := c.Send(context.Background(), m)
	if err == nil || c.Usable() {
		t.Fatal("the connection is still taken as usable after 421")
	}
	if res[0].Code != 550 || res[1].Code != 421 || res[2].Code != 421 || !res[2].Transient() {
		t.Errorf("results %v", res)
	}
}

// TestCancel: cancelling the context ends a stalled wait at once, as the
// phase's timeout code, saying why.
func TestCancel(t *testing.T) {
	p := startPeer(t, peertest.Script{Actions: map[codes.Phase]peertest.Action{codes.PhaseMail: peertest.Stall}})
	opt := testOptions()
	c, err := Dial(context.Background(), "peer.test", p.Addr, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { waitActed(t, p, codes.PhaseMail); cancel() }()
	start := time.Now()
	res, err := c.Send(ctx, message(0))
	checkErr(t, err, 642, false)
	if !strings.Contains(res[0].Text, "stopped: context canceled") || time.Since(start) > 10*time.Second {
		t.Errorf("%q after %v", res[0].Text, time.Since(start))
	}
}

// TestContextDeadlineInDial: the context's deadline bounds Dial like a
// phase timeout does, and says so.
func TestContextDeadlineInDial(t *testing.T) {
	p := startPeer(t, peertest.Script{Actions: map[codes.Phase]peertest.Action{codes.PhaseGreeting: peertest.Stall}})
	ctx, cancel := context.WithTimeout(context.Background(), short)
	defer cancel()
	_, err := Dial(ctx, "peer.test", p.Addr, testOptions())
	checkErr(t, err, 640, false)
	if e := err.(*Error); !strings.Contains(e.Result.Text, "stopped: context deadline exceeded") {
		t.Errorf("text %q", e.Result.Text)
	}
}

// BeforeDot runs before the final dot (and the last of the content): the
// message is delivered when it says yes, and when it fails the connection
// closes without the dot, the peer keeps nothing and the result is a
// transient 602.
func TestBeforeDot(t *testing.T) {
	p, err := peertest.Start(peertest.Script{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	calls := 0
	c := dialPeer(t, p)
	res, err := c.Send(context.Background(), Message{From: "a@b.test", Recipients: rcpts("x@y.test"), Data: []byte("Subject: s\r\n\r\nbody\r\n"),
		BeforeDot: func() error {
			calls++
			if n := len(p.Messages()); n != 0 {
				t.Errorf("the peer had %d messages before the dot", n)
			}
			return nil
		}})
	if err != nil || res[0].Code != 250 || calls != 1 || len(p.Messages()) != 1 {
		t.Fatalf("yes: %v %v, %d calls, %d messages", res, err, calls, len(p.Messages()))
	}
	c.Quit()
	c2 := dialPeer(t, p)
	res, err = c2.Send(context.Background(), Message{From: "a@b.test", Recipients: rcpts("z@y.test"), Data: []byte("Subject: s\r\n\r\nbody\r\n"),
		BeforeDot: func() error { return fmt.Errorf("store down") }})
	if err == nil || res[0].Code != 602 || !res[0].Transient() || !strings.Contains(res[0].Text, "store down") {
		t.Fatalf("no: %v %v", res, err)
	}
	waitIdle(t, p)
	if n := len(p.Messages()); n != 1 {
		t.Errorf("the peer kept %d messages, want 1 (the withdrawn one discarded)", n)
	}
}
