//go:debug rsa1024min=0

package dkim

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/hikyaku/hikyaku/internal/dnsfake"
	"github.com/hikyaku/hikyaku/internal/resolve"
)

// keys are generated once: RSA generation is slow under -race.
var (
	keysOnce      sync.Once
	edKey, rsaKey crypto.Signer
	edPEM, rsaPEM []byte
	otherEd       crypto.Signer
	keyGenErr     error
)

func testKeys(t *testing.T) {
	t.Helper()
	keysOnce.Do(func() {
		if edKey, edPEM, keyGenErr = GenerateKey("ed25519"); keyGenErr != nil {
			return
		}
		if rsaKey, rsaPEM, keyGenErr = GenerateKey("rsa"); keyGenErr != nil {
			return
		}
		otherEd, _, keyGenErr = GenerateKey("ed25519")
	})
	if keyGenErr != nil {
		t.Fatal(keyGenErr)
	}
}

// world is a fake DNS publishing the test keys, a resolver on it, and a
// signer holding them.
type world struct {
	srv      *dnsfake.Server
	resolver *resolve.Resolver
	signer   *Signer
}

func newWorld(t *testing.T) *world {
	t.Helper()
	testKeys(t)
	zone := strings.Join([]string{
		DNSRecord("ed", "example.com", edKey.Public()),
		DNSRecord("rsa", "example.com", rsaKey.Public()),
		DNSRecord("ed", "parent.example", edKey.Public()),
		DNSRecord("wrong", "example.com", otherEd.Public()), // a key that does not match
		`revoked._domainkey.example.com. IN TXT "v=DKIM1; k=rsa; p="`,
		`two._domainkey.example.com. IN TXT "v=DKIM1; k=ed25519; p=AAAA"`,
		`two._domainkey.example.com. IN TXT "v=DKIM1; k=ed25519; p=BBBB"`,
	}, "\n")
	srv, err := dnsfake.Start(dnsfake.Options{
		Zone: zone,
		Fail: map[string]int{"broken._domainkey.example.com": dns.RcodeServerFailure},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r, err := resolve.New(resolve.Options{Servers: []string{srv.Addr}, Timeout: time.Second, Attempts: 1,
		LoopAddrs: []netip.Prefix{netip.MustParsePrefix("::1/128")}})
	if err != nil {
		t.Fatal(err)
	}
	return &world{srv: srv, resolver: r, signer: &Signer{Keys: map[string][]Key{
		"example.com": {
			{Domain: "example.com", Selector: "ed", Signer: edKey},
			{Domain: "example.com", Selector: "rsa", Signer: rsaKey},
		},
		"parent.example": {{Domain: "parent.example", Selector: "ed", Signer: edKey}},
	}}}
}

const plainMsg = "From: Taro <taro@example.com>\r\n" +
	"To: hanako@example.net\r\n" +
	"Subject: test\r\n" +
	"Date: Mon, 2 Jan 2006 15:04:05 +0900\r\n" +
	"Message-ID: <1@example.com>\r\n" +
	"List-Unsubscribe: <https://example.com/u/1>\r\n" +
	"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" +
	"X-Mailer: not signed\r\n" +
	"\r\n" +
	"Hello  there.\r\n" +
	"\r\n\r\n"

func (w *world) sign(t *testing.T, msg string) string {
	t.Helper()
	out, err := w.signer.Sign([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func (w *world) verify(msg string) []VerifyResult {
	return (&Verifier{Resolver: w.resolver}).Verify(context.Background(), []byte(msg))
}

func results(rs []VerifyResult) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Selector+":"+string(r.Result))
	}
	return strings.Join(out, " ")
}

func TestSignVerify(t *testing.T) {
	w := newWorld(t)
	signed := w.sign(t, plainMsg)
	if n := strings.Count(signed, "DKIM-Signature:"); n != 2 {
		t.Fatalf("%d signatures, want 2 (ed25519 and rsa, RFC 8463 §6)", n)
	}
	if !strings.HasSuffix(signed, plainMsg) {
		t.Fatal("the message itself changed; signatures must only be prepended")
	}
	rs := w.verify(signed)
	if got := results(rs); got != "ed:pass rsa:pass" {
		t.Fatalf("results %s (%+v)", got, rs)
	}
	if rs[0].Algorithm != "ed25519-sha256" || rs[1].Algorithm != "rsa-sha256" || rs[0].Domain != "example.com" || len(rs[0].B) != 8 {
		t.Fatalf("reported tags: %+v", rs)
	}

	sig := signed[:strings.Index(signed, "From: Taro")]
	unfolded := strings.Join(strings.Fields(sig), "")
	for _, want := range []string{"c=relaxed/relaxed", "h=From:To:Subject:Date:Message-ID:List-Unsubscribe:List-Unsubscribe-Post:From;", "a=ed25519-sha256", "a=rsa-sha256", "d=example.com", "s=ed", "s=rsa"} {
		if !strings.Contains(unfolded, want) {
			t.Errorf("signature lacks %q:\n%s", want, sig)
		}
	}
	if strings.Contains(unfolded, "X-Mailer") {
		t.Error("a field outside the list was signed")
	}
	// go-msgauth folds near 80 columns (not 78); refolding would risk
	// the signature, so only guard against unfolded output.
	for _, l := range strings.Split(strings.TrimSuffix(sig, "\r\n"), "\r\n") {
		if len(l) > 100 {
			t.Errorf("signature line of %d octets", len(l))
		}
	}
}

// TestTamper changes signed messages in the ways that must and must not
// break the signatures.
func TestTamper(t *testing.T) {
	w := newWorld(t)
	signed := w.sign(t, plainMsg)
	cases := []struct {
		name string
		edit func(string) string
		want string
		why  string
	}{
		{"untouched", func(s string) string { return s }, "ed:pass rsa:pass", "baseline"},
		{"body changed", func(s string) string { return strings.Replace(s, "Hello", "Hullo", 1) }, "ed:fail rsa:fail", "body hash"},
		{"subject changed", func(s string) string { return strings.Replace(s, "Subject: test", "Subject: tost", 1) }, "ed:fail rsa:fail", "a signed field"},
		{"from added", func(s string) string {
			return s[:strings.Index(s, "\r\n\r\n")] + "\r\nFrom: evil@example.org" + s[strings.Index(s, "\r\n\r\n"):]
		}, "ed:fail rsa:fail", "From is oversigned: a second From breaks it"},
		{"unsigned field added", func(s string) string { return "Received: from x by y\r\n" + s }, "ed:pass rsa:pass", "relays add trace fields; those must not break it"},
		{"relaxed whitespace", func(s string) string { return strings.Replace(s, "Subject: test", "Subject:   test  ", 1) }, "ed:pass rsa:pass", "relaxed header canonicalization"},
		{"relaxed body whitespace", func(s string) string { return strings.Replace(s, "Hello  there.", "Hello there.  ", 1) }, "ed:pass rsa:pass", "relaxed body canonicalization"},
		{"trailing empty lines", func(s string) string { return s + "\r\n\r\n" }, "ed:pass rsa:pass", "empty lines at the end are ignored"},
		{"header case", func(s string) string { return strings.Replace(s, "\r\nSubject:", "\r\nSUBJECT:", 1) }, "ed:pass rsa:pass", "relaxed lower-cases field names"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := results(w.verify(c.edit(signed))); got != c.want {
				t.Fatalf("got %s, want %s — %s", got, c.want, c.why)
			}
		})
	}
}

func TestSignChoosesKey(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		name, from string
		sigs       int
		d          string
		why        string
	}{
		{"exact", "a@example.com", 2, "example.com", "the From domain's keys"},
		{"upper case", "A@EXAMPLE.COM.", 2, "example.com", "domains compare lower-case, final dot dropped"},
		{"parent", "a@news.parent.example", 1, "parent.example", "a subdomain signs with its parent's key (relaxed alignment)"},
		{"no key", "a@example.org", 0, "", "unknown domains go unsigned, unchanged"},
		{"iso-2022-jp name", "=?ISO-2022-JP?B?GyRCJTUlaSVqITwlYiVzGyhC?= <sales@example.com>", 2, "example.com", "net/mail alone refuses this charset"},
		{"japanese mobile local part", "taro..yamada.@example.com", 2, "example.com", "not dot-atom, yet a real mailbox"},
		{"group of two", "a@example.com, b@example.org", 2, "example.com", "the first address decides"},
		{"no address", "undisclosed", 0, "", "nothing to sign for"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := "From: " + c.from + "\r\nSubject: x\r\n\r\nbody\r\n"
			out := w.sign(t, msg)
			if n := strings.Count(out, "DKIM-Signature:"); n != c.sigs {
				t.Fatalf("%d signatures, want %d — %s", n, c.sigs, c.why)
			}
			if c.sigs == 0 {
				if out != msg {
					t.Fatal("an unsigned message must come back unchanged")
				}
				return
			}
			if !strings.Contains(out, "d="+c.d+";") {
				t.Fatalf("want d=%s in\n%s", c.d, out)
			}
			for _, r := range w.verify(out) {
				if r.Result != Pass {
					t.Fatalf("our own signature does not verify: %+v", r)
				}
			}
		})
	}
	if out, err := (&Signer{}).Sign([]byte(plainMsg)); err != nil || string(out) != plainMsg {
		t.Fatal("a signer without keys must return the message unchanged")
	}
	if out, err := w.signer.Sign([]byte("From: a@example.com\r\nSubject: no body")); err != nil || !strings.Contains(string(out), "DKIM-Signature") {
		t.Fatalf("a message without a body separator: %v", err)
	}
}

func TestVerifyResults(t *testing.T) {
	w := newWorld(t)
	testKeys(t)
	signWith := func(sel string, key crypto.Signer, msg string) string {
		s := &Signer{Keys: map[string][]Key{"example.com": {{Domain: "example.com", Selector: sel, Signer: key}}}}
		out, err := s.Sign([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	cases := []struct {
		name   string
		msg    string
		want   Result
		reason string
		why    string
	}{
		{"unsigned", plainMsg, None, "not signed", "no DKIM-Signature at all"},
		{"no key record", signWith("missing", edKey, plainMsg), PermError, "no key", "NXDOMAIN for the selector"},
		{"servfail", signWith("broken", edKey, plainMsg), TempError, "key unavailable", "the key lookup failed: try later"},
		{"revoked", signWith("revoked", rsaKey, plainMsg), PermError, "revoked", "an empty p= revokes the key"},
		{"two records", signWith("two", edKey, plainMsg), PermError, "multiple", "RFC 6376 §3.6.2.2: ambiguous"},
		{"wrong key", signWith("wrong", edKey, plainMsg), Fail, "did not verify", "the published key is another one"},
		{"body length", strings.Replace(signWith("ed", edKey, plainMsg), "c=relaxed/relaxed;", "c=relaxed/relaxed; l=5;", 1), Policy, "body length", "l= lets content be appended; we refuse it"},
		{"no domain", "DKIM-Signature: v=1; a=rsa-sha256; s=x; b=AAAA; bh=AAAA; h=From\r\n" + plainMsg, Neutral, "", "an unreadable signature is neutral"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := w.verify(c.msg)
			if len(rs) != 1 || rs[0].Result != c.want || !strings.Contains(rs[0].Reason, c.reason) {
				t.Fatalf("got %+v, want one %s with reason containing %q — %s", rs, c.want, c.reason, c.why)
			}
		})
	}

	// More signatures than the limit: only the first are examined.
	many := plainMsg
	for range 7 {
		many = signWith("ed", edKey, many)
	}
	if rs := (&Verifier{Resolver: w.resolver, MaxSignatures: 3}).Verify(context.Background(), []byte(many)); len(rs) != 3 {
		t.Fatalf("%d results, want 3 (MaxSignatures)", len(rs))
	}
	if rs := (&Verifier{}).Verify(context.Background(), []byte(signWith("ed", edKey, plainMsg))); rs[0].Result != TempError {
		t.Fatalf("no resolver: %+v, want temperror", rs)
	}
}

func TestLoadKey(t *testing.T) {
	testKeys(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	small, err := rsa.GenerateKey(rand.Reader, 512)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey.(*rsa.PrivateKey))})
	smallPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(small)})
	withParams := append([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"), edPEM...)

	cases := []struct {
		name, domain, selector string
		data                   []byte
		wantErr                string
		why                    string
	}{
		{"ed25519 pkcs8", "Example.COM.", "ed", edPEM, "", "what GenerateKey writes"},
		{"rsa pkcs8", "example.com", "rsa", rsaPEM, "", "what GenerateKey writes"},
		{"rsa pkcs1", "example.com", "rsa", pkcs1, "", "what opendkim-genkey writes"},
		{"other blocks first", "example.com", "ed", withParams, "", "openssl puts parameters before the key"},
		{"rsa too small", "example.com", "s", smallPEM, "under RFC 8301", "512-bit keys are forgeable"},
		{"not pem", "example.com", "s", []byte("hello"), "no PEM", "a wrong path"},
		{"bad selector", "example.com", "a b", edPEM, "selector", "selectors are DNS labels"},
		{"empty domain", "", "s", edPEM, "empty domain", "a key must name its domain"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := LoadKey(c.domain, c.selector, write(c.name, c.data))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q — %s", err, c.wantErr, c.why)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Domain != "example.com" || k.Selector != c.selector || k.Signer == nil {
				t.Fatalf("key %+v", k)
			}
		})
	}
	if _, err := LoadKey("example.com", "s", filepath.Join(dir, "none")); err == nil {
		t.Fatal("a missing file loaded")
	}
	if _, _, err := GenerateKey("dsa"); err == nil {
		t.Fatal("an unknown algorithm generated a key")
	}
}

func TestDNSRecord(t *testing.T) {
	testKeys(t)
	ed := DNSRecord("sel", "Example.com", edKey.Public())
	want := `sel._domainkey.example.com. IN TXT "v=DKIM1; k=ed25519; p=`
	if !strings.HasPrefix(ed, want) || strings.Count(ed, `"`) != 2 {
		t.Fatalf("ed25519 record %q", ed)
	}
	r := DNSRecord("sel", "example.com", rsaKey.Public())
	rr, err := dns.NewRR(r)
	if err != nil {
		t.Fatalf("the RSA record is not zone-file syntax: %v\n%s", err, r)
	}
	txt := rr.(*dns.TXT).Txt
	if len(txt) < 2 {
		t.Fatalf("a 2048-bit key's record should need two strings, got %d", len(txt))
	}
	for _, s := range txt {
		if len(s) > 255 {
			t.Fatalf("a string of %d octets", len(s))
		}
	}
	if !strings.HasPrefix(strings.Join(txt, ""), "v=DKIM1; k=rsa; p=MIIB") {
		t.Fatalf("joined record %q", strings.Join(txt, ""))
	}
	if DNSRecord("s", "example.com", ed25519.PublicKey(nil)) == "" || DNSRecord("s", "example.com", "not a key") != "" {
		t.Fatal("unsupported keys must give an empty record")
	}
}

func BenchmarkSign(b *testing.B) {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	s := &Signer{Keys: map[string][]Key{"example.com": {{Domain: "example.com", Selector: "ed", Signer: k}}}}
	msg := []byte(plainMsg + strings.Repeat("A line of body text that goes on for a while.\r\n", 400))
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := s.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzHeader feeds arbitrary messages to the header scanner, the From
// domain finder and the signature tag reader: inbound mail is hostile.
func FuzzHeader(f *testing.F) {
	f.Add([]byte(plainMsg))
	f.Add([]byte("From: =?x?B?AAAA?= <a@[1.2.3.4]>\r\n\tcont\r\nDKIM-Signature: d=x; b=\r\n\r\n"))
	f.Add([]byte(" leading\r\nFrom:\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		fields, body := scanHeader(msg)
		if body < 0 || body > len(msg) {
			t.Fatalf("body offset %d of %d", body, len(msg))
		}
		if d := fromDomain(fields); strings.ContainsAny(d, " \r\n") {
			t.Fatalf("domain %q", d)
		}
		for _, f := range fields {
			r := sigInfo(f.value)
			if len(r.B) > 8 {
				t.Fatalf("header.b %q", r.B)
			}
		}
		s := withSeparator(msg, body)
		if _, b2 := scanHeader(s); b2 > len(s) {
			t.Fatal("separator")
		}
	})
}
