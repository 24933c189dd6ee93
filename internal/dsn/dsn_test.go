package dsn

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/longline"
	"github.com/hikyaku/hikyaku/internal/outcome"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	jst     = time.FixedZone("JST", 9*3600)
	now     = time.Date(2025, 3, 4, 5, 6, 7, 0, jst)
	arrived = now.Add(-26 * time.Hour)
)

func original(body string) []byte {
	return []byte("Return-Path: <sender@example.jp>\r\nFrom: Sender <sender@example.jp>\r\nTo: taro@example.com\r\nSubject: monthly newsletter\r\nMessage-ID: <abc@example.jp>\r\nDate: Mon, 03 Mar 2025 03:06:07 +0900\r\n\r\n" + body)
}

func failedReport() Report {
	expired := outcome.Own(606, "last attempt: 623 "+mustCode(623).EN)
	expired.Host = "mx2.example.net"
	return Report{
		ReportingMTA: "mail.example.jp", ReceivedFrom: "client.example.jp ([192.0.2.1])", ArrivalDate: arrived,
		EnvID: "campaign-42", QueueID: "0195A1B2C3", From: "sender@example.jp", Postmaster: "postmaster@mail.example.jp",
		Recipients: []Recipient{
			{
				Original: "rfc822;taro+2Bnews@example.com", Final: "taro+news@example.com", Action: ActionFailed,
				Result: outcome.Result{Code: 550, Enhanced: "5.1.1", Text: "<taro+news@example.com>: Recipient address rejected:\nUser unknown in virtual mailbox table",
					Command: "RCPT TO:<taro+news@example.com>", Host: "mx1.example.com", IP: "192.0.2.25", Reason: "userunknown"},
				LastAttempt: now.Add(-time.Minute),
			},
			{Final: "hanako@example.net", Action: ActionFailed, Result: expired, LastAttempt: now.Add(-2 * time.Minute)},
		},
		Original: original("Hello,\r\nthis month's news.\r\n"),
		Now:      now,
	}
}

func delayedReport() Report {
	lost := outcome.Own(623, "")
	lost.Host, lost.IP, lost.Command = "mx1.example.com", "192.0.2.25", "RCPT TO:<jiro@example.com>"
	return Report{
		ReportingMTA: "mail.example.jp", ReceivedFrom: "192.0.2.1", ArrivalDate: arrived,
		QueueID: "0195A1B2C4", From: "sender@example.jp",
		Recipients: []Recipient{{
			Final: "jiro@example.com", Action: ActionDelayed, Result: lost,
			LastAttempt: now.Add(-time.Minute), WillRetryUntil: arrived.Add(120 * time.Hour),
		}},
		Original: original("Hello again.\r\n"),
		Now:      now,
	}
}

func mustCode(c int) codes.Code {
	code, ok := codes.LookupCode(c)
	if !ok {
		panic(c)
	}
	return code
}

func TestGolden(t *testing.T) {
	cases := []struct {
		name string
		r    Report
		why  string
	}{
		{"failed", failedReport(), "a remote 550 and an expiry (606) in one bounce, the original returned whole"},
		{"delayed", delayedReport(), "a delay warning for a connection lost at RCPT (623): header only, Will-Retry-Until"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Build(c.r)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Build differs from %s (%s); run go test -update and review the diff\n%s", path, c.why, got)
			}
			again, _ := Build(c.r)
			if !bytes.Equal(got, again) {
				t.Error("Build is not reproducible for the same report")
			}
		})
	}
}

func TestBuildContent(t *testing.T) {
	msg, err := Build(failedReport())
	if err != nil {
		t.Fatal(err)
	}
	// Unfolded (RFC 5322 §2.2.3), so the checks do not depend on where
	// long fields were folded.
	s := strings.ReplaceAll(string(msg), "\r\n ", " ")
	for _, want := range []struct{ text, why string }{
		{"\r\nAuto-Submitted: auto-replied\r\n", "RFC 3834 §5: keeps auto-responders from answering"},
		{"Content-Type: multipart/report; report-type=delivery-status; boundary=", "RFC 3464 §2: the report type"},
		{"Subject: Undelivered Mail Returned to Sender\r\n", "failed subject"},
		{"To: <sender@example.jp>\r\n", "the DSN goes to the envelope sender"},
		{"From: Mail Delivery System <postmaster@mail.example.jp>\r\n", "our postmaster"},
		{"Original-Recipient: rfc822; taro+news@example.com\r\n", "ORCPT decoded from xtext (RFC 3461 §4.2)"},
		{"Diagnostic-Code: smtp; 550 5.1.1 <taro+news@example.com>: Recipient address rejected: User unknown in virtual mailbox table\r\n", "the remote reply whole, its lines joined"},
		{"Diagnostic-Code: X-hikyaku; 606 " + mustCode(606).EN + ": last attempt: 623 " + mustCode(623).EN + "\r\n", "our own code with the table's text"},
		{"Status: 4.4.7\r\n", "606's DSN status from the code table"},
		{"    550: " + mustCode(550).EN + ". The mailbox", "the explanation comes from the code table"},
		{"    5.1.1: " + mustEnhanced("5.1.1").EN, "and the enhanced code's meaning too"},
		{"Content-Type: message/rfc822\r\n", "a small failed message is returned whole"},
		{"this month's news.", "...including its body"},
	} {
		if !strings.Contains(s, want.text) {
			t.Errorf("report lacks %q (%s)\n%s", want.text, want.why, s)
		}
	}
}

func mustEnhanced(s string) codes.Enhanced {
	e, ok := codes.LookupEnhanced(s)
	if !ok {
		panic(s)
	}
	return e
}

func TestRoundTrip(t *testing.T) {
	r := failedReport()
	msg, err := Build(r)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseDeliveryStatus(msg)
	if err != nil {
		t.Fatal(err)
	}
	if p.Global || p.ReportingMTA != "mail.example.jp" || p.EnvID != "campaign-42" || !p.ArrivalDate.Equal(arrived) ||
		p.ReceivedFrom != "client.example.jp ([192.0.2.1])" || p.Message.Get("X-Hikyaku-Queue-ID") != "0195A1B2C3" {
		t.Errorf("per-message fields: %+v", p)
	}
	if len(p.Recipients) != 2 {
		t.Fatalf("%d recipients parsed, want 2", len(p.Recipients))
	}
	a, b := p.Recipients[0], p.Recipients[1]
	if a.OriginalType != "rfc822" || a.Original != "taro+news@example.com" || a.FinalType != "rfc822" || a.Final != "taro+news@example.com" ||
		a.Action != "failed" || a.Status != "5.1.1" || a.RemoteMTA != "mx1.example.com" || a.DiagnosticType != "smtp" ||
		a.Diagnostic != "550 5.1.1 <taro+news@example.com>: Recipient address rejected: User unknown in virtual mailbox table" ||
		!a.LastAttempt.Equal(now.Add(-time.Minute)) || a.Fields.Get("X-Hikyaku-Result-Code") != "550" {
		t.Errorf("first recipient: %+v", a)
	}
	if b.Final != "hanako@example.net" || b.Original != "" || b.Status != "4.4.7" || b.DiagnosticType != "X-hikyaku" ||
		!strings.HasPrefix(b.Diagnostic, "606 ") || b.Fields.Get("X-Hikyaku-Reason") != "expired" {
		t.Errorf("second recipient: %+v", b)
	}
	if p.ReturnedType != "message/rfc822" || !bytes.Equal(p.Returned, r.Original) {
		t.Errorf("returned %s %q, want the original whole", p.ReturnedType, p.Returned)
	}
	if !strings.Contains(p.Human, "could not be delivered") {
		t.Errorf("human part %q", p.Human)
	}

	d, err := Build(delayedReport())
	if err != nil {
		t.Fatal(err)
	}
	pd, err := ParseDeliveryStatus(d)
	if err != nil {
		t.Fatal(err)
	}
	rc := pd.Recipients[0]
	if rc.Action != "delayed" || rc.Status != "4.4.2" || !rc.WillRetryUntil.Equal(arrived.Add(120*time.Hour)) ||
		rc.Diagnostic != "623 "+mustCode(623).EN || pd.ReceivedFrom != "[192.0.2.1]" {
		t.Errorf("delayed recipient: %+v %q", rc, pd.ReceivedFrom)
	}
	if pd.ReturnedType != "text/rfc822-headers" || bytes.Contains(pd.Returned, []byte("Hello again")) {
		t.Errorf("a delay report returns the header only (RFC 3461 §4.3): %s %q", pd.ReturnedType, pd.Returned)
	}
}

func TestReturn(t *testing.T) {
	big := original(strings.Repeat("0123456789abcdef\r\n", MaxFullReturn/18+10))
	cases := []struct {
		name     string
		ret      string
		orig     []byte
		delayed  bool
		wantType string
		why      string
	}{
		{"small, no RET", "", original("body\r\n"), false, "message/rfc822", "default FULL for small messages"},
		{"large, no RET", "", big, false, "text/rfc822-headers", "default HDRS above MaxFullReturn"},
		{"RET=HDRS", "HDRS", original("secret body\r\n"), false, "text/rfc822-headers", "the sender asked for headers only"},
		{"RET=FULL large", "full", big, false, "message/rfc822", "the sender's RET=FULL wins over the size default"},
		{"RET=FULL on a delay", "FULL", original("body\r\n"), true, "text/rfc822-headers", "RFC 3461 §4.3: RET applies to failures only"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := failedReport()
			r.Ret, r.Original = c.ret, c.orig
			if c.delayed {
				r = delayedReport()
				r.Ret, r.Original = c.ret, c.orig
			}
			msg, err := Build(r)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParseDeliveryStatus(msg)
			if err != nil {
				t.Fatal(err)
			}
			if p.ReturnedType != c.wantType {
				t.Errorf("returned %s, want %s (%s)", p.ReturnedType, c.wantType, c.why)
			}
			hdrEnd := bytes.Index(c.orig, []byte("\r\n\r\n")) + 2
			if c.wantType == "text/rfc822-headers" && !bytes.Equal(p.Returned, c.orig[:hdrEnd]) {
				t.Errorf("HDRS must return exactly the header block, got %q", p.Returned)
			}
			if c.wantType == "message/rfc822" && !bytes.Equal(p.Returned, c.orig) {
				t.Error("FULL must return the message unchanged")
			}
		})
	}
}

func TestSMTPUTF8(t *testing.T) {
	r := failedReport()
	r.SMTPUTF8 = true
	r.From = "送信者@例え.jp"
	r.Recipients[0].Original = `utf-8;\x{592A}\x{90CE}@example.com`
	r.Recipients[0].Final = "太郎@example.com"
	r.Original = []byte("From: 送信者@例え.jp\r\nTo: 太郎@example.com\r\nSubject: こんにちは\r\n\r\n本文\r\n")
	msg, err := Build(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(msg)
	for _, want := range []struct{ text, why string }{
		{"Content-Type: message/global-delivery-status\r\n", "RFC 6533 §6.1"},
		{"Content-Type: message/global\r\n", "RFC 6533 §6.3: the returned internationalized message"},
		{"Final-Recipient: utf-8; 太郎@example.com\r\n", "utf-8 address type with the address as UTF-8 (RFC 6533 §3)"},
		{"Original-Recipient: utf-8; 太郎@example.com\r\n", "the ORCPT's \\x{} escapes decoded in a global report"},
		{"To: <送信者@例え.jp>\r\n", "the bounce goes to the UTF-8 sender"},
	} {
		if !strings.Contains(s, want.text) {
			t.Errorf("report lacks %q (%s)", want.text, want.why)
		}
	}
	p, err := ParseDeliveryStatus(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Global || p.Recipients[0].Final != "太郎@example.com" || p.Recipients[0].FinalType != "utf-8" || p.ReturnedType != "message/global" {
		t.Errorf("parsed %+v", p)
	}
	r.Ret = "HDRS"
	msg, _ = Build(r)
	if !bytes.Contains(msg, []byte("Content-Type: message/global-headers\r\n")) {
		t.Error("RET=HDRS on an internationalized message returns message/global-headers (RFC 6533 §6.4)")
	}

	// Not global, yet a non-ASCII address: written as utf-8-addr-xtext.
	r = failedReport()
	r.Recipients[0].Final = "太郎@example.com"
	msg, _ = Build(r)
	if !bytes.Contains(msg, []byte(`Final-Recipient: utf-8; \x{592A}\x{90CE}@example.com`)) {
		t.Errorf("a non-global report must keep the status part ASCII (RFC 6533 §3)\n%s", msg)
	}
	p, _ = ParseDeliveryStatus(msg)
	if p.Recipients[0].Final != "太郎@example.com" {
		t.Errorf("parser must decode utf-8-addr-xtext, got %q", p.Recipients[0].Final)
	}
}

func TestJapanese(t *testing.T) {
	r := failedReport()
	r.Lang = "ja"
	msg, err := Build(r)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseDeliveryStatus(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Human, "could not be delivered") || !strings.Contains(p.Human, mustCode(550).JA) ||
		!strings.Contains(p.Human, mustEnhanced("5.1.1").JA) || !strings.Contains(p.Human, "配送できませんでした") {
		t.Errorf("ja report must hold English then Japanese, the code texts from the table:\n%s", p.Human)
	}
	if !bytes.Contains(msg, []byte("Content-Transfer-Encoding: quoted-printable")) {
		t.Error("Japanese text in a non-SMTPUTF8 report is quoted-printable, so it relays through 7-bit peers")
	}
}

func TestLineLimit(t *testing.T) {
	r := failedReport()
	r.Recipients[0].Result.Text = strings.Repeat("word ", 600) + strings.Repeat("x", 3000)
	r.EnvID = strings.Repeat("e", 1200)
	r.Original = original(strings.Repeat("y", 5000) + "\r\n")
	r.Original = append([]byte("X-Long: "+strings.Repeat("z", 1500)+"\r\n"), r.Original...)
	for _, ret := range []string{"FULL", "HDRS"} {
		r.Ret = ret
		msg, err := Build(r)
		if err != nil {
			t.Fatal(err)
		}
		// The unfoldable X-Long header is the one line Fix may leave.
		rest := bytes.Replace(msg, []byte("X-Long: "+strings.Repeat("z", 1500)), nil, 1)
		if longline.NeedsFix(rest, 998) {
			t.Errorf("RET=%s: a line over 998 octets in the report", ret)
		}
		if _, err := ParseDeliveryStatus(msg); err != nil {
			t.Errorf("RET=%s: %v", ret, err)
		}
	}
}

func TestInjection(t *testing.T) {
	r := delayedReport()
	r.Recipients[0].Result = outcome.Result{Code: 451, Text: "try later\r\nAction: delivered\r\n\r\nFinal-Recipient: rfc822; evil@example"}
	r.EnvID = "x\r\nBcc: victim@example"
	msg, err := Build(r)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseDeliveryStatus(msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Recipients) != 1 || p.Recipients[0].Action != "delayed" || bytes.Contains(msg, []byte("\r\nBcc:")) {
		t.Errorf("CR/LF in a remote reply or ENVID must not start fields of their own: %+v", p.Recipients)
	}
}

func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Report)
		why    string
	}{
		{"null sender", func(r *Report) { r.From = "" }, "RFC 5321 §4.5.5: never a DSN to <>"},
		{"null sender in brackets", func(r *Report) { r.From = "<>" }, "the same, written as the path"},
		{"no recipients", func(r *Report) { r.Recipients = nil }, "a report about nobody"},
		{"bad action", func(r *Report) { r.Recipients[0].Action = "bounced" }, "RFC 3464 §2.3.3 lists the actions"},
		{"bad RET", func(r *Report) { r.Ret = "SOME" }, "RFC 3461 §4.3: FULL or HDRS"},
		{"no reporting MTA", func(r *Report) { r.ReportingMTA = "" }, "RFC 3464 §2.2.2: required"},
	}
	for _, c := range cases {
		r := failedReport()
		c.mutate(&r)
		if _, err := Build(r); err == nil {
			t.Errorf("%s: Build succeeded (%s)", c.name, c.why)
		}
	}
}

func TestShouldSend(t *testing.T) {
	cases := []struct {
		from, notify, action string
		want                 bool
		why                  string
	}{
		{"", "", ActionFailed, false, "never to the null sender"},
		{"<>", "FAILURE", ActionFailed, false, "null sender written as a path"},
		{"a@example.jp", "", ActionFailed, true, "RFC 3461 §4.1: no NOTIFY means FAILURE,DELAY"},
		{"a@example.jp", "", ActionDelayed, true, "…and DELAY"},
		{"a@example.jp", "", ActionDelivered, false, "success only when asked"},
		{"a@example.jp", "NEVER", ActionFailed, false, "NEVER stops everything"},
		{"a@example.jp", "never", ActionDelayed, false, "keywords are case-insensitive"},
		{"a@example.jp", "SUCCESS", ActionFailed, false, "a list without FAILURE: no failed DSN"},
		{"a@example.jp", "FAILURE", ActionDelayed, false, "a list without DELAY: no delayed DSN"},
		{"a@example.jp", "SUCCESS,FAILURE", ActionFailed, true, "FAILURE listed"},
		{"a@example.jp", "success, delay", ActionDelayed, true, "spaces and case tolerated"},
		{"a@example.jp", "SUCCESS", ActionDelivered, true, "SUCCESS listed"},
		{"a@example.jp", "SUCCESS", ActionRelayed, true, "relayed to a non-DSN peer counts as success (RFC 3461 §5.2.2)"},
		{"a@example.jp", "SUCCESS", ActionExpanded, true, "expansion too"},
		{"a@example.jp", "FAILURE", "bounced", false, "unknown action"},
	}
	for _, c := range cases {
		if got := ShouldSend(c.from, c.notify, c.action); got != c.want {
			t.Errorf("ShouldSend(%q, %q, %q) = %v, want %v (%s)", c.from, c.notify, c.action, got, c.want, c.why)
		}
	}
}

func TestStatus(t *testing.T) {
	cases := []struct {
		rc   Recipient
		want string
		why  string
	}{
		{Recipient{Action: ActionFailed, Result: outcome.Result{Code: 550, Enhanced: "5.7.1"}}, "5.7.1", "the remote's enhanced code as given"},
		{Recipient{Action: ActionFailed, Result: outcome.Result{Code: 554}}, "5.0.0", "no enhanced code: from the reply class"},
		{Recipient{Action: ActionDelayed, Result: outcome.Result{Code: 421, Enhanced: "junk"}}, "4.0.0", "a malformed enhanced code is not repeated"},
		{Recipient{Action: ActionDelayed, Result: outcome.Result{Code: 623}}, mustCode(623).Status, "our own code: the table's status"},
		{Recipient{Action: ActionFailed}, "5.0.0", "no result at all: from the action"},
		{Recipient{Action: ActionDelivered}, "2.0.0", "success"},
	}
	for _, c := range cases {
		if got := Status(c.rc); got != c.want {
			t.Errorf("Status(%+v) = %q, want %q (%s)", c.rc.Result, got, c.want, c.why)
		}
	}
}

// TestPythonEmail checks the report with an independent reader, Python's
// email package, when python3 is installed.
func TestPythonEmail(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	script := `
import sys, email, email.policy
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
parts = list(m.iter_parts())
defects = [d for p in m.walk() for d in p.defects]
status = parts[1].get_payload()
print(m.get_content_type(), m.get_param('report-type'), ' '.join(p.get_content_type() for p in parts),
      len(defects), len(status), status[1]['Action'], status[1]['Status'], m['Auto-Submitted'])
`
	cmd := exec.Command(py, "-c", script)
	msg, err := Build(failedReport())
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = bytes.NewReader(msg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("python3 did not run: %v %s", err, out)
	}
	want := "multipart/report delivery-status text/plain message/delivery-status message/rfc822 0 3 failed 5.1.1 auto-replied\n"
	if string(out) != want {
		t.Errorf("python's email package reads\n%s\nwant\n%s", out, want)
	}
}
