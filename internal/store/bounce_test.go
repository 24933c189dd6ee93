package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// bounceCase sets up one campaign row per test: its address, how the
// session ended (0: not sent yet), the bounces then recorded and what must
// hold afterwards.
type bounceCase struct {
	name      string
	why       string
	session   int // final code of the session: 250, 550 ...; 0 leaves the row pending
	weight    codes.Tenths
	bounces   []Bounce
	outcomes  []BounceOutcome
	final     int  // the row's final code afterwards
	async     bool // the final is the bounce's
	reason    string
	state     State
	score     codes.Tenths
	suppress  string // the suppression reason; "" not suppressed
	attempts  int    // attempts in the row's history (the session's stays)
	histories int    // bounces in the row's history
}

func bounceOf(code int, enhanced, reason, blame, key string) Bounce {
	return Bounce{Key: key, Code: code, Enhanced: enhanced, Reason: reason, Blame: blame,
		Text: "remote said no", At: time.UnixMilli(1_700_000_000_000)}
}

func TestRecordBounce(t *testing.T) {
	unknown := bounceOf(550, "5.1.1", "userunknown", "recipient", "<dsn-1@mx>")
	cases := []bounceCase{
		{name: "250 then a bounce",
			why:     "the bounce becomes the final, asynchronous; the 250 attempt stays; the score moves by 550's weight",
			session: 250, bounces: []Bounce{unknown}, outcomes: []BounceOutcome{BounceRecorded},
			final: 550, async: true, reason: "userunknown", state: StateFailed, score: 10,
			suppress: "score 1 reached threshold 1 (last 550 5.1.1)", attempts: 1, histories: 1},
		{name: "the same bounce twice",
			why:     "the same Key is the same bounce: counted once",
			session: 250, bounces: []Bounce{unknown, unknown}, outcomes: []BounceOutcome{BounceRecorded, BounceDuplicate},
			final: 550, async: true, reason: "userunknown", state: StateFailed, score: 10,
			suppress: "score 1 reached threshold 1 (last 550 5.1.1)", attempts: 1, histories: 1},
		{name: "a DSN after a counted synchronous 550",
			why:     "once per recipient and message: the session's 550 counted already",
			session: 550, weight: 10, bounces: []Bounce{unknown}, outcomes: []BounceOutcome{BounceNoted},
			final: 550, state: StateFailed, score: 10,
			suppress: "score 1 reached threshold 1 (last 550 5.1.1)", attempts: 1, histories: 1},
		{name: "two different bounces for one row",
			why:      "a second bounce (another key) does not count the row again",
			session:  250,
			bounces:  []Bounce{bounceOf(552, "5.2.2", "mailboxfull", "recipient", "a"), bounceOf(550, "5.1.1", "userunknown", "recipient", "b")},
			outcomes: []BounceOutcome{BounceRecorded, BounceNoted},
			final:    552, async: true, reason: "mailboxfull", state: StateFailed, score: 1, attempts: 1, histories: 2},
		{name: "a sender-side 550",
			why:     "blocked is the sender's fault: the final shows it, the score does not move",
			session: 250, bounces: []Bounce{bounceOf(550, "5.7.1", "blocked", "sender", "k")}, outcomes: []BounceOutcome{BounceRecorded},
			final: 550, async: true, reason: "blocked", state: StateFailed, attempts: 1, histories: 1},
		{name: "an uncounted bounce then a counted one",
			why:      "the row's failure had not counted; the recipient's 550 does",
			session:  250,
			bounces:  []Bounce{bounceOf(870, "5.7.1", "blocked", "sender", "a"), unknown},
			outcomes: []BounceOutcome{BounceRecorded, BounceRecorded},
			final:    550, async: true, reason: "userunknown", state: StateFailed, score: 10,
			suppress: "score 1 reached threshold 1 (last 550 5.1.1)", attempts: 1, histories: 2},
		{name: "a complaint",
			why:     "a complaint suppresses at once, reason feedback",
			session: 250, bounces: []Bounce{{Key: "arf", Complaint: true, Blame: "recipient"}}, outcomes: []BounceOutcome{BounceRecorded},
			final: 860, async: true, reason: "feedback", state: StateFailed, score: 10, suppress: "feedback", attempts: 1, histories: 1},
		{name: "a complaint without blame",
			why:     "suppressed whatever the score",
			session: 250, bounces: []Bounce{{Key: "arf", Code: 860, Complaint: true}}, outcomes: []BounceOutcome{BounceRecorded},
			final: 860, async: true, reason: "feedback", state: StateFailed, suppress: "feedback", attempts: 1, histories: 1},
		{name: "not a bounce",
			why:     "-501 (an auto-reply) never changes the final or the score",
			session: 250, bounces: []Bounce{bounceOf(-501, "", "vacation", "", "v")}, outcomes: []BounceOutcome{BounceNoted},
			final: 250, state: StateSent, attempts: 1, histories: 1},
		{name: "no status code",
			why:     "-500 shows the mail came back, without weight",
			session: 250, bounces: []Bounce{bounceOf(-500, "", "userunknown", "recipient", "x")}, outcomes: []BounceOutcome{BounceRecorded},
			final: -500, async: true, reason: "userunknown", state: StateFailed, attempts: 1, histories: 1},
		{name: "a delay notice",
			why:     "a transient code without expired is a warning: the remote still tries",
			session: 250, bounces: []Bounce{bounceOf(452, "4.2.2", "mailboxfull", "recipient", "d")}, outcomes: []BounceOutcome{BounceNoted},
			final: 250, state: StateSent, attempts: 1, histories: 1},
		{name: "a pending row with an unknown user",
			why:     "a permanent recipient failure ends the row so it is not sent again",
			bounces: []Bounce{unknown}, outcomes: []BounceOutcome{BounceRecorded},
			final: 550, async: true, reason: "userunknown", state: StateFailed, score: 10,
			suppress: "score 1 reached threshold 1 (last 550 5.1.1)", histories: 1},
		{name: "a pending row with a sender block",
			why:     "the row is still sent: history only",
			bounces: []Bounce{bounceOf(554, "5.7.1", "blocked", "sender", "s")}, outcomes: []BounceOutcome{BounceNoted},
			state: StatePending, histories: 1},
	}
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				addr := fmt.Sprintf("someone%d@example.jp", i)
				cid, ids := campaignWith(t, s, addr, "other@example.jp")
				camp, err := s.Campaign(ctx, cid)
				if err != nil {
					t.Fatal(err)
				}
				if c.session != 0 {
					if err := s.RecordAttempt(ctx, Attempt{RecipientID: ids[0], Result: result(c.session, "")}); err != nil {
						t.Fatal(err)
					}
					if err := s.Finish(ctx, ids[0], result(c.session, "5.1.1"), c.weight); err != nil {
						t.Fatal(err)
					}
				}
				for i, b := range c.bounces {
					b.Campaign, b.Row = camp.Name, 1
					got, err := s.RecordBounce(ctx, b)
					if err != nil || got != c.outcomes[i] {
						t.Fatalf("bounce %d: %q, %v; want %q (%s)", i, got, err, c.outcomes[i], c.why)
					}
				}
				r := recipient(t, s, cid, 1)
				if r.FinalCode != c.final || r.FinalAsync != c.async || r.State != c.state ||
					(c.async && r.FinalReason != c.reason) {
					t.Errorf("row: final %d async %v reason %q state %s; want %d %v %q %s (%s)",
						r.FinalCode, r.FinalAsync, r.FinalReason, r.State, c.final, c.async, c.reason, c.state, c.why)
				}
				if c.async && r.Owner != "" {
					t.Errorf("owner %q left on a finished row", r.Owner)
				}
				if score, err := s.Score(ctx, addr); err != nil || score != c.score {
					t.Errorf("score %v, %v; want %v (%s)", score, err, c.score, c.why)
				}
				p, ok, err := s.SuppressionOf(ctx, addr)
				if err != nil || ok != (c.suppress != "") || p.Reason != c.suppress {
					t.Errorf("suppression %v %q, %v; want %q (%s)", ok, p.Reason, err, c.suppress, c.why)
				}
				if r.Attempts != c.attempts {
					t.Errorf("attempts %d, want %d: the session's attempt stays", r.Attempts, c.attempts)
				}
				hist, err := s.Bounces(ctx, r.ID)
				if err != nil || len(hist) != c.histories {
					t.Errorf("bounce history %d, %v; want %d", len(hist), err, c.histories)
				}
				other := recipient(t, s, cid, 2)
				if other.State != StatePending || other.FinalCode != 0 {
					t.Errorf("row 2 changed: %+v", other)
				}
			})
		}
		t.Run("unknown campaign or row", func(t *testing.T) {
			cid, _ := campaignWith(t, s, "a@example.jp")
			camp, _ := s.Campaign(ctx, cid)
			for _, b := range []Bounce{{Campaign: "no-such", Row: 1, Key: "k", Code: 550}, {Campaign: camp.Name, Row: 2, Key: "k", Code: 550}} {
				if got, err := s.RecordBounce(ctx, b); err != nil || got != BounceNoRow {
					t.Errorf("%s row %d: %q, %v; want norow", b.Campaign, b.Row, got, err)
				}
			}
			for _, c := range []struct {
				name string
				row  int64
				want bool
			}{{camp.Name, 1, true}, {camp.Name, 2, false}, {"no-such", 1, false}} {
				if got, err := s.RowExists(ctx, c.name, c.row); err != nil || got != c.want {
					t.Errorf("RowExists(%s, %d) = %v, %v; want %v", c.name, c.row, got, err, c.want)
				}
			}
			if _, err := s.RecordBounce(ctx, Bounce{Campaign: camp.Name, Row: 1}); err == nil {
				t.Error("a bounce without a Key was accepted")
			}
		})
	})
}

// Callers racing with one bounce, and with different bounces for one row,
// count it once: the row lock (MySQL) or the write lock (SQLite) orders
// them.
func TestRecordBounceConcurrent(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		cid, ids := campaignWith(t, s, "race@example.jp")
		camp, _ := s.Campaign(ctx, cid)
		if err := s.Finish(ctx, ids[0], result(250, "2.0.0"), 0); err != nil {
			t.Fatal(err)
		}
		const n = 8
		got := make([]BounceOutcome, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				// Two keys: each recorded once, the row counted once.
				b := bounceOf(552, "5.2.2", "mailboxfull", "recipient", fmt.Sprint("key-", i%2))
				b.Campaign, b.Row = camp.Name, 1
				got[i], errs[i] = s.RecordBounce(ctx, b)
			})
		}
		wg.Wait()
		count := map[BounceOutcome]int{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("RecordBounce: %v", errs[i])
			}
			count[got[i]]++
		}
		if count[BounceRecorded] != 1 || count[BounceNoted] != 1 || count[BounceDuplicate] != n-2 {
			t.Errorf("outcomes %v: want 1 recorded, 1 noted, %d duplicates", count, n-2)
		}
		if score, _ := s.Score(ctx, "race@example.jp"); score != 1 {
			t.Errorf("score %v, want 0.1 once", score)
		}
		if hist, _ := s.Bounces(ctx, ids[0]); len(hist) != 2 {
			t.Errorf("history %d bounces, want 2", len(hist))
		}
	})
}

// What the reports read: finals by reason (the bounce's, the session's
// stored one, or the code table's), the asynchronous ones, scores by
// address, bounces by reason.
func TestBounceReports(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		cid, ids := campaignWith(t, s, "a@example.jp", "B@example.jp", "c@example.jp", "d@example.jp")
		camp, _ := s.Campaign(ctx, cid)
		withReason := result(550, "5.7.1")
		withReason.Reason = "rejected" // the session's own reason is stored
		fs := []Final{{ids[0], result(250, "2.0.0"), 0}, {ids[1], result(250, "2.0.0"), 0},
			{ids[2], withReason, 10}, {ids[3], result(550, "5.1.1"), 10}}
		if _, err := s.FinishBatch(ctx, fs); err != nil {
			t.Fatal(err)
		}
		for _, b := range []Bounce{bounceOf(550, "5.1.1", "userunknown", "recipient", "k1"),
			bounceOf(-501, "", "vacation", "", "k2")} {
			b.Campaign, b.Row = camp.Name, 2
			if _, err := s.RecordBounce(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		async, err := s.CountsAsync(ctx, cid)
		if err != nil || fmt.Sprint(async) != "map[550:1]" {
			t.Errorf("CountsAsync: %v, %v", async, err)
		}
		rc, err := s.CountsByReason(ctx, cid)
		if err != nil || fmt.Sprint(rc) != "[{delivered 250 1 0} {rejected 550 1 0} {userunknown 550 2 1}]" {
			t.Errorf("CountsByReason: %v, %v", rc, err)
		}
		sc, err := s.Scores(ctx, []string{"b@example.jp", "B@Example.jp", "a@example.jp"})
		if err != nil || fmt.Sprint(sc) != "map[B@Example.jp:1 b@example.jp:1]" {
			t.Errorf("Scores: %v, %v", sc, err)
		}
		bs, err := s.BounceStats(ctx, cid)
		if err != nil || fmt.Sprint(bs) != "[{userunknown recorded 1 1} {vacation noted 1 0}]" {
			t.Errorf("BounceStats: %v, %v", bs, err)
		}
		if r := recipient(t, s, cid, 3); r.Reason() != "rejected" || r.FinalAsync {
			t.Errorf("row 3: reason %q async %v", r.Reason(), r.FinalAsync)
		}
	})
}

// A store of schema version 2, with rows, takes version 3 on Open: the
// rows read back with no asynchronous final and no reason, and take
// bounces.
func TestMigrateToBounces(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		all := migrations
		migrations = all[:2]
		old, err := Open(ctx, dsn, Options{})
		migrations = all
		if err != nil {
			t.Fatal(err)
		}
		res, err := old.db.ExecContext(ctx, `INSERT INTO campaigns (name, created, template_hash, list_path, options, state)
			VALUES ('v2', 0, '', 'l.tsv', '{}', 'done')`)
		if err != nil {
			t.Fatal(err)
		}
		cid, _ := res.LastInsertId()
		if _, err := old.db.ExecContext(ctx, `INSERT INTO recipients (campaign_id, row_no, email, addr, domain, fields,
			state, owner, lease_until, final_code, final_enhanced, final_text, attempts)
			VALUES (?, 1, 'x@example.jp', 'x@example.jp', 'example.jp', '{}', 'sent', '', 0, 250, '2.0.0', 'ok', 1)`, cid); err != nil {
			t.Fatal(err)
		}
		old.Close()
		s := openT(t, dsn, Options{})
		r := recipient(t, s, cid, 1)
		if r.FinalCode != 250 || r.FinalAsync || r.FinalReason != "" || r.Reason() != "delivered" {
			t.Errorf("migrated row: %+v", r)
		}
		b := bounceOf(550, "5.1.1", "userunknown", "recipient", "k")
		b.Campaign, b.Row = "v2", 1
		if got, err := s.RecordBounce(ctx, b); err != nil || got != BounceRecorded {
			t.Errorf("bounce on a migrated row: %q, %v", got, err)
		}
	})
}
