package dsn

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hikyaku/hikyaku/internal/longline"
	"github.com/hikyaku/hikyaku/internal/outcome"
)

// FuzzParseDeliveryStatus: the parser meets whatever bounces arrive; it
// must never panic, and what it returns must be internally consistent.
func FuzzParseDeliveryStatus(f *testing.F) {
	for _, r := range []Report{failedReport(), delayedReport()} {
		msg, err := Build(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msg)
	}
	f.Add([]byte("Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n\nhi\n--b\nContent-Type: message/global-delivery-status\nContent-Transfer-Encoding: base64\n\nUmVwb3J0aW5nLU1UQTogZG5zOyB4DQoNCkZpbmFsLVJlY2lwaWVudDogdXRmLTg7IGFAYg0KQWN0aW9uOiBmYWlsZWQNCg==\n--b--\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: message/rfc822\n\nContent-Type: multipart/report; boundary=i\n\n--i\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\nFinal-Recipient: rfc822;<a@b>\nStatus: 5.1.1 (no)\n--i--\n--o--\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		p, err := ParseDeliveryStatus(msg)
		if err != nil {
			return
		}
		for _, rc := range p.Recipients {
			if rc.Status != "" && !validStatus(rc.Status) {
				t.Fatalf("Status %q is not an RFC 3463 code", rc.Status)
			}
			if rc.Action != strings.ToLower(rc.Action) {
				t.Fatalf("Action %q not lower case", rc.Action)
			}
		}
	})
}

// FuzzBuild: whatever a remote server replies and whatever the envelope
// held, the report stays within the line limit, parses back, and no input
// can add or change a field.
func FuzzBuild(f *testing.F) {
	f.Add("taro@example.com", "rfc822;taro@example.com", "env-1", 550, "5.1.1", "no such user\nreally", []byte("Subject: x\r\n\r\nbody\r\n"), false)
	f.Add("太郎@例え.jp", `utf-8;\x{592A}@example.jp`, "", 623, "", "", []byte("Subject: x\r\n\r\n"+strings.Repeat("y", 2000)+"\r\n"), true)
	f.Add("a@b", "", "x\r\nBcc: v@x", 451, "4.2.2", strings.Repeat("z", 3000)+"\r\nAction: delivered", []byte{}, false)
	f.Fuzz(func(t *testing.T, final, orcpt, envid string, code int, enhanced, text string, original []byte, global bool) {
		r := Report{
			ReportingMTA: "mail.example.jp", From: "sender@example.jp", EnvID: envid, QueueID: "Q1",
			Recipients: []Recipient{{Original: orcpt, Final: final, Action: ActionFailed,
				Result: outcome.Result{Code: code % 1000, Enhanced: enhanced, Text: text, Host: "mx.example.com"}}},
			Original: original, SMTPUTF8: global, Now: now, Lang: "ja",
		}
		msg, err := Build(r)
		if err != nil {
			if clean(final) == "" {
				return
			}
			t.Fatalf("Build: %v", err)
		}
		if longline.NeedsFix(msg, 998) {
			if res, _ := longline.Fix(original, 998); !longline.NeedsFix(res.Data, 998) {
				t.Fatal("a line over 998 octets that did not come from the original")
			}
		}
		p, err := ParseDeliveryStatus(msg)
		if err != nil {
			t.Fatalf("own report does not parse: %v\n%q", err, msg)
		}
		if len(p.Recipients) != 1 {
			t.Fatalf("%d recipients parsed, want 1\n%q", len(p.Recipients), msg)
		}
		rc := p.Recipients[0]
		if rc.Action != ActionFailed || rc.Status != Status(r.Recipients[0]) || p.ReportingMTA != "mail.example.jp" {
			t.Fatalf("fields changed: %+v", rc)
		}
		// Addresses that are not UTF-8 never get this far (the receiver
		// refuses them); "\x{" in an address is read as an escape.
		if utf8.ValidString(final) && !strings.Contains(final, `\x{`) && squash(rc.Final) != squash(address("", clean(final))) {
			t.Fatalf("Final-Recipient %q, want %q", rc.Final, final)
		}
	})
}

// squash drops all whitespace: folding and the parser's unfolding may
// change it.
func squash(s string) string { return strings.Join(strings.Fields(s), "") }
