package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/peertest"
	"github.com/hikyaku/hikyaku/internal/store"
	"github.com/hikyaku/hikyaku/internal/verp"
)

// These tests close the bounce loop with the real binary (issue 12): a
// campaign delivers to a loopback peer that accepts everything with 250;
// the DSNs that come back later are sent by Python's smtplib to serve's
// SMTP port at the rows' VERP addresses, and `campaign export` shows the
// rows' new results. Fake DNS and loopback only.

// bounceDSN is a hand-written RFC 3464 report: rcpt is unknown at the
// peer, reported to the return path verpAddr.
func bounceDSN(verpAddr, rcpt, id string) []byte {
	return []byte(strings.ReplaceAll(fmt.Sprintf(`From: Mail Delivery System <MAILER-DAEMON@mx.peer.test>
To: %[1]s
Subject: Undelivered Mail Returned to Sender
Date: Mon, 07 Dec 2026 21:00:00 +0000
Message-ID: <%[3]s@mx.peer.test>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.peer.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<%[2]s>: host mx.peer.test[127.0.0.2] said: 550 5.1.1 <%[2]s>: user unknown

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.peer.test
X-Postfix-Queue-ID: %[3]s
Arrival-Date: Mon, 07 Dec 2026 20:59:00 +0000

Final-Recipient: rfc822; %[2]s
Original-Recipient: rfc822;%[2]s
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.peer.test
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--BOUNDARY
Content-Type: text/rfc822-headers

Return-Path: <%[1]s>
From: Shop <news@example.test>
To: %[2]s
Subject: Hello

--BOUNDARY--
`, verpAddr, rcpt, id), "\n", "\r\n"))
}

// complaintARF is an RFC 5965 abuse report from a feedback loop about the
// message to rcpt, whose return path was verpAddr.
func complaintARF(verpAddr, rcpt string) []byte {
	return []byte(strings.ReplaceAll(fmt.Sprintf(`From: staff@fbl.peer.test
To: fbl@sender.example.test
Subject: FW: Hello
Date: Mon, 07 Dec 2026 21:10:00 +0000
Message-ID: <arf-1@fbl.peer.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="ARF"

--ARF
Content-Type: text/plain

This is an email abuse report for a message received from 127.0.0.1.

--ARF
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: FBL/1.0
Version: 1
Original-Mail-From: <%[1]s>
Original-Rcpt-To: <%[2]s>
Source-IP: 127.0.0.1

--ARF
Content-Type: message/rfc822

Return-Path: <%[1]s>
From: Shop <news@example.test>
To: %[2]s
Subject: Hello

Dear friend.

--ARF--
`, verpAddr, rcpt), "\n", "\r\n"))
}

// bounceWorld is a campaign world with serve running on it.
type bounceWorld struct {
	*campaignWorld
	smtp  string
	data  string
	serve *exec.Cmd
	log   *lockedBuffer
}

func newBounceWorld(t *testing.T, n int) *bounceWorld {
	t.Helper()
	w := &bounceWorld{campaignWorld: newCampaignWorld(t, n, peertest.Script{}, "", ""), smtp: freePort(t)}
	w.data = filepath.Join(w.dir, "data")
	cfg := string(mustRead(t, w.cfg)) + fmt.Sprintf("\n[smtp]\nlisten = [%q]\n[http]\nlisten = %q\n[local]\ndomains = [\"sender.example.test\"]\n[bounce]\ncomplaint_addresses = [\"fbl@sender.example.test\"]\nretry = \"200ms\"\n",
		w.smtp, freePort(t))
	if err := os.WriteFile(w.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := w.command(w.runArgs()...).Output()
	if err != nil || !strings.Contains(string(out), "campaign spring: done") {
		t.Fatalf("campaign run: %v\n%s\n%s", err, out, w.stderr.String())
	}
	if got := len(w.peer.Messages()); got != n {
		t.Fatalf("the peer took %d messages, want %d", got, n)
	}
	return w
}

// start runs serve and waits for its SMTP port.
func (w *bounceWorld) start() {
	w.t.Helper()
	w.log = &lockedBuffer{}
	w.serve = exec.Command(hikyakuBin(w.t), "serve", "--config", w.cfg)
	w.serve.Stderr = w.log
	if err := w.serve.Start(); err != nil {
		w.t.Fatal(err)
	}
	cmd := w.serve
	w.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		}
	})
	waitListening(w.t, w.smtp, w.log)
}

// row is the stored recipient of email.
func (w *bounceWorld) row(email string) store.Recipient {
	w.t.Helper()
	for _, r := range w.stored() {
		if r.Email == email {
			return r
		}
	}
	w.t.Fatalf("no row for %s", email)
	return store.Recipient{}
}

// bounces is the bounce history of a recipient.
func (w *bounceWorld) bounces(id int64) []store.BounceRecord {
	w.t.Helper()
	st, err := store.Open(context.Background(), w.dsn, store.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	defer st.Close()
	bs, err := st.Bounces(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return bs
}

// waitBounces waits until recipient id has at least n bounces, then a
// little more, so that a second copy would have had time to land.
func (w *bounceWorld) waitBounces(id int64, n int) []store.BounceRecord {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for len(w.bounces(id)) < n {
		if time.Now().After(deadline) {
			w.t.Fatalf("recipient %d: %d bounces recorded, want %d\nserve:\n%s", id, len(w.bounces(id)), n, w.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	return w.bounces(id)
}

// smtplib sends the message in file to rcpts with a null sender and
// prints the refused recipients as JSON: {"addr": [code, "text"]}.
func (w *bounceWorld) smtplib(file string, rcpts ...string) map[string][]any {
	w.t.Helper()
	py := need(w.t, "python3")
	host, port, _ := net.SplitHostPort(w.smtp)
	script := `
import json, smtplib, sys
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
msg = open(path, "rb").read()
s = smtplib.SMTP(host, port, local_hostname="mx.peer.test", timeout=10)
refused = s.sendmail("", sys.argv[4:], msg)
s.quit()
print(json.dumps({k: [v[0], v[1].decode()] for k, v in refused.items()}))
`
	cmd := exec.Command(py, append([]string{"-c", script, host, port, file}, rcpts...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		w.t.Fatalf("smtplib: %v\n%s\nserve:\n%s", err, stderr.String(), w.log.String())
	}
	var refused map[string][]any
	if err := json.Unmarshal(out, &refused); err != nil {
		w.t.Fatalf("smtplib printed %q: %v", out, err)
	}
	return refused
}

func (w *bounceWorld) export() map[string]exportRow {
	w.t.Helper()
	tsv := hkOK(w.t, "campaign", "export", "--config", w.cfg, "spring")
	lines := strings.Split(strings.TrimSuffix(tsv, "\n"), "\n")
	out := map[string]exportRow{}
	for _, r := range tableRows(w.t, lines[0], splitTSV(lines)) {
		out[r["email"]] = r
	}
	return out
}

// A DSN to a row's VERP address is accepted and read: the row that had
// 250 shows the bounce's 550 as its asynchronous final, with reason and
// score; a forged VERP address and one naming no row are refused at RCPT
// with 550 5.1.1; the same DSN sent again changes nothing.
func TestE2EBounceIntake(t *testing.T) {
	w := newBounceWorld(t, 5)
	key, err := verp.LoadKey(filepath.Join(w.data, verp.KeyFile), false)
	if err != nil {
		t.Fatal(err)
	}
	w.start()
	target := w.row("user1@d1.test")
	good := verp.Format("spring", target.Row, "bounce.example.test", key)
	// The message went out with exactly this return path.
	found := false
	for _, m := range w.peer.Messages() {
		found = found || m.Rcpts[0] == "user1@d1.test" && m.From == good
	}
	if !found {
		t.Fatalf("no message to user1@d1.test with return path %s", good)
	}
	forged := good[:strings.LastIndexByte(good, '-')+1] + "aaaaaaaaaa@bounce.example.test"
	noRow := verp.Format("spring", 999, "bounce.example.test", key)
	otherKey := verp.Format("spring", target.Row, "bounce.example.test", []byte("not the key of this installation!"))
	file := filepath.Join(w.dir, "dsn.eml")
	os.WriteFile(file, bounceDSN(good, "user1@d1.test", "4ABC1"), 0o644)

	refused := w.smtplib(file, good, forged, noRow, otherKey)
	for _, a := range []string{forged, noRow, otherKey} {
		r, ok := refused[a]
		if !ok || r[0].(float64) != 550 || !strings.HasPrefix(r[1].(string), "5.1.1 ") {
			t.Errorf("RCPT %s: refused %v, want 550 5.1.1", a, r)
		}
	}
	if _, ok := refused[good]; ok || len(refused) != 3 {
		t.Fatalf("refused %v; want the three bad addresses only", refused)
	}
	bs := w.waitBounces(target.ID, 1)
	if len(bs) != 1 {
		t.Fatalf("%d bounces recorded: %+v", len(bs), bs)
	}
	b := bs[0]
	if b.Code != 550 || b.Reason != "userunknown" || b.Blame != "recipient" {
		t.Errorf("bounce recorded as %+v, want 550 userunknown recipient", b)
	}

	// The same DSN again (another session, another Received): a duplicate.
	if refused := w.smtplib(file, good); len(refused) != 0 {
		t.Fatalf("second copy refused: %v", refused)
	}
	if bs := w.waitBounces(target.ID, 1); len(bs) != 1 {
		t.Errorf("after the second copy %d bounces: %+v", len(bs), bs)
	}

	// A complaint from a feedback loop, to the complaint address:
	// accepted, and it suppresses the address it names (reason feedback).
	plaintiff := w.row("user3@d3.test")
	arf := filepath.Join(w.dir, "arf.eml")
	os.WriteFile(arf, complaintARF(verp.Format("spring", plaintiff.Row, "bounce.example.test", key), "user3@d3.test"), 0o644)
	if refused := w.smtplib(arf, "fbl@sender.example.test"); len(refused) != 0 {
		t.Fatalf("complaint refused: %v", refused)
	}
	if bs := w.waitBounces(plaintiff.ID, 1); len(bs) != 1 || !bs[0].Complaint || bs[0].Reason != "feedback" {
		t.Errorf("complaint recorded as %+v", bs)
	}

	rows := w.export()
	if g := rows["user3@d3.test"]; g["code"] != "860" || g["reason"] != "feedback" || g["async"] != "1" {
		t.Errorf("export of the complainer: %v", g)
	}
	g := rows["user1@d1.test"]
	if g["state"] != "failed" || g["code"] != "550" || g["async"] != "1" || g["reason"] != "userunknown" || g["score"] != "1" {
		t.Errorf("export of the bounced row: %v", g)
	}
	for email, r := range rows {
		if email != "user1@d1.test" && email != "user3@d3.test" && (r["code"] != "250" || r["async"] != "" || r["score"] != "0") {
			t.Errorf("export of %s: %v", email, r)
		}
	}
	// The mail is kept, read: in data_dir/bounces/cur, none left in new/.
	if n, _ := os.ReadDir(filepath.Join(w.data, "bounces", "new")); len(n) != 0 {
		t.Errorf("%d mails left in bounces/new", len(n))
	}
	if c, _ := os.ReadDir(filepath.Join(w.data, "bounces", "cur")); len(c) != 3 {
		t.Errorf("%d mails in bounces/cur, want 3", len(c))
	}

	// bounce parse reads the kept mail the same way; bounce import of it
	// records nothing new.
	// bounce parse of the Maildir: one line per mail, as recorded.
	out := hkOK(t, "bounce", "parse", "--config", w.cfg, filepath.Join(w.data, "bounces"))
	dsns, complaints := 0, 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(l, "\t")
		switch {
		case len(f) == 8 && f[1] == "user1@d1.test" && f[2] == "550" && f[3] == "5.1.1" && f[4] == "userunknown" && f[5] == "recipient":
			dsns++
		case len(f) == 8 && f[1] == "user3@d3.test" && f[4] == "feedback":
			complaints++
		default:
			t.Errorf("bounce parse line %q", l)
		}
	}
	if dsns != 2 || complaints != 1 {
		t.Errorf("bounce parse of data_dir/bounces:\n%s", out)
	}
	out = hkOK(t, "bounce", "import", "--config", w.cfg, filepath.Join(w.data, "bounces"))
	if !strings.Contains(out, "3 mails: recorded 0, duplicate 3, norow 0, noted 0") {
		t.Errorf("bounce import of the kept mails: %q", out)
	}
	if bs := w.bounces(target.ID); len(bs) != 1 {
		t.Errorf("after import %d bounces", len(bs))
	}
}

// kill -9 right after serve acknowledged a bounce mail: after a restart
// the bounce is recorded, exactly once.
func TestE2EBounceKill(t *testing.T) {
	w := newBounceWorld(t, 3)
	key, err := verp.LoadKey(filepath.Join(w.data, verp.KeyFile), false)
	if err != nil {
		t.Fatal(err)
	}
	for i, email := range []string{"user0@d0.test", "user2@d2.test"} {
		w.start()
		target := w.row(email)
		addr := verp.Format("spring", target.Row, "bounce.example.test", key)
		file := filepath.Join(w.dir, fmt.Sprintf("dsn%d.eml", i))
		os.WriteFile(file, bounceDSN(addr, email, fmt.Sprintf("5KILL%d", i)), 0o644)
		if refused := w.smtplib(file, addr); len(refused) != 0 {
			t.Fatalf("refused %v", refused)
		}
		w.serve.Process.Kill()
		w.serve.Wait()
		w.start()
		bs := w.waitBounces(target.ID, 1)
		if len(bs) != 1 || bs[0].Code != 550 || bs[0].Reason != "userunknown" {
			t.Errorf("%s after kill -9 and restart: %+v", email, bs)
		}
		if n, _ := os.ReadDir(filepath.Join(w.data, "bounces", "new")); len(n) != 0 {
			t.Errorf("%d mails left in bounces/new", len(n))
		}
		w.serve.Process.Signal(os.Interrupt)
		w.serve.Wait()
	}
	rows := w.export()
	for _, email := range []string{"user0@d0.test", "user2@d2.test"} {
		if r := rows[email]; r["code"] != "550" || r["async"] != "1" || r["score"] != "1" {
			t.Errorf("export of %s: %v", email, r)
		}
	}
}

// bounce parse: one line per recipient, -501 for a mail that is not a
// bounce, exit 1 naming an input that cannot be opened, 2 on bad usage.
func TestE2EBounceParseCLI(t *testing.T) {
	dir := t.TempDir()
	dsn := filepath.Join(dir, "dsn.eml")
	os.WriteFile(dsn, bounceDSN("bounce+spring-1-aaaaaaaaaa@bounce.example.test", "taro@example.jp", "1"), 0o644)
	human := filepath.Join(dir, "human.eml")
	os.WriteFile(human, []byte("From: a@example.jp\r\nTo: b@example.jp\r\nSubject: hello\r\n\r\nJust saying hello.\r\n"), 0o644)
	out := hkOK(t, "bounce", "parse", dsn, human)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], dsn+"\ttaro@example.jp\t550\t5.1.1\tuserunknown\trecipient\t") ||
		len(strings.Split(lines[1], "\t")) != 8 || strings.Split(lines[1], "\t")[0] != human || strings.Split(lines[1], "\t")[2] != "-501" {
		t.Errorf("bounce parse:\n%s", out)
	}
	js := hkOK(t, "bounce", "parse", "--json", dsn)
	var r struct {
		File      string `json:"file"`
		Recipient string `json:"recipient"`
		Code      int    `json:"code"`
		Reason    string `json:"reason"`
		Campaign  string `json:"campaign"`
		Row       int64  `json:"row"`
	}
	if err := json.Unmarshal([]byte(js), &r); err != nil || r.File != dsn || r.Code != 550 || r.Recipient != "taro@example.jp" {
		t.Errorf("bounce parse --json: %q %v", js, err)
	}
	_, stderr, code := hkRun(t, "bounce", "parse", human, filepath.Join(dir, "missing.eml"))
	if code != 1 || !strings.Contains(stderr, "missing.eml") {
		t.Errorf("a missing input: exit %d\n%s", code, stderr)
	}
	if _, _, code := hkRun(t, "bounce", "parse"); code != 2 {
		t.Errorf("no inputs: exit %d, want 2", code)
	}
	if _, _, code := hkRun(t, "bounce", "parse", "--nope", dsn); code != 2 {
		t.Errorf("a bad flag: exit %d, want 2", code)
	}
	if stdout, _, code := hkRun(t, "bounce", "parse", "--help"); code != 0 || !strings.Contains(stdout, "hikyaku bounce parse [--json] FILE") {
		t.Errorf("--help: exit %d, want 0 and the usage on stdout\n%s", code, stdout)
	}
}
