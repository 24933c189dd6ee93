package smtpclient

import (
	"bytes"
	"context"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/hikyaku/hikyaku/internal/peertest"
)

// faultConn makes the first write that holds match fail after the octets
// before it (plus shift) went out for real: the kernel took them, then the
// connection broke (EPIPE) or the write blocked past its deadline. On
// loopback the kernel's send buffer hides a peer's close from every small
// write, so these codes cannot be had from a real peer every time; the
// client code that maps them is the same.
type faultConn struct {
	net.Conn
	match   string
	shift   int
	timeout bool
	fired   bool
}

func (f *faultConn) Write(b []byte) (int, error) {
	if i := bytes.Index(b, []byte(f.match)); !f.fired && i >= 0 {
		f.fired = true
		n, err := f.Conn.Write(b[:i+f.shift])
		if err != nil {
			return n, err
		}
		if f.timeout {
			return n, &net.OpError{Op: "write", Net: "tcp", Err: os.ErrDeadlineExceeded}
		}
		return n, &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}
	}
	return f.Conn.Write(b)
}

// TestWriteFailureCodes covers the sending side, 66x and 68x, phase by
// phase, with and without PIPELINING (where the count of octets the kernel
// took tells which command of the group was being written).
func TestWriteFailureCodes(t *testing.T) {
	plain := []string{"8BITMIME", "ENHANCEDSTATUSCODES"}
	two := []Recipient{{Addr: "first@peer.test"}, {Addr: "second@peer.test"}}
	cases := []struct {
		name    string
		why     string
		exts    []string // nil: the peer's defaults (PIPELINING on)
		match   string
		shift   int
		timeout bool
		dirty   bool // make the transaction dirty first, so that Send starts with RSET
		reset   bool // call Reset instead of Send
		quit    bool // call Quit instead of Send
		dial    bool // the failure comes in Dial
		code    int
		maybe   bool
	}{
		{name: "660 EHLO lost", why: "sending EHLO", match: "EHLO", dial: true, code: 660},
		{name: "680 EHLO blocked", why: "EHLO write times out", match: "EHLO", timeout: true, dial: true, code: 680},
		{name: "661 MAIL lost", why: "one command at a time", exts: plain, match: "MAIL FROM", code: 661},
		{name: "681 MAIL blocked", why: "MAIL write times out", exts: plain, match: "MAIL FROM", timeout: true, code: 681},
		{name: "662 RCPT lost", why: "one command at a time", exts: plain, match: "RCPT TO:<second", code: 662},
		{name: "682 RCPT blocked", why: "RCPT write times out", exts: plain, match: "RCPT TO", timeout: true, code: 682},
		{name: "662 RCPT lost inside a pipelined group", why: "MAIL and the first RCPT went out; the second RCPT broke", match: "RCPT TO:<second", code: 662},
		{name: "663 DATA lost", why: "one command at a time", exts: plain, match: "DATA\r\n", code: 663},
		{name: "683 DATA blocked", why: "DATA write times out", exts: plain, match: "DATA\r\n", timeout: true, code: 683},
		{name: "663 DATA lost inside a pipelined group", why: "every RCPT went out, DATA did not", match: "DATA\r\n", code: 663},
		{name: "664 content lost", why: "the first content write breaks", match: "Subject:", code: 664},
		{name: "684 content blocked", why: "the first content write times out", match: "Subject:", timeout: true, code: 684},
		{name: "665 dot lost", why: "the content went out, the final dot did not: outcome unknown", match: "\r\n.\r\n", shift: 2, code: 665, maybe: true},
		{name: "685 dot blocked", why: "the final dot's write times out: outcome unknown", match: "\r\n.\r\n", shift: 2, timeout: true, code: 685, maybe: true},
		{name: "667 RSET lost", why: "Reset on its own", match: "RSET", reset: true, code: 667},
		{name: "687 RSET blocked", why: "Reset's write times out", match: "RSET", reset: true, timeout: true, code: 687},
		{name: "667 RSET lost before MAIL", why: "Send resets an aborted transaction first, pipelined with MAIL", match: "RSET", dirty: true, code: 667},
		{name: "666 QUIT lost", why: "reported for the log only", match: "QUIT", quit: true, code: 666},
		{name: "686 QUIT blocked", why: "reported for the log only", match: "QUIT", quit: true, timeout: true, code: 686},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := peertest.Script{Extensions: tc.exts}
			if tc.dirty {
				s.RcptReplies = map[string]string{"nobody@peer.test": "550 5.1.1 no such user"}
			}
			p := startPeer(t, s)
			fc := &faultConn{match: tc.match, shift: tc.shift, timeout: tc.timeout}
			ctx := context.Background()
			c, err := dial(ctx, "peer.test", p.Addr, testOptions(), func(c net.Conn) net.Conn { fc.Conn = c; return fc })
			if tc.dial {
				checkErr(t, err, tc.code, false)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tc.dirty {
				res, err := c.Send(ctx, Message{From: "a@client.test", Recipients: []Recipient{{Addr: "nobody@peer.test"}}, Data: []byte("x\r\n")})
				if err != nil || res[0].Code != 550 || !c.dirty {
					t.Fatalf("aborted transaction: %v %v dirty %v", res, err, c.dirty)
				}
			}
			switch {
			case tc.reset:
				checkErr(t, c.Reset(ctx), tc.code, false)
			case tc.quit:
				checkErr(t, c.Quit(), tc.code, false)
			default:
				m := message(0)
				m.Recipients = two
				res, err := c.Send(ctx, m)
				checkErr(t, err, tc.code, tc.maybe)
				for _, r := range res {
					checkResult(t, r, tc.code, tc.maybe)
				}
				if want := "write blocked"; tc.timeout && !strings.Contains(res[0].Text, want) {
					t.Errorf("text %q does not say %q", res[0].Text, want)
				}
			}
			if !fc.fired {
				t.Error("the fault never fired")
			}
		})
	}
}
