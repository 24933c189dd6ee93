package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/report"
)

// Asynchronous bounces end to end (issue 12): a campaign sends to a real
// Postfix on loopback that accepts every recipient and bounces later, and
// Postfix's DSNs come back to `hikyaku serve` at the campaign's VERP
// return paths; `campaign export` then shows each row's bounce code, its
// reason and the address's score.
//
// Postfix (bench/postfix-bounce.sh) runs as a private instance: pf.test is
// its local domain, whose recipients it does not check at RCPT, so
// nosuchuser@pf.test gets 250 and then bounces from local delivery
// ("unknown user", 5.1.1); dead.test is relayed to a loopback port where
// nothing listens with a queue lifetime of one attempt, so gone@dead.test
// gets 250 and then expires (4.4.1, "Connection refused"). The VERP domain
// is routed to serve's port by a transport map, and DNS is off in Postfix,
// so nothing leaves loopback.
func TestE2EBouncePostfix(t *testing.T) {
	need(t, "postfix")
	if os.Geteuid() != 0 {
		t.Skip("the private Postfix instance needs root")
	}
	const (
		returnDomain = "bounce.example.test"
		unknownRcpt  = "nosuchuser@pf.test"
		deadRcpt     = "gone@dead.test"
	)
	bin := hikyakuBin(t)
	dir := t.TempDir()
	d := &daemon{t: t, dataDir: filepath.Join(dir, "data"), smtp: freePort(t), cfgPath: filepath.Join(dir, "hikyaku.toml")}
	_, servePort, _ := strings.Cut(d.smtp, ":")
	pfPort := freeLoopPort(t, "127.0.0.1")
	deadPort := freeLoopPort(t, "127.0.0.1") // closed again: connections are refused

	// Postfix first, so that serve's port is known to its transport map.
	pfDir := t.TempDir()
	script, _ := filepath.Abs("../../bench/postfix-bounce.sh")
	pf := func(args ...string) (string, error) {
		out, err := exec.Command("bash", "-c", fmt.Sprintf("source %q && %s", script, strings.Join(args, " "))).CombinedOutput()
		return string(out), err
	}
	if out, err := pf("pfbounce_start", strconv.Quote(pfDir), strconv.Itoa(pfPort), "pf.test", "dead.test",
		strconv.Itoa(deadPort), returnDomain, servePort); err != nil {
		t.Fatalf("starting Postfix: %v\n%s", err, out)
	}
	t.Cleanup(func() { pf("pfbounce_stop", strconv.Quote(pfDir)) })
	pfLog := filepath.Join(pfDir, "log", "maillog")

	// One config for serve and the campaign: the same data_dir, so the same
	// status store and VERP key. The campaign's mail hosts are Postfix's port.
	// No relay networks: Postfix connects from 127.0.0.1, and its DSNs must
	// be taken by serve's bounce intake, not relayed.
	dnsAddr := startFakeDNS(t, "$TTL 300\npf.test. MX 10 mx.pf.test.\ndead.test. MX 10 mx.pf.test.\nmx.pf.test. A 127.0.0.1\n")
	cfg := fmt.Sprintf(`hostname = "sender.example.test"
data_dir = %q
[smtp]
listen = [%q]
[relay]
networks = []
[http]
listen = ""
[campaign]
return_path_domain = %q
retry_min = "200ms"
retry_max = "1s"
`, d.dataDir, d.smtp, returnDomain) + deliveryConfig(dnsAddr, pfPort, "")
	if err := os.WriteFile(d.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d.start()

	list := filepath.Join(dir, "list.tsv")
	tmpl := filepath.Join(dir, "msg.eml")
	os.WriteFile(list, []byte("email\tname\n"+unknownRcpt+"\tNobody\n"+deadRcpt+"\tGone\n"), 0o644)
	os.WriteFile(tmpl, []byte("From: Shop <news@example.test>\nTo: {{.email}}\nSubject: Hello {{.name}}\n\nDear {{.name}}, row {{.row}}.\n"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	run := exec.CommandContext(ctx, bin, "campaign", "run", "--config", d.cfgPath, "--list", list, "--template", tmpl, "--name", "spring", "--json")
	var runErr strings.Builder
	run.Stderr = &runErr
	out, err := run.Output()
	if err != nil {
		t.Fatalf("campaign run: %v\n%s\n%s\nPostfix:\n%s", err, out, runErr.String(), mustRead(t, pfLog))
	}
	// Postfix takes both at RCPT: the session's result is 250 for each.
	if !strings.Contains(string(out), `"code":250,"count":2`) {
		t.Fatalf("campaign summary: want both recipients sent (250)\n%s\n%s\nPostfix:\n%s", out, runErr.String(), mustRead(t, pfLog))
	}

	// Postfix's side: each message queued with its VERP return path, bounced,
	// and its DSN handed to serve's port and taken (status=sent).
	unknown := waitPostfixBounce(t, pfLog, unknownRcpt, "status=bounced", servePort)
	dead := waitPostfixBounce(t, pfLog, deadRcpt, "status=expired", servePort)
	if !strings.Contains(unknown.log, `dsn=5.1.1, status=bounced (unknown user: "nosuchuser")`) {
		t.Errorf("Postfix did not bounce %s as an unknown local user:\n%s", unknownRcpt, unknown.log)
	}
	if !strings.Contains(dead.log, "status=deferred (connect to 127.0.0.1[127.0.0.1]:"+strconv.Itoa(deadPort)+": Connection refused)") {
		t.Errorf("Postfix's attempt at %s was not refused at the dead host:\n%s", deadRcpt, dead.log)
	}
	for _, b := range []postfixBounce{unknown, dead} {
		if !strings.HasPrefix(b.returnPath, "bounce+spring-") || !strings.HasSuffix(b.returnPath, "@"+returnDomain) {
			t.Errorf("%s went with return path %q, not a VERP address at %s", b.rcpt, b.returnPath, returnDomain)
		}
	}
	// serve's side: the mail log has the DSNs accepted for the VERP addresses.
	serveLog := filepath.Join(d.dataDir, "log", "mail.log")
	deadline := time.Now().Add(10 * time.Second)
	for {
		ml := string(mustRead(t, serveLog))
		if strings.Contains(ml, unknown.returnPath) && strings.Contains(ml, dead.returnPath) && strings.Contains(ml, "msg=accepted") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve's mail log has no accepted DSN for %s and %s:\n%s\nserve:\n%s", unknown.returnPath, dead.returnPath, ml, d.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The store's side, through `campaign export`: both rows end with the
	// bounce's result, noted as asynchronous, the 250 attempt kept.
	var rows map[string]report.ExportRecord
	deadline = time.Now().Add(60 * time.Second)
	for {
		rows = exportJSON(t, bin, d.cfgPath, "spring")
		if rows[unknownRcpt].Async && rows[deadRcpt].Async {
			break
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(filepath.Join(d.dataDir, "bounces"))
			var kept []string
			for _, e := range entries {
				kept = append(kept, e.Name())
			}
			t.Fatalf("after 60s the export still shows no bounce for both rows:\n%s\n%s\ndata_dir/bounces: %v\nserve:\n%s",
				fmtRecord(rows[unknownRcpt]), fmtRecord(rows[deadRcpt]), kept, d.stderr)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// nosuchuser: the DSN's 5.1.1 with no reply code quoted is 550,
	// userunknown; 550's weight (1) on a score the 250 had left at 0.
	u := rows[unknownRcpt]
	if u.Code != 550 || u.Enhanced != "5.1.1" || u.Reason != "userunknown" || u.Score.String() != "1" || u.Attempts < 1 {
		t.Errorf("export of %s: %s\nwant code 550, enhanced 5.1.1, async, reason userunknown, score 1, the 250 attempt kept", unknownRcpt, fmtRecord(u))
	}
	if !strings.Contains(strings.ToLower(u.Text), "unknown user") {
		t.Errorf("export of %s: text %q does not carry Postfix's diagnostic (unknown user: \"nosuchuser\")", unknownRcpt, u.Text)
	}
	// gone@dead.test: failed after its lifetime (Action: failed, Status
	// 4.4.1, no reply code) is expired, whose code is 606 (Sisimai 4.25
	// reads this DSN as expired 4.4.1 too). Its blame is the network's, so
	// the score stays where the 250 left it (store.RecordBounce: only the
	// recipient's blame moves a score).
	g := rows[deadRcpt]
	if g.Code != 606 || g.Reason != "expired" || g.Score.String() != "0" || g.Attempts < 1 {
		t.Errorf("export of %s: %s\nwant code 606, async, reason expired, score 0, the 250 attempt kept", deadRcpt, fmtRecord(g))
	}
	for _, r := range []report.ExportRecord{u, g} {
		if r.State != "failed" {
			t.Errorf("export of %s: state %s, want failed (a bounce after 250 replaces the final)", r.Email, r.State)
		}
	}
	t.Logf("Postfix bounced both; serve took the DSNs at %s and %s;\nexport: %s\n        %s",
		unknown.returnPath, dead.returnPath, fmtRecord(u), fmtRecord(g))
}

// postfixBounce is what Postfix's log says about one campaign message it
// bounced: the message's return path and the log lines of the message and
// of its DSN.
type postfixBounce struct {
	rcpt, returnPath string
	log              string
}

// waitPostfixBounce waits (20 s) until Postfix's log shows the message to
// rcpt queued, ended with final ("status=bounced", "status=expired"), its
// DSN made, and the DSN sent to the VERP return path at 127.0.0.1:port
// with a 250 from serve.
func waitPostfixBounce(t *testing.T, logPath, rcpt, final, port string) postfixBounce {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, problem, definite := findPostfixBounce(string(mustRead(t, logPath)), rcpt, final, port)
		if problem == "" {
			return b
		}
		if definite || time.Now().After(deadline) {
			t.Fatalf("Postfix, %s: %s; its log:\n%s", rcpt, problem, mustRead(t, logPath))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var pfLine = regexp.MustCompile(`postfix/\w+\[\d+\]: ([0-9A-F]{6,}): (.*)$`)

// findPostfixBounce reads the log; problem says what is missing, and
// definite that waiting will not help.
func findPostfixBounce(log, rcpt, final, port string) (b postfixBounce, problem string, definite bool) {
	b.rcpt = rcpt
	byID := map[string][]string{}
	var order []string
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		m := pfLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if _, ok := byID[m[1]]; !ok {
			order = append(order, m[1])
		}
		byID[m[1]] = append(byID[m[1]], m[2])
	}
	id := ""
	for _, q := range order {
		for _, l := range byID[q] {
			if strings.HasPrefix(l, "to=<"+rcpt+">") {
				id = q
			}
		}
	}
	if id == "" {
		return b, "the message never reached a delivery agent", false
	}
	dsnID := ""
	ended := false
	for _, l := range byID[id] {
		b.log += id + ": " + l + "\n"
		if r, ok := strings.CutPrefix(l, "from=<"); ok && b.returnPath == "" {
			b.returnPath, _, _ = strings.Cut(r, ">")
		}
		if strings.Contains(l, final) {
			ended = true
		}
		if r, ok := strings.CutPrefix(l, "sender non-delivery notification: "); ok {
			dsnID = strings.TrimSpace(r)
		}
	}
	switch {
	case !ended:
		return b, "no " + final + " line", false
	case dsnID == "":
		return b, "no DSN made", false
	}
	sent := false
	for _, l := range byID[dsnID] {
		b.log += dsnID + ": " + l + "\n"
		if strings.HasPrefix(l, "to=<"+b.returnPath+">, relay=127.0.0.1[127.0.0.1]:"+port+",") {
			if strings.Contains(l, "status=sent (250") {
				sent = true
			} else if strings.Contains(l, "status=bounced") {
				return b, "serve refused the DSN " + dsnID + ": " + l, true
			}
		}
	}
	if !sent {
		return b, "DSN " + dsnID + " not (yet) taken by serve at 127.0.0.1:" + port, false
	}
	return b, "", false
}

// exportJSON runs `campaign export --format json` and returns the rows by
// address.
func exportJSON(t *testing.T, bin, cfg, name string) map[string]report.ExportRecord {
	t.Helper()
	cmd := exec.Command(bin, "campaign", "export", "--config", cfg, "--format", "json", name)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("campaign export: %v\n%s", err, stderr.String())
	}
	rows := map[string]report.ExportRecord{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var r report.ExportRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("campaign export: %v in %q", err, line)
		}
		rows[r.Email] = r
	}
	return rows
}

func fmtRecord(r report.ExportRecord) string {
	return fmt.Sprintf("row %d %s: state %s, code %d, enhanced %q, text %q, attempts %d, async %v, reason %q, score %s",
		r.Row, r.Email, r.State, r.Code, r.Enhanced, r.Text, r.Attempts, r.Async, r.Reason, r.Score)
}
