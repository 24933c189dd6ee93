package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/outcome"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// finishing is one final outcome in a score scenario.
type finishing struct {
	code     int
	enhanced string
	weight   codes.Tenths
}

func TestScores(t *testing.T) {
	tenSoft := make([]finishing, 10)
	for i := range tenSoft {
		tenSoft[i] = finishing{552, "5.2.2", 1}
	}
	cases := []struct {
		name      string
		why       string
		threshold codes.Tenths // 0: the default 1.0
		addrs     []string     // one recipient each, finished in order with steps
		steps     []finishing
		score     codes.Tenths
		suppress  bool
	}{
		{name: "ten 0.1 weights make exactly 1.0",
			why:   "docs/spec.md §4 keeps tenths as integers so that ten 552s reach the threshold, not 0.9999",
			steps: tenSoft, score: 10, suppress: true},
		{name: "nine 0.1 weights stay under",
			why:   "the threshold is reached, not approached",
			steps: tenSoft[:9], score: 9},
		{name: "250 resets the score",
			why:   "a delivery proves the address works; older failures no longer count",
			steps: []finishing{{550, "5.1.1", 5}, {552, "5.2.2", 1}, {250, "2.0.0", 0}}, score: 0},
		{name: "score after a reset counts from zero",
			why:   "the reset is to 0, not a mark that stops counting",
			steps: []finishing{{550, "5.1.1", 9}, {250, "2.0.0", 0}, {550, "5.1.1", 9}}, score: 9},
		{name: "a zero weight changes nothing",
			why:   "500-504 point at our side and must not blame the address",
			steps: []finishing{{502, "5.5.2", 0}, {623, "4.4.2", 0}}, score: 0},
		{name: "one hard failure suppresses",
			why:   "550 weighs 1.0, the default threshold",
			steps: []finishing{{550, "5.1.1", 10}}, score: 10, suppress: true},
		{name: "a lower threshold from Options",
			why:       "the threshold is configurable; 801 weighs 0.5",
			threshold: 5, steps: []finishing{{801, "5.2.1", 5}}, score: 5, suppress: true},
		{name: "addresses differing only in case share one score",
			why:   "scores are keyed by the lower-cased address",
			addrs: []string{"Case@Example.JP", "case@example.jp"},
			steps: []finishing{{550, "5.1.1", 5}, {550, "5.1.1", 5}}, score: 10, suppress: true},
		{name: "a 250 after suppression does not lift it",
			why:   "suppression is lifted by a person (Unsuppress), not by chance",
			steps: []finishing{{550, "5.1.1", 10}, {250, "2.0.0", 0}}, score: 0, suppress: true},
	}
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		stores := map[codes.Tenths]*Store{}
		for _, c := range cases {
			if stores[c.threshold] == nil {
				stores[c.threshold] = openT(t, dsn, Options{Threshold: c.threshold})
			}
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s := stores[c.threshold]
				addr := fmt.Sprintf("case%d@example.jp", i)
				addrs := c.addrs
				if addrs == nil {
					for range c.steps {
						addrs = append(addrs, addr)
					}
				} else {
					addr = addrs[0]
				}
				// One campaign per step: the weight counts once per
				// recipient and message, so repeats need new messages.
				for j, f := range c.steps {
					_, ids := campaignWith(t, s, addrs[j])
					if err := s.Finish(ctx, ids[0], result(f.code, f.enhanced), f.weight); err != nil {
						t.Fatalf("step %d: %v", j, err)
					}
				}
				score, err := s.Score(ctx, addr)
				if err != nil {
					t.Fatal(err)
				}
				sup, err := s.Suppressed(ctx, addr)
				if err != nil {
					t.Fatal(err)
				}
				if score != c.score || sup != c.suppress {
					t.Errorf("score %v suppressed %v, want %v %v (%s)", score, sup, c.score, c.suppress, c.why)
				}
			})
		}
	})
}

// A weight is counted once per recipient: a second Finish (a worker whose
// lease ran out finishing late, or a retry after -102 whose first try had
// committed) changes nothing and says so.
func TestFinishOnce(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		cid, ids := campaignWith(t, s, "twice@example.jp", "batch1@example.jp", "batch2@example.jp")
		if err := s.Finish(ctx, ids[0], result(552, "5.2.2"), 1); err != nil {
			t.Fatal(err)
		}
		if err := s.Finish(ctx, ids[0], result(552, "5.2.2"), 1); !errors.Is(err, ErrFinished) {
			t.Errorf("second Finish: %v, want ErrFinished", err)
		}
		if sc, _ := s.Score(ctx, "twice@example.jp"); sc != 1 {
			t.Errorf("score %v after Finish twice, want 0.1", sc)
		}
		if err := s.Finish(ctx, 987654, result(250, ""), 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown recipient: %v, want ErrNotFound", err)
		}
		// A batch skips what is finished and does the rest.
		done, err := s.FinishBatch(ctx, []Final{
			{RecipientID: ids[0], Result: result(550, "5.1.1"), Weight: 10},
			{RecipientID: ids[1], Result: result(250, "2.0.0")},
			{RecipientID: ids[2], Result: result(550, "5.1.1"), Weight: 10},
		})
		if err != nil || done != 2 {
			t.Fatalf("FinishBatch = %d, %v; want 2, nil", done, err)
		}
		if sup, _ := s.Suppressed(ctx, "twice@example.jp"); sup {
			t.Error("a skipped batch entry still counted")
		}
		if sup, _ := s.Suppressed(ctx, "batch2@example.jp"); !sup {
			t.Error("batch entry did not suppress")
		}
		r := recipient(t, s, cid, 2)
		if r.State != StateSent || r.FinalCode != 250 || r.FinalEnhanced != "2.0.0" || r.FinalText == "" {
			t.Errorf("batch recipient: %+v", r)
		}
		// A batch with an unknown id writes none of itself.
		_, cids := campaignWith(t, s, "atomic@example.jp")
		_, err = s.FinishBatch(ctx, []Final{{RecipientID: cids[0], Result: result(550, ""), Weight: 10},
			{RecipientID: 987654, Result: result(250, "")}})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("batch with unknown id: %v", err)
		}
		if sc, _ := s.Score(ctx, "atomic@example.jp"); sc != 0 {
			t.Errorf("failed batch left score %v", sc)
		}
	})
}

func TestSuppressionList(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		cid, ids := campaignWith(t, s, "a@example.jp", "Unsub@Example.JP", "c@example.jp", "d@example.jp")
		if err := s.Suppress(ctx, "unsub@example.jp", "List-Unsubscribe"); err != nil {
			t.Fatal(err)
		}
		if err := s.Suppress(ctx, "UNSUB@example.jp", "again"); err != nil {
			t.Fatalf("suppressing twice: %v", err)
		}
		// A suppressed address is not handed to a worker; it is marked so
		// that reports show it.
		got, err := s.Claim(ctx, cid, "w", 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].ID != ids[0] || got[1].ID != ids[2] || got[2].ID != ids[3] {
			t.Errorf("claimed %+v, want rows 1, 3, 4", got)
		}
		if r := recipient(t, s, cid, 2); r.State != StateSuppressed {
			t.Errorf("suppressed row state %q", r.State)
		}
		// Unsuppress lifts it and resets the score, so one soft failure
		// does not put it straight back.
		if err := s.Finish(ctx, ids[0], result(550, "5.1.1"), 10); err != nil {
			t.Fatal(err)
		}
		was, err := s.Unsuppress(ctx, "A@example.jp")
		if err != nil || !was {
			t.Fatalf("Unsuppress = %v, %v", was, err)
		}
		if sup, _ := s.Suppressed(ctx, "a@example.jp"); sup {
			t.Error("still suppressed")
		}
		if sc, _ := s.Score(ctx, "a@example.jp"); sc != 0 {
			t.Errorf("score %v after Unsuppress", sc)
		}
		if was, _ := s.Unsuppress(ctx, "nobody@example.jp"); was {
			t.Error("Unsuppress of an unlisted address said it was listed")
		}
	})
}

// A batch gives the same scores as the same Finish calls one by one.
func TestFinishBatchOrder(t *testing.T) {
	cases := []struct {
		name     string
		why      string
		steps    []finishing // one address, one campaign per step, all in one batch
		score    codes.Tenths
		suppress bool
	}{
		{name: "550 then 250 in one batch",
			why:   "the 550 suppresses before the 250 resets; set-wise statements would lose the order",
			steps: []finishing{{550, "5.1.1", 10}, {250, "2.0.0", 0}}, score: 0, suppress: true},
		{name: "250 then 550 in one batch",
			why:   "the reset comes first, the failure counts after it",
			steps: []finishing{{250, "2.0.0", 0}, {550, "5.1.1", 10}}, score: 10, suppress: true},
		{name: "ten 0.1 weights in one batch",
			why: "repeats of an address add up, not overwrite",
			steps: []finishing{{552, "", 1}, {552, "", 1}, {552, "", 1}, {552, "", 1}, {552, "", 1},
				{552, "", 1}, {552, "", 1}, {552, "", 1}, {552, "", 1}, {552, "", 1}}, score: 10, suppress: true},
	}
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				addr := fmt.Sprintf("batch%d@example.jp", i)
				var fs []Final
				for _, f := range c.steps {
					_, ids := campaignWith(t, s, addr)
					fs = append(fs, Final{RecipientID: ids[0], Result: result(f.code, f.enhanced), Weight: f.weight})
				}
				if done, err := s.FinishBatch(ctx, fs); err != nil || done != len(fs) {
					t.Fatalf("FinishBatch = %d, %v", done, err)
				}
				score, _ := s.Score(ctx, addr)
				sup, _ := s.Suppressed(ctx, addr)
				if score != c.score || sup != c.suppress {
					t.Errorf("score %v suppressed %v, want %v %v (%s)", score, sup, c.score, c.suppress, c.why)
				}
			})
		}
		t.Run("a batch larger than one statement, with a repeated id", func(t *testing.T) {
			addrs := make([]string, 450)
			for i := range addrs {
				addrs[i] = fmt.Sprintf("big%d@example.jp", i)
			}
			cid, ids := campaignWith(t, s, addrs...)
			var fs []Final
			for i, id := range ids {
				f := Final{RecipientID: id, Result: result(250, "2.0.0")}
				if i%3 == 0 {
					f = Final{RecipientID: id, Result: result(550, "5.1.1"), Weight: 10}
				}
				fs = append(fs, f)
			}
			fs = append(fs, Final{RecipientID: ids[1], Result: result(550, "5.1.1"), Weight: 10})
			if done, err := s.FinishBatch(ctx, fs); err != nil || done != 450 {
				t.Fatalf("FinishBatch = %d, %v; want 450", done, err)
			}
			counts, err := s.Counts(ctx, cid)
			if err != nil || counts[250] != 300 || counts[550] != 150 {
				t.Errorf("Counts = %v, %v", counts, err)
			}
			if sup, _ := s.Suppressed(ctx, "big1@example.jp"); sup {
				t.Error("the repeated id's second outcome was counted")
			}
			if sup, _ := s.Suppressed(ctx, "big447@example.jp"); !sup {
				t.Error("a 550 in the last statement did not suppress")
			}
		})
	})
}

// MarkDot survives a release and a new claim; the attempt's record clears
// it. Commit writes dots, attempts and finals together.
func TestMarkDotAndCommit(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		id, err := s.CreateCampaign(ctx, Campaign{Name: "dots"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddRecipients(ctx, id, []Recipient{{Row: 1, Email: "a@x.test"}, {Row: 2, Email: "b@x.test"}}); err != nil {
			t.Fatal(err)
		}
		rs, err := s.Claim(ctx, id, "w1", 2, time.Minute)
		if err != nil || len(rs) != 2 {
			t.Fatalf("claim: %v %v", rs, err)
		}
		if err := s.MarkDot(ctx, rs[0].ID, rs[1].ID); err != nil {
			t.Fatal(err)
		}
		// b's reply is recorded (a 451), a's is not: w1 dies.
		if _, err := s.Commit(ctx, Batch{Attempts: []Attempt{{RecipientID: rs[1].ID, Result: outcome.Result{Code: 451}}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Release(ctx, id, "w1"); err != nil {
			t.Fatal(err)
		}
		again, err := s.Claim(ctx, id, "w2", 2, time.Minute)
		if err != nil || len(again) != 2 {
			t.Fatalf("claim again: %v %v", again, err)
		}
		if again[0].DotAt.IsZero() || !again[1].DotAt.IsZero() || again[1].Attempts != 1 {
			t.Errorf("a: dot %v; b: dot %v attempts %d; want a marked, b cleared by its attempt", again[0].DotAt, again[1].DotAt, again[1].Attempts)
		}
		n, err := s.Commit(ctx, Batch{
			Attempts: []Attempt{{RecipientID: again[1].ID, Result: outcome.Result{Code: 250}}},
			Finals: []Final{{RecipientID: again[0].ID, Result: outcome.Result{Code: 625, MaybeDelivered: true}},
				{RecipientID: again[1].ID, Result: outcome.Result{Code: 250}}},
		})
		if err != nil || n != 2 {
			t.Fatalf("commit: %d %v", n, err)
		}
		prog, _ := s.Progress(ctx, id)
		if prog[StateSent] != 1 || prog[StateFailed] != 1 {
			t.Errorf("progress %v", prog)
		}
	})
}
