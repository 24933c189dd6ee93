package campaign

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/campaign/tsv"
	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/delivery"
	"github.com/hikyaku/hikyaku/internal/dnsfake"
	"github.com/hikyaku/hikyaku/internal/outcome"
	"github.com/hikyaku/hikyaku/internal/peertest"
	"github.com/hikyaku/hikyaku/internal/resolve"
	"github.com/hikyaku/hikyaku/internal/smtpclient"
	"github.com/hikyaku/hikyaku/internal/store"
	"github.com/hikyaku/hikyaku/internal/store/storetest"
	"github.com/hikyaku/hikyaku/internal/verp"
)

// The campaign's world: a fake DNS and scripted peers on 127.0.0.2-4, one
// port. 127.0.0.9 has no listener.
const zone = `
$TTL 300
ok.test.        MX 10 mx.ok.test.
mx.ok.test.     A  127.0.0.2
cut.test.       MX 10 mx.cut.test.
mx.cut.test.    A  127.0.0.3
blocks.test.    MX 10 mx.blocks.test.
mx.blocks.test. A  127.0.0.4
nullmx.test.    MX 0 .
refused.test.   MX 10 mx.refused.test.
mx.refused.test. A 127.0.0.9
`

type world struct {
	dns   *dnsfake.Server
	port  uint16
	peers map[string]*peertest.Peer
}

func newWorld(t *testing.T, scripts map[string]peertest.Script) *world {
	t.Helper()
	dns, err := dnsfake.Start(dnsfake.Options{Zone: zone})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() })
	w := &world{dns: dns, peers: map[string]*peertest.Peer{}}
	for _, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		listen := ip + ":0"
		if w.port != 0 {
			listen = fmt.Sprintf("%s:%d", ip, w.port)
		}
		p, err := peertest.StartAt(listen, scripts[ip])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		w.port = p.Addr.Port()
		w.peers[ip] = p
	}
	return w
}

func (w *world) engine(t *testing.T) *delivery.Engine {
	t.Helper()
	res, err := resolve.New(resolve.Options{Servers: []string{w.dns.Addr}, Timeout: time.Second,
		LoopAddrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if err != nil {
		t.Fatal(err)
	}
	tm := smtpclient.DefaultTimeouts()
	for _, d := range []*time.Duration{&tm.Connect, &tm.Greeting, &tm.Helo, &tm.StartTLS, &tm.Mail, &tm.Rcpt, &tm.Data, &tm.Block, &tm.Dot, &tm.Rset, &tm.Quit} {
		*d = 2 * time.Second
	}
	e := delivery.New(res, delivery.Options{Port: int(w.port), IdleTimeout: time.Second,
		Client: smtpclient.Options{HeloName: "sender.test", Timeouts: tm}})
	t.Cleanup(e.Close)
	return e
}

// delivered counts the messages each recipient got at every peer.
func (w *world) delivered() map[string]int {
	n := map[string]int{}
	for _, p := range w.peers {
		for _, m := range p.Messages() {
			for _, r := range m.Rcpts {
				n[r]++
			}
		}
	}
	return n
}

const template = "From: News <news@sender.test>\nTo: {{.email}}\nSubject: Hello {{.name}}\n\nDear {{.name}},\nthis is row {{.row}}.\n"

// disabledRule stands in for the shipped reply rules: "disabled" in a 5xx
// text is 801.
type disabledRule struct{}

func (disabledRule) Classify(domain string, r outcome.Result) (outcome.Result, bool) {
	if r.Code >= 500 && strings.Contains(r.Text, "disabled") {
		out := outcome.Own(801, "")
		out.Text, out.Host, out.IP, out.Phase = r.Text, r.Host, r.IP, r.Phase
		return out, true
	}
	return r, false
}

// setup writes the list, creates and loads the campaign.
func setup(t *testing.T, dsn string, rows []string, lifetime time.Duration) (*store.Store, store.Campaign, Spec) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	list := filepath.Join(t.TempDir(), "list.tsv")
	if err := os.WriteFile(list, []byte("email\tname\n"+strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := Spec{Template: []byte(template), ReturnPathDomain: "bounce.sender.test", Hostname: "sender.test", Lifetime: lifetime}
	opts, _ := json.Marshal(spec)
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "spring", TemplateHash: spec.Hash(), ListPath: list, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.Campaign(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := tsv.Open(list)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if _, err := Load(ctx, st, id, rd, nil); err != nil {
		t.Fatal(err)
	}
	return st, c, spec
}

// testVERPKey signs the runs' VERP return paths.
var testVERPKey = []byte("runner test key, 32 octets long!")

func runner(t *testing.T, st *store.Store, c store.Campaign, spec Spec, eng Deliverer, mutate func(*Options)) *Runner {
	t.Helper()
	tmpl, err := spec.Compile()
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SetVERPKey(testVERPKey)
	opt := Options{Store: st, Engine: eng, Rules: disabledRule{}, Owner: "test", Concurrency: 8, Batch: 5,
		Lease: time.Minute, RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond}
	if mutate != nil {
		mutate(&opt)
	}
	return NewRunner(c, tmpl, spec.Lifetime, opt)
}

// finals maps each recipient's email to its state and final code.
func finals(t *testing.T, st *store.Store, c store.Campaign) map[string]store.Recipient {
	t.Helper()
	rs, err := st.Recipients(context.Background(), c.ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Recipient{}
	for _, r := range rs {
		out[r.Email] = r
	}
	return out
}

// A list that mixes every kind of outcome ends with the expected code,
// state, score and suppression for each row, through the real engine,
// resolver and client against the fake DNS and scripted peers.
func TestCampaignOutcomes(t *testing.T) {
	storetest.ForEngines(t, func(t *testing.T, dsn string) {
		w := newWorld(t, map[string]peertest.Script{
			"127.0.0.2": {RcptReplies: map[string]string{
				"unknown@ok.test":  "550 5.1.1 User unknown",
				"full@ok.test":     "552 5.2.2 Mailbox full",
				"disabled@ok.test": "550 5.2.1 The email account that you tried to reach is disabled",
				"later@ok.test":    "451 4.3.0 Try again later",
			}},
			"127.0.0.3": {Actions: map[codes.Phase]peertest.Action{codes.PhaseRcpt: peertest.Cut}, ActOnFirst: 1},
			"127.0.0.4": {Replies: map[string]string{"MAIL": "554 5.7.1 Service unavailable; client host blocked using zen.example"}},
		})
		rows := []string{
			"a@ok.test\tAlice", "b@ok.test\tBob", "unknown@ok.test\tU", "full@ok.test\tF",
			"disabled@ok.test\tD", "later@ok.test\tL", "c@cut.test\tC", "x@nullmx.test\tN",
			"x@nxdomain.test\tX", "x@refused.test\tR", "not-an-address\tZ", "blocked@ok.test\tB",
			"y@blocks.test\tY", "too\tmany\tcolumns", "taro..yamada@ok.test\tT", "hanako.@ok.test\tH",
		}
		st, c, spec := setup(t, dsn, rows, 1500*time.Millisecond)
		ctx := context.Background()
		if err := st.Suppress(ctx, "Blocked@ok.test", "asked to be left alone"); err != nil {
			t.Fatal(err)
		}
		r := runner(t, st, c, spec, w.engine(t), nil)
		if err := r.Run(ctx); err != nil {
			t.Fatalf("Run: %v", err)
		}
		got := finals(t, st, c)
		for _, tc := range []struct {
			email    string
			state    store.State
			code     int
			enhanced string
			why      string
		}{
			{"a@ok.test", store.StateSent, 250, "", "accepted"},
			{"b@ok.test", store.StateSent, 250, "", "accepted"},
			{"unknown@ok.test", store.StateFailed, 550, "5.1.1", "remote reply kept"},
			{"full@ok.test", store.StateFailed, 552, "5.2.2", "permanent, weight 0.1"},
			{"disabled@ok.test", store.StateFailed, 801, "5.2.1", "reply-text rule turns 550 into 801"},
			{"later@ok.test", store.StateFailed, 606, "4.3.0", "451 retried until the lifetime ends: 606 keeps the last 4.x.x"},
			{"c@cut.test", store.StateSent, 250, "", "623 on the first connection, delivered on retry"},
			{"x@nullmx.test", store.StateFailed, 710, "5.1.10", "null MX"},
			{"x@nxdomain.test", store.StateFailed, 700, "5.1.2", "no such domain"},
			{"x@refused.test", store.StateFailed, 606, "4.4.1", "601 retried until the lifetime ends"},
			{"not-an-address", store.StateInvalid, 800, "5.1.3", "malformed address: never sent"},
			{"blocked@ok.test", store.StateSuppressed, 0, "", "on the suppression list: never sent"},
			{"y@blocks.test", store.StateFailed, 606, "", "a refusal at MAIL blames the sender: retried, not counted as 554"},
			{"taro..yamada@ok.test", store.StateSent, 250, "", "a Japanese carrier local part breaking dot-atom is a real mailbox, sent as it is"},
			{"hanako.@ok.test", store.StateSent, 250, "", "likewise a trailing dot"},
		} {
			g, ok := got[tc.email]
			if !ok {
				t.Errorf("%s: not in the store", tc.email)
				continue
			}
			if g.State != tc.state || g.FinalCode != tc.code || (tc.enhanced != "" && g.FinalEnhanced != tc.enhanced) {
				t.Errorf("%s (%s): got %s %d %s %q, want %s %d %s", tc.email, tc.why, g.State, g.FinalCode, g.FinalEnhanced, g.FinalText, tc.state, tc.code, tc.enhanced)
			}
		}
		if n := len(got); n != len(rows) {
			t.Errorf("%d recipients stored, want %d (bad rows are kept as invalid)", n, len(rows))
		}
		if got["later@ok.test"].Attempts < 2 || got["c@cut.test"].Attempts != 2 {
			t.Errorf("attempts: later %d (want ≥2), cut %d (want 2)", got["later@ok.test"].Attempts, got["c@cut.test"].Attempts)
		}
		// Scores (docs/spec.md §4): weights of the final codes; 1.0 suppresses.
		for addr, want := range map[string]codes.Tenths{"unknown@ok.test": 10, "full@ok.test": 1, "disabled@ok.test": 5,
			"later@ok.test": 1, "x@nullmx.test": 10, "a@ok.test": 0, "c@cut.test": 0, "y@blocks.test": 1} {
			if s, err := st.Score(ctx, addr); err != nil || s != want {
				t.Errorf("score of %s = %v (%v), want %v", addr, s, err, want)
			}
		}
		for addr, want := range map[string]bool{"unknown@ok.test": true, "x@nullmx.test": true, "x@nxdomain.test": true,
			"full@ok.test": false, "disabled@ok.test": false, "a@ok.test": false} {
			if s, _ := st.Suppressed(ctx, addr); s != want {
				t.Errorf("suppressed(%s) = %v, want %v", addr, s, want)
			}
		}
		// Every delivered recipient got exactly one copy, with its own
		// VERP return path and merged text.
		dl := w.delivered()
		for _, a := range []string{"a@ok.test", "b@ok.test", "c@cut.test", "taro..yamada@ok.test", "hanako.@ok.test"} {
			if dl[a] != 1 {
				t.Errorf("%s received %d copies, want 1", a, dl[a])
			}
		}
		for _, m := range w.peers["127.0.0.2"].Messages() {
			if m.Rcpts[0] == "a@ok.test" {
				if c, row, ok := verp.Parse(m.From, testVERPKey); !ok || c != "spring" || row != 1 || !strings.HasSuffix(m.From, "@bounce.sender.test") || !strings.Contains(string(m.Data), "Dear Alice,") {
					t.Errorf("a@ok.test: return path %q, body %q", m.From, m.Data)
				}
			}
		}
		if cc, _ := st.Campaign(ctx, c.ID); cc.State != store.CampaignDone {
			t.Errorf("campaign state %s, want done", cc.State)
		}
	})
}

// Failures on the sending side past the threshold stop the run with -11,
// leaving the rest pending; the same campaign resumes to the end.
func TestStopWhenErrorsTooFrequent(t *testing.T) {
	storetest.ForEngines(t, func(t *testing.T, dsn string) {
		w := newWorld(t, nil)
		var rows []string
		for i := range 40 {
			rows = append(rows, fmt.Sprintf("u%d@refused.test\tU", i))
		}
		st, c, spec := setup(t, dsn, rows, time.Hour)
		r := runner(t, st, c, spec, w.engine(t), func(o *Options) { o.StopWindow, o.StopPercent, o.Batch = 10, 50, 10 })
		err := r.Run(context.Background())
		if !IsStopped(err) {
			t.Fatalf("Run: %v, want a -11 stop", err)
		}
		ctx := context.Background()
		prog, _ := st.Progress(ctx, c.ID)
		if prog[store.StatePending] == 0 || prog[store.StateClaimed] != 0 {
			t.Errorf("after the stop: %v; want pending rows left and no claims held", prog)
		}
		if cc, _ := st.Campaign(ctx, c.ID); cc.State != store.CampaignStopped {
			t.Errorf("state %s, want stopped", cc.State)
		}
		// Resumed with the peer fixed (the zone now irrelevant: lifetime 0
		// left means 606 at once), every recipient ends.
		c.Created = time.Now().Add(-2 * time.Hour)
		r = runner(t, st, c, spec, w.engine(t), nil)
		if err := r.Run(ctx); err != nil {
			t.Fatalf("resumed Run: %v", err)
		}
		prog, _ = st.Progress(ctx, c.ID)
		if prog[store.StateFailed] != len(rows) {
			t.Errorf("after resuming: %v, want all %d failed (606)", prog, len(rows))
		}
	})
}

// An interrupted run hands its claims back; the next run carries on and
// no recipient gets a second copy or none.
func TestInterruptAndResume(t *testing.T) {
	storetest.ForEngines(t, func(t *testing.T, dsn string) {
		w := newWorld(t, nil)
		var rows []string
		for i := range 120 {
			rows = append(rows, fmt.Sprintf("r%d@ok.test\tR%d", i, i))
		}
		st, c, spec := setup(t, dsn, rows, time.Hour)
		ctx, cancel := context.WithCancel(context.Background())
		r := runner(t, st, c, spec, w.engine(t), func(o *Options) { o.Rate = 400 })
		var once sync.Once
		go func() {
			for r.Stats().Sent < 30 {
				time.Sleep(5 * time.Millisecond)
			}
			once.Do(cancel)
		}()
		if err := r.Run(ctx); err != context.Canceled {
			t.Fatalf("Run: %v, want context.Canceled", err)
		}
		first := r.Stats().Sent
		if first >= int64(len(rows)) {
			t.Fatalf("the interrupt came too late (%d sent)", first)
		}
		r = runner(t, st, c, spec, w.engine(t), nil)
		if err := r.Run(context.Background()); err != nil {
			t.Fatalf("resumed: %v", err)
		}
		dl := w.delivered()
		for i := range rows {
			if a := fmt.Sprintf("r%d@ok.test", i); dl[a] != 1 {
				t.Errorf("%s got %d copies, want 1", a, dl[a])
			}
		}
		if first+r.Stats().Sent != int64(len(rows)) {
			t.Errorf("sent %d + %d, want %d", first, r.Stats().Sent, len(rows))
		}
	})
}

// A recipient whose final dot went out when its run died is in doubt:
// ended as 625 without a second copy, or sent again with ResendInDoubt.
func TestInDoubtAfterCrash(t *testing.T) {
	for _, resend := range []bool{false, true} {
		t.Run(fmt.Sprint("resend=", resend), func(t *testing.T) {
			w := newWorld(t, nil)
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "status.db")
			st, c, spec := setup(t, dsn, []string{"a@ok.test\tA", "b@ok.test\tB"}, time.Hour)
			ctx := context.Background()
			rs, err := st.Claim(ctx, c.ID, "dead", 1, time.Millisecond)
			if err != nil || len(rs) != 1 {
				t.Fatal(rs, err)
			}
			if err := st.MarkDot(ctx, rs[0].ID); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond) // the dead worker's lease runs out
			r := runner(t, st, c, spec, w.engine(t), func(o *Options) { o.ResendInDoubt = resend })
			if err := r.Run(ctx); err != nil {
				t.Fatal(err)
			}
			got := finals(t, st, c)
			dl := w.delivered()
			if resend {
				if got["a@ok.test"].FinalCode != 250 || dl["a@ok.test"] != 1 {
					t.Errorf("resent: %+v, %d copies", got["a@ok.test"], dl["a@ok.test"])
				}
			} else if a := got["a@ok.test"]; a.FinalCode != 625 || a.State != store.StateFailed || dl["a@ok.test"] != 0 ||
				!strings.Contains(a.FinalText, "possibly delivered") {
				t.Errorf("in doubt: %+v, %d copies; want 625 possibly delivered and nothing sent", a, dl["a@ok.test"])
			}
			if got["b@ok.test"].FinalCode != 250 {
				t.Errorf("b: %+v", got["b@ok.test"])
			}
		})
	}
}
