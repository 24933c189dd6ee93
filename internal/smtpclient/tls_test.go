package smtpclient

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/peertest"
)

func TestStartTLS(t *testing.T) {
	opportunistic := &tls.Config{InsecureSkipVerify: true}
	verifying := &tls.Config{RootCAs: peertest.CertPool()} // ServerName comes from the host name
	untrusted := &tls.Config{}                             // the peer's self-signed certificate fails verification
	cases := []struct {
		name    string
		why     string
		script  peertest.Script
		tls     *tls.Config
		require bool
		code    int  // 0: Dial succeeds
		useTLS  bool // the connection ends up encrypted
		conns   int  // connections the peer saw
		text    string
	}{
		{name: "opportunistic", why: "STARTTLS offered and taken, certificate not checked",
			script: peertest.Script{StartTLS: true}, tls: opportunistic, useTLS: true, conns: 1},
		{name: "verified", why: "SNI is the MX host name; a trusted certificate verifies",
			script: peertest.Script{StartTLS: true}, tls: verifying, require: true, useTLS: true, conns: 1},
		{name: "required, no config", why: "RequireTLS alone means encryption, certificate unchecked",
			script: peertest.Script{StartTLS: true}, require: true, useTLS: true, conns: 1},
		{name: "not offered", why: "opportunistic TLS goes on in plain text",
			script: peertest.Script{}, tls: opportunistic, conns: 1},
		{name: "TLS off", why: "no TLS config: STARTTLS is not used even when offered",
			script: peertest.Script{StartTLS: true}, conns: 1},
		{name: "refused 454", why: "RFC 3207 §4.1: a refused STARTTLS leaves the plain connection usable",
			script: peertest.Script{StartTLS: true, Replies: map[string]string{"STARTTLS": "454 4.7.0 TLS not available"}}, tls: opportunistic, conns: 1},
		{name: "bad certificate falls back to plain text", why: "an opportunistic handshake failure retries once without TLS",
			script: peertest.Script{StartTLS: true}, tls: untrusted, conns: 2},
		{name: "602 handshake cut", why: "lost during the handshake, which is none of the named phases",
			script: peertest.Script{StartTLS: true, Actions: map[codes.Phase]peertest.Action{codes.PhaseOther: peertest.Cut}}, tls: opportunistic, code: 602, conns: 1, text: "TLS handshake"},
		{name: "610 handshake stall", why: "the peer never answers the ClientHello",
			script: peertest.Script{StartTLS: true, Actions: map[codes.Phase]peertest.Action{codes.PhaseOther: peertest.Stall}}, tls: opportunistic, code: 610, conns: 1, text: "TLS handshake"},
		{name: "602 required, not offered", why: "RequireTLS refuses plain text",
			script: peertest.Script{}, tls: opportunistic, require: true, code: 602, conns: 1, text: "does not offer STARTTLS"},
		{name: "602 required, bad certificate", why: "RequireTLS does not fall back",
			script: peertest.Script{StartTLS: true}, tls: untrusted, require: true, code: 602, conns: 1, text: "handshake failed"},
		{name: "454 required, refused", why: "RequireTLS keeps the remote's refusal",
			script: peertest.Script{StartTLS: true, Replies: map[string]string{"STARTTLS": "454 4.7.0 TLS not available"}}, tls: opportunistic, require: true, code: 454, conns: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, tc.script)
			opt := optionsFor(tc.script)
			opt.TLS, opt.RequireTLS = tc.tls, tc.require
			c, err := Dial(context.Background(), "peer.test", p.Addr, opt)
			if tc.code != 0 {
				checkErr(t, err, tc.code, false)
				if e := err.(*Error); !strings.Contains(e.Result.Text, tc.text) || e.Result.Phase != codes.PhaseOther {
					t.Errorf("result %+v should say %q in phase other", e.Result, tc.text)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				res, err := c.Send(context.Background(), message(0))
				if err != nil || res[0].Code != 250 {
					t.Fatalf("Send: %v %v", res, err)
				}
				if c.TLS() != tc.useTLS || p.Messages()[0].TLS != tc.useTLS {
					t.Errorf("client TLS %v, peer saw TLS %v, want %v", c.TLS(), p.Messages()[0].TLS, tc.useTLS)
				}
				if tc.useTLS {
					if _, ok := c.Extensions()["STARTTLS"]; ok {
						t.Error("extensions are still those from before TLS")
					}
				}
				c.Quit()
			}
			if got := p.Connections(); got != tc.conns {
				t.Errorf("peer saw %d connections, want %d", got, tc.conns)
			}
		})
	}
}
