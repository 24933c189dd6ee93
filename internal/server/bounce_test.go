package server

import (
	"context"
	"strings"
	"testing"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/intake"
)

// fakeBounces answers Check from a table; other addresses are not ours.
type fakeBounces map[string]intake.Verdict

func (f fakeBounces) Check(_ context.Context, addr string) intake.Verdict { return f[addr] }

// RCPT to the bounce intake's addresses: 250 2.1.5 for the ones it takes
// (even at a domain that is neither local nor relayed), 550 5.1.1 for a
// forged or unknown VERP address, 451 4.3.0 when it cannot tell now; the
// accepted mail is spooled for the intake, one recipient per address.
func TestRcptBounceAddresses(t *testing.T) {
	e := newTestEnvOpts(t, envOptions{bounces: fakeBounces{
		"bounce+spring-3-abcdefghij@bounce.example.net": intake.Accept,
		"bounce+spring-4-abcdefghij@bounce.example.net": intake.Accept,
		"fbl@example.test": intake.Accept,
		"bounce+spring-3-zzzzzzzzzz@bounce.example.net": intake.Unknown,
		"bounce+spring-9-abcdefghij@bounce.example.net": intake.TryLater,
	}}, func(c *config.Config) { c.Relay.Networks = nil })
	c := e.dial()
	c.expect("220")
	c.cmd("EHLO client.example", "250")
	c.cmd("MAIL FROM:<>", "250")
	c.cmd("RCPT TO:<bounce+spring-3-abcdefghij@bounce.example.net>", "250 2.1.5")
	c.cmd("RCPT TO:<bounce+spring-4-abcdefghij@bounce.example.net>", "250 2.1.5")
	c.cmd("RCPT TO:<fbl@example.test>", "250 2.1.5")
	if r := c.cmd("RCPT TO:<bounce+spring-3-zzzzzzzzzz@bounce.example.net>", "550 5.1.1"); !strings.Contains(r[0], "bounce+spring-3-zzzzzzzzzz@bounce.example.net") {
		t.Errorf("reply %q", r)
	}
	c.cmd("RCPT TO:<bounce+spring-9-abcdefghij@bounce.example.net>", "451 4.3.0")
	c.cmd("RCPT TO:<someone@elsewhere.example>", "550 5.7.1") // still no relay
	c.cmd("RCPT TO:<bob@example.test>", "250")                // local users as before
}
