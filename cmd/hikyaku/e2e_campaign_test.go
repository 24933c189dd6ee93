package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/peertest"
	"github.com/hikyaku/hikyaku/internal/store"
	"github.com/hikyaku/hikyaku/internal/store/storetest"
	"github.com/hikyaku/hikyaku/internal/verp"
)

// These tests run `hikyaku campaign` as a user would: the real binary, a
// TSV list, a template file, the fake DNS and a scripted peer on loopback
// that records every message it accepts.

type campaignWorld struct {
	t      *testing.T
	dir    string
	cfg    string
	list   string
	tmpl   string
	peer   *peertest.Peer
	dsn    string // the status store
	stderr lockedBuffer
}

// newCampaignWorld writes a config whose domains d0.test … all have their
// MX at a peertest peer on 127.0.0.2, a list of n rows and a template.
func newCampaignWorld(t *testing.T, n int, script peertest.Script, storeDSN, extra string) *campaignWorld {
	t.Helper()
	w := &campaignWorld{t: t, dir: t.TempDir()}
	p, err := peertest.StartAt("127.0.0.2:0", script)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	w.peer = p
	var zone strings.Builder
	zone.WriteString("$TTL 300\nmx.peer.test. A 127.0.0.2\nnullmx.test. MX 0 .\n")
	for i := range 10 {
		fmt.Fprintf(&zone, "d%d.test. MX 10 mx.peer.test.\n", i)
	}
	dnsAddr := startFakeDNS(t, zone.String())
	w.dsn = storeDSN
	if w.dsn == "" {
		w.dsn = "sqlite:" + filepath.Join(w.dir, "data", "status.db")
	}
	w.cfg = filepath.Join(w.dir, "hikyaku.toml")
	cfg := fmt.Sprintf("hostname = \"sender.example.test\"\ndata_dir = %q\n[store]\ndsn = %q\n[campaign]\nreturn_path_domain = \"bounce.example.test\"\nretry_min = \"100ms\"\nretry_max = \"200ms\"\n%s\n",
		filepath.Join(w.dir, "data"), w.dsn, extra) + deliveryConfig(dnsAddr, int(p.Addr.Port()), "")
	if err := os.WriteFile(w.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var list strings.Builder
	list.WriteString("email\tname\n")
	for i := range n {
		fmt.Fprintf(&list, "user%d@d%d.test\tName %d\n", i, i%10, i)
	}
	w.list = filepath.Join(w.dir, "list.tsv")
	w.tmpl = filepath.Join(w.dir, "msg.eml")
	os.WriteFile(w.list, []byte(list.String()), 0o644)
	os.WriteFile(w.tmpl, []byte("From: Shop <news@example.test>\nTo: {{.email}}\nSubject: Hello {{.name}}\n\nDear {{.name}}, row {{.row}}.\n"), 0o644)
	return w
}

func (w *campaignWorld) command(args ...string) *exec.Cmd {
	cmd := exec.Command(hikyakuBin(w.t), append(args, "--config", w.cfg)...)
	cmd.Stderr = &w.stderr
	return cmd
}

func (w *campaignWorld) runArgs(extra ...string) []string {
	return append([]string{"campaign", "run", "--list", w.list, "--template", w.tmpl, "--name", "spring"}, extra...)
}

// delivered counts the copies each recipient got.
func (w *campaignWorld) delivered() map[string]int {
	n := map[string]int{}
	for _, m := range w.peer.Messages() {
		for _, r := range m.Rcpts {
			n[r]++
		}
	}
	return n
}

// stored returns campaign spring's recipients as the store holds them.
func (w *campaignWorld) stored() []store.Recipient {
	w.t.Helper()
	st, err := store.Open(context.Background(), w.dsn, store.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	defer st.Close()
	c, err := st.CampaignByName(context.Background(), "spring")
	if err != nil {
		w.t.Fatal(err)
	}
	rs, err := st.Recipients(context.Background(), c.ID, 0, 1<<20)
	if err != nil {
		w.t.Fatal(err)
	}
	return rs
}

// sentInStore is the set of recipients whose 250 the store holds.
func (w *campaignWorld) sentInStore() map[string]bool {
	out := map[string]bool{}
	for _, r := range w.stored() {
		if r.State == store.StateSent {
			out[r.Email] = true
		}
	}
	return out
}

// waitDelivered waits until the peer has at least n messages.
func (w *campaignWorld) waitDelivered(n int) {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(w.peer.Messages()) < n {
		if time.Now().After(deadline) {
			w.t.Fatalf("only %d messages arrived, want %d\n%s", len(w.peer.Messages()), n, w.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// snapshot is, after a kill, which recipients the store holds as sent and
// how many copies each had by then.
type snapshot struct {
	recorded map[string]bool
	copies   map[string]int
}

func (w *campaignWorld) snapshot() snapshot {
	return snapshot{recorded: w.sentInStore(), copies: w.delivered()}
}

// inDoubt lists the recipients recorded as possibly delivered (625: a
// kill came between their final dot and the recording of its reply).
func (w *campaignWorld) inDoubt() map[string]bool {
	w.t.Helper()
	out := map[string]bool{}
	for _, r := range w.stored() {
		switch {
		case r.State == store.StateSent:
		case r.FinalCode == 625:
			out[r.Email] = true
		default:
			w.t.Errorf("%s: %s %d %s", r.Email, r.State, r.FinalCode, r.FinalText)
		}
	}
	return out
}

// checkOnce checks what a kill may and may not do: no recipient gets a
// second copy; no recipient whose 250 was recorded at a kill is sent
// again; every recipient is delivered, except those left in doubt (625),
// whose final dot may not have gone out at the kill — at most the
// messages in delivery then.
func (w *campaignWorld) checkOnce(n int, snaps []snapshot, inFlight int) {
	w.t.Helper()
	dl := w.delivered()
	doubt := w.inDoubt()
	missing := 0
	for i := range n {
		a := fmt.Sprintf("user%d@d%d.test", i, i%10)
		switch {
		case dl[a] == 0 && !doubt[a]:
			w.t.Errorf("%s was skipped", a)
		case dl[a] == 0:
			missing++
		case dl[a] > 1:
			w.t.Errorf("%s got %d copies", a, dl[a])
		}
		for k, s := range snaps {
			if s.recorded[a] && dl[a] != s.copies[a] {
				w.t.Errorf("%s: recorded as sent at kill %d with %d copies, has %d now", a, k+1, s.copies[a], dl[a])
			}
		}
	}
	if len(doubt) > inFlight {
		w.t.Errorf("%d recipients in doubt, more than the %d in delivery at the kills", len(doubt), inFlight)
	}
	w.t.Logf("%d recipients, %d kills: no second copies; %d left in doubt (625), of which %d had in fact not arrived",
		n, len(snaps), len(doubt), missing)
}

// kill -9 in the middle of `campaign run`, run the same command again:
// every recipient gets the message, and none whose 250 was recorded gets
// it twice. Done three times over one campaign.
func TestE2ECampaignKillResume(t *testing.T) {
	const n, concurrency = 600, 8
	w := newCampaignWorld(t, n, peertest.Script{}, "", fmt.Sprintf("concurrency = %d\nbatch = 20\nrate = 300", concurrency))
	var snaps []snapshot
	for kill := 1; kill <= 3; kill++ {
		cmd := w.command(w.runArgs()...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w.waitDelivered(kill * n / 5)
		cmd.Process.Kill()
		cmd.Wait()
		snaps = append(snaps, w.snapshot())
	}
	out, err := w.command(w.runArgs()...).Output()
	if err != nil {
		t.Fatalf("resumed run: %v\n%s\n%s", err, out, w.stderr.String())
	}
	if !strings.Contains(string(out), "campaign spring: done") || !strings.Contains(string(out), "  250 ") {
		t.Errorf("summary:\n%s", out)
	}
	w.checkOnce(n, snaps, 3*concurrency)
	// Every message went with its own VERP return path, signed with the
	// key the first run created.
	key, err := verp.LoadKey(filepath.Join(w.dir, "data", verp.KeyFile), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range w.peer.Messages() {
		if !strings.HasPrefix(m.From, "bounce+spring-") || !strings.HasSuffix(m.From, "@bounce.example.test") {
			t.Fatalf("return path %q is not VERP", m.From)
		}
		if _, _, ok := verp.Parse(m.From, key); !ok {
			t.Fatalf("return path %q is not signed with %s", m.From, verp.KeyFile)
		}
	}
}

// The binary's own wiring: reply rules from the shipped defaults, weights
// from the config, suppression across campaigns, the -11 stop and its
// exit status, a dry run that sends nothing.
func TestE2ECampaignCodesAndStop(t *testing.T) {
	w := newCampaignWorld(t, 10, peertest.Script{RcptReplies: map[string]string{
		"user1@d1.test": "550 5.1.1 <user1@d1.test>: Recipient address rejected: User unknown",
		"user2@d2.test": "550 5.2.1 The email account that you tried to reach is disabled.",
		"user3@d3.test": "552 5.2.2 Mailbox full",
	}}, "", "weights = [\"552=0.5\"]")
	// A bad row and a domain with null MX besides.
	f, _ := os.OpenFile(w.list, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("not-an-address\tBad\nx@nullmx.test\tNull\n")
	f.Close()
	out, err := w.command("campaign", "run", "--dry-run", "--list", w.list, "--template", w.tmpl).Output()
	if err != nil || !strings.Contains(string(out), "dry run: 12 rows, 11 messages composed") || len(w.peer.Messages()) != 0 {
		t.Fatalf("dry run: %v\n%s\n%s", err, out, w.stderr.String())
	}
	out, err = w.command(w.runArgs("--json")...).Output()
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, out, w.stderr.String())
	}
	for _, want := range []string{`"code":250,"count":7`, `"code":550,"count":1`, `"code":801,"count":1`, `"code":552,"count":1`,
		`"code":800,"count":1`, `"code":710,"count":1`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("summary lacks %s:\n%s", want, out)
		}
	}
	st, err := store.Open(context.Background(), w.dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for addr, want := range map[string]string{"user1@d1.test": "1", "user2@d2.test": "0.5", "user3@d3.test": "0.5", "user0@d0.test": "0"} {
		if s, err := st.Score(ctx, addr); err != nil || s.String() != want {
			t.Errorf("score of %s: %v %v, want %s", addr, s, err, want)
		}
	}
	st.Close()
	// A second campaign to the same list: the 550 and the null MX are
	// suppressed now; the other 9 are tried again.
	before := len(w.peer.Messages())
	out, err = w.command("campaign", "run", "--list", w.list, "--template", w.tmpl, "--name", "summer", "--json").Output()
	if err != nil {
		t.Fatalf("second campaign: %v\n%s", err, out)
	}
	if got := len(w.peer.Messages()) - before; got != 7 || !strings.Contains(string(out), `"suppressed":2`) {
		t.Errorf("second campaign sent %d (want 7: user1 and the null MX suppressed, user2 and user3 refused again)\n%s", got, out)
	}

	// Every connection refused: the -11 stop, exit 1, resumable.
	w.peer.Close()
	w.stderr.Reset()
	os.WriteFile(w.cfg, bytes.Replace(mustRead(t, w.cfg), []byte("[campaign]\n"), []byte("[campaign]\nstop_window = 5\nstop_percent = 60\nbatch = 2\nconcurrency = 1\n"), 1), 0o644)
	err = w.command("campaign", "run", "--list", w.list, "--template", w.tmpl, "--name", "blocked").Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(strings.ToLower(w.stderr.String()), "hikyaku: -11 campaign stopped") {
		t.Errorf("blocked campaign: %v, want exit 1 with -11\n%s", err, w.stderr.String())
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Three `campaign worker` processes share one MariaDB store; one is
// killed mid-run. The others take over its claims when the lease ends:
// every recipient is attempted, and none whose 250 was recorded is sent
// twice.
func TestE2ECampaignWorkersMariaDB(t *testing.T) {
	dsn := storetest.FreshMySQL(t)
	const n, concurrency = 900, 6
	// The lease is short so that the killed worker's claims come back soon,
	// but long enough that a live worker, renewing every third of it, keeps
	// its own on a loaded machine: a 2s lease lapsed under a load average
	// of 8 and left a live worker's messages in doubt too, beyond the
	// killed worker's concurrency that checkOnce allows.
	w := newCampaignWorld(t, n, peertest.Script{}, dsn, fmt.Sprintf("concurrency = %d\nbatch = 10\nrate = 150\nlease = \"5s\"", concurrency))
	if out, err := w.command(w.runArgs("--load-only")...).Output(); err != nil {
		t.Fatalf("load: %v\n%s\n%s", err, out, w.stderr.String())
	}
	var workers []*exec.Cmd
	for i := range 3 {
		cmd := w.command("campaign", "worker", "--owner", fmt.Sprintf("node%d", i))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers = append(workers, cmd)
	}
	w.waitDelivered(n / 4)
	workers[1].Process.Kill()
	workers[1].Wait()
	snaps := []snapshot{w.snapshot()}
	for i, cmd := range []*exec.Cmd{workers[0], workers[2]} {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("worker %d: %v\n%s", i, err, w.stderr.String())
			}
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("worker %d did not finish\n%s", i, w.stderr.String())
		}
	}
	st, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, _ := st.CampaignByName(context.Background(), "spring")
	prog, _ := st.Progress(context.Background(), c.ID)
	if prog[store.StatePending]+prog[store.StateClaimed] != 0 || c.State != store.CampaignDone {
		t.Errorf("after the workers: %v, campaign %s; want every recipient final and the campaign done", prog, c.State)
	}
	w.checkOnce(n, snaps, concurrency)
}
