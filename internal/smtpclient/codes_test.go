package smtpclient

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/outcome"
	"github.com/hikyaku/hikyaku/internal/peertest"
)

// short is how long a stalled phase waits in these tests; every other
// phase gets long, so that a loaded machine running -race does not turn a
// slow reply into a timeout.
const (
	short = 300 * time.Millisecond
	long  = 10 * time.Second
)

func testOptions() Options {
	return Options{HeloName: "client.test", Timeouts: Timeouts{Connect: long, Greeting: long, Helo: long, StartTLS: long,
		Mail: long, Rcpt: long, Data: long, Block: long, Dot: long, Rset: long, Quit: long}}
}

// shorten gives the timeout of phase ph the short value.
func shorten(t *Timeouts, ph codes.Phase) {
	field := map[codes.Phase]*time.Duration{
		codes.PhaseOther: &t.StartTLS, codes.PhaseGreeting: &t.Greeting, codes.PhaseHelo: &t.Helo,
		codes.PhaseMail: &t.Mail, codes.PhaseRcpt: &t.Rcpt, codes.PhaseData: &t.Data,
		codes.PhaseContent: &t.Block, codes.PhaseDot: &t.Dot, codes.PhaseRset: &t.Rset, codes.PhaseQuit: &t.Quit,
	}[ph]
	*field = short
}

// optionsFor shortens the timeout of every phase the script stalls.
func optionsFor(s peertest.Script) Options {
	opt := testOptions()
	for ph, a := range s.Actions {
		if a == peertest.Stall || a == peertest.StopReading {
			shorten(&opt.Timeouts, ph)
		}
	}
	return opt
}

func startPeer(t *testing.T, s peertest.Script) *peertest.Peer {
	t.Helper()
	p, err := peertest.Start(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func message(size int) Message {
	data := []byte("Subject: test\r\n\r\nhello\r\n")
	if size > len(data) {
		line := strings.Repeat("x", 76) + "\r\n"
		data = append(data, strings.Repeat(line, (size-len(data))/len(line)+1)...)
	}
	return Message{From: "sender@client.test", Recipients: []Recipient{{Addr: "rcpt@peer.test"}}, Data: data}
}

// waitActed waits until the peer has carried out its scripted action at ph.
func waitActed(t *testing.T, p *peertest.Peer, ph codes.Phase) {
	t.Helper()
	for {
		select {
		case got := <-p.Acted():
			if got == ph {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("peer never acted at phase %d", ph)
		}
	}
}

// stage is where a case expects the failure.
type stage int

const (
	atDial  stage = iota // Dial fails
	atSend               // Send fails (after Dial succeeded)
	atReset              // a Send succeeds, then Reset fails
	atQuit               // a Send succeeds, then Quit fails
)

// TestConnectionCodes produces each code of docs/spec.md §4.2 that loopback can
// produce, through Dial/Send/Reset/Quit against a misbehaving peer.
func TestConnectionCodes(t *testing.T) {
	act := func(ph codes.Phase, a peertest.Action) map[codes.Phase]peertest.Action {
		return map[codes.Phase]peertest.Action{ph: a}
	}
	noSize := []string{"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"}
	cases := []struct {
		name   string
		why    string
		script peertest.Script
		stage  stage
		wait   codes.Phase // wait for the peer's action at this phase before the stage (0: don't)
		size   int
		code   int
		maybe  bool
	}{
		{name: "620 greeting cut", why: "peer closes before saying anything",
			script: peertest.Script{Actions: act(codes.PhaseGreeting, peertest.Cut)}, stage: atDial, code: 620},
		{name: "640 greeting stall", why: "peer accepts and never greets",
			script: peertest.Script{Actions: act(codes.PhaseGreeting, peertest.Stall)}, stage: atDial, code: 640},
		{name: "621 EHLO cut", why: "lost while waiting for the EHLO reply",
			script: peertest.Script{Actions: act(codes.PhaseHelo, peertest.Cut)}, stage: atDial, code: 621},
		{name: "641 EHLO stall", why: "no EHLO reply in time",
			script: peertest.Script{Actions: act(codes.PhaseHelo, peertest.Stall)}, stage: atDial, code: 641},
		{name: "622 MAIL cut", why: "lost while waiting for the MAIL reply (pipelined group)",
			script: peertest.Script{Actions: act(codes.PhaseMail, peertest.Cut)}, stage: atSend, code: 622},
		{name: "642 MAIL stall", why: "no MAIL reply in time",
			script: peertest.Script{Actions: act(codes.PhaseMail, peertest.Stall)}, stage: atSend, code: 642},
		{name: "623 RCPT cut", why: "lost while waiting for a RCPT reply",
			script: peertest.Script{Actions: act(codes.PhaseRcpt, peertest.Cut)}, stage: atSend, code: 623},
		{name: "643 RCPT stall", why: "no RCPT reply in time",
			script: peertest.Script{Actions: act(codes.PhaseRcpt, peertest.Stall)}, stage: atSend, code: 643},
		{name: "623 RCPT cut without pipelining", why: "the one-command-at-a-time path names the phase the same way",
			script: peertest.Script{Extensions: []string{}, Actions: act(codes.PhaseRcpt, peertest.Cut)}, stage: atSend, code: 623},
		{name: "624 DATA cut", why: "lost while waiting for 354",
			script: peertest.Script{Actions: act(codes.PhaseData, peertest.Cut)}, stage: atSend, code: 624},
		{name: "644 DATA stall", why: "no 354 in time",
			script: peertest.Script{Actions: act(codes.PhaseData, peertest.Stall)}, stage: atSend, code: 644},
		{name: "625 dot cut", why: "lost after the final dot: the peer may have the message",
			script: peertest.Script{Actions: act(codes.PhaseDot, peertest.Cut)}, stage: atSend, code: 625, maybe: true},
		{name: "645 dot stall", why: "no reply to the final dot in time: outcome unknown",
			script: peertest.Script{Actions: act(codes.PhaseDot, peertest.Stall)}, stage: atSend, code: 645, maybe: true},
		{name: "627 RSET cut", why: "lost while waiting for the RSET reply",
			script: peertest.Script{Actions: act(codes.PhaseRset, peertest.Cut)}, stage: atReset, code: 627},
		{name: "647 RSET stall", why: "no RSET reply in time",
			script: peertest.Script{Actions: act(codes.PhaseRset, peertest.Stall)}, stage: atReset, code: 647},
		{name: "661 MAIL write after reset", why: "the peer reset an idle connection; the MAIL write finds it (sending side)",
			script: peertest.Script{Actions: act(codes.PhaseHelo, peertest.ReplyThenReset)}, stage: atSend, wait: codes.PhaseHelo, code: 661},
		{name: "661 MAIL write after reset, no pipelining", why: "same without PIPELINING",
			script: peertest.Script{Extensions: []string{}, Actions: act(codes.PhaseHelo, peertest.ReplyThenReset)}, stage: atSend, wait: codes.PhaseHelo, code: 661},
		{name: "667 RSET write after reset", why: "the peer reset the connection after the last message; RSET cannot be sent",
			script: peertest.Script{Actions: act(codes.PhaseDot, peertest.ReplyThenReset)}, stage: atReset, wait: codes.PhaseDot, code: 667},
		{name: "666 QUIT write after reset", why: "QUIT cannot be sent; reported for the log only",
			script: peertest.Script{Actions: act(codes.PhaseDot, peertest.ReplyThenReset)}, stage: atQuit, wait: codes.PhaseDot, code: 666},
		{name: "664 content cut", why: "the peer reads 64 KiB of a 16 MiB message and resets; a later content write fails",
			script: peertest.Script{Extensions: noSize, Actions: act(codes.PhaseContent, peertest.CutWhileReading), CutAfterBytes: 64 << 10},
			stage:  atSend, size: 16 << 20, code: 664},
		{name: "684 content blocked", why: "the peer stops reading; the socket buffers fill and a content write times out",
			script: peertest.Script{Extensions: noSize, Actions: act(codes.PhaseContent, peertest.StopReading)},
			stage:  atSend, size: 16 << 20, code: 684},
		{name: "602 malformed reply", why: "a reply that is not SMTP leaves the stream out of step",
			script: peertest.Script{Replies: map[string]string{"MAIL": "hello there"}}, stage: atSend, code: 602},
		{name: "602 malformed dot reply keeps maybe-delivered", why: "garbage after the final dot still leaves the outcome unknown",
			script: peertest.Script{Replies: map[string]string{"DOT": "2.0.0 ok"}}, stage: atSend, code: 602, maybe: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, tc.script)
			ctx := context.Background()
			c, err := Dial(ctx, "peer.test", p.Addr, optionsFor(tc.script))
			if tc.stage == atDial {
				checkErr(t, err, tc.code, false)
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			m := message(tc.size)
			if tc.stage == atReset || tc.stage == atQuit {
				res, err := c.Send(ctx, m)
				if err != nil || res[0].Code != 250 {
					t.Fatalf("first Send: %v %v", res, err)
				}
			}
			if tc.wait != 0 {
				waitActed(t, p, tc.wait)
			}
			switch tc.stage {
			case atSend:
				res, err := c.Send(ctx, m)
				checkErr(t, err, tc.code, tc.maybe)
				checkResult(t, res[0], tc.code, tc.maybe)
				if c.Usable() {
					t.Error("client still usable after the connection failed")
				}
			case atReset:
				checkErr(t, c.Reset(ctx), tc.code, false)
			case atQuit:
				checkErr(t, c.Quit(), tc.code, false)
			}
		})
	}
}

func checkErr(t *testing.T, err error, code int, maybe bool) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *Error with %d", err, err, code)
	}
	checkResult(t, e.Result, code, maybe)
}

func checkResult(t *testing.T, r outcome.Result, code int, maybe bool) {
	t.Helper()
	if r.Code != code || r.MaybeDelivered != maybe {
		t.Fatalf("result %d (maybe delivered %v) %q, want %d (maybe delivered %v)", r.Code, r.MaybeDelivered, r.Text, code, maybe)
	}
	if r.Host != "peer.test" || r.IP == "" {
		t.Errorf("result names host %q ip %q", r.Host, r.IP)
	}
	if c, ok := codes.LookupCode(code); ok && code >= 600 && (r.Enhanced != c.Status || r.Reason == "") {
		t.Errorf("result %d has enhanced %q reason %q, want the table's %q", code, r.Enhanced, r.Reason, c.Status)
	}
}
