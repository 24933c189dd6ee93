package server

import (
	"strings"
	"testing"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/dkim"
	"github.com/hikyaku/hikyaku/internal/dnsfake"
)

// SPF and DKIM through the fake DNS: a sender whose domain's SPF says
// "-all" for us is refused 550 5.7.23, a temporary DNS failure 451
// 4.7.24, and an accepted message carries Authentication-Results and
// Received-SPF at the top, with its valid DKIM signature as pass.
func TestSPFAndDKIM(t *testing.T) {
	key, _, err := dkim.GenerateKey("ed25519")
	if err != nil {
		t.Fatal(err)
	}
	zone := "$TTL 300\n" +
		"good.example. TXT \"v=spf1 ip4:127.0.0.1 -all\"\n" +
		"bad.example. TXT \"v=spf1 ip4:192.0.2.1 -all\"\n" +
		"broken.example. TXT \"v=spf1 ip4:127.0.0.1 -all\"\nbroken.example. TXT \"v=spf1 -all\"\n" +
		dkim.DNSRecord("s1", "good.example", key.Public()) + "\n"
	dns, err := dnsfake.Start(dnsfake.Options{Zone: zone, Fail: map[string]int{"flaky.example.": 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	e := newTestEnv(t, func(c *config.Config) {
		c.SPF.Check, c.DKIM.Verify = true, true
		c.Relay.Networks = []string{"192.0.2.0/24"} // we are a stranger, so SPF applies
		c.Delivery.DNSServers = []string{dns.Addr}
	})
	c := e.dial()
	c.expect("220")
	c.cmd("EHLO client.good.example", "250")
	c.cmd("MAIL FROM:<x@bad.example>", "550 5.7.23")
	c.cmd("MAIL FROM:<x@flaky.example>", "451 4.7.24")
	c.cmd("MAIL FROM:<x@broken.example>", "550 5.7.24")
	c.cmd("MAIL FROM:<x@good.example>", "250")
	c.cmd("RCPT TO:<alice@example.test>", "250")
	c.cmd("DATA", "354")
	signer := &dkim.Signer{Keys: map[string][]dkim.Key{"good.example": {{Domain: "good.example", Selector: "s1", Signer: key}}}}
	signed, err := signer.Sign([]byte("From: x@good.example\r\nTo: alice@example.test\r\nSubject: signed\r\n\r\nhello\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.send(string(signed))
	c.cmd(".", "250 2.0.0")
	e.waitDelivered()
	msgs := e.maildirFiles("example.test/alice")
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	ar := strings.Index(m, "Authentication-Results: mx.example.test;")
	rspf := strings.Index(m, "Received-SPF: pass")
	rcvd := strings.Index(m, "Received: from client.good.example")
	if ar < 0 || rspf < 0 || rcvd < 0 || ar > rcvd || rspf > rcvd {
		t.Fatalf("trace fields missing or below Received:\n%s", m)
	}
	for _, want := range []string{"spf=pass", "dkim=pass", "header.d=good.example"} {
		if !strings.Contains(m[ar:rcvd], want) {
			t.Errorf("Authentication-Results lacks %q:\n%s", want, m[ar:rcvd])
		}
	}
}
