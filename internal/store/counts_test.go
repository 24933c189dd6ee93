package store

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/outcome"
)

// countRows is campaign_counts as sorted lines, the empty groups left out.
func countRows(t *testing.T, s *Store, q string) []string {
	t.Helper()
	rows, err := s.db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var (
			cid, n               int64
			st, dom, enh, reason string
			code, async          int
		)
		if err := rows.Scan(&cid, &st, &dom, &code, &enh, &reason, &async, &n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			out = append(out, fmt.Sprintf("%d|%s|%s|%d|%s|%s|%d|%d", cid, st, dom, code, enh, reason, async, n))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func attemptRows(t *testing.T, s *Store, q string) []string {
	t.Helper()
	rows, err := s.db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var (
			cid, n int64
			host   string
			code   int
		)
		if err := rows.Scan(&cid, &host, &code, &n); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d|%s|%d|%d", cid, host, code, n))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func groupLines(gs []Group) []string {
	var out []string
	for _, g := range gs {
		out = append(out, fmt.Sprintf("%s|%d|%s|%s|%v|%d", g.Domain, g.Code, g.Enhanced, g.Reason, g.Async, g.N))
	}
	slices.Sort(out)
	return out
}

// checkCounts fails unless campaign_counts says what the recipients say:
// the table against a GROUP BY of the rows, and the Counted readers
// against the existing ones that walk the rows.
func checkCounts(t *testing.T, s *Store, step string, cids ...int64) {
	t.Helper()
	ctx := context.Background()
	got := countRows(t, s, `SELECT `+countCols+` FROM campaign_counts`)
	want := countRows(t, s, groupedRecipients)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: campaign_counts\n  %s\nthe rows say\n  %s", step, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if got, want := attemptRows(t, s, `SELECT campaign_id, mx_host, code, n FROM campaign_attempt_counts`),
		attemptRows(t, s, groupedAttempts); !slices.Equal(got, want) {
		t.Fatalf("%s: campaign_attempt_counts %v, the attempts say %v", step, got, want)
	}
	all, err := s.ProgressAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counted, err := s.CountedStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, cid := range cids {
		cg, err := s.CountedGroups(ctx, cid)
		if err != nil {
			t.Fatal(err)
		}
		g, err := s.CampaignGroups(ctx, cid)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := groupLines(cg), groupLines(g); !slices.Equal(a, b) {
			t.Fatalf("%s: campaign %d: CountedGroups %v, CampaignGroups %v", step, cid, a, b)
		}
		for _, c := range []struct {
			name     string
			got, was func(context.Context, int64) (any, error)
		}{
			{"by domain", func(ctx context.Context, id int64) (any, error) { return s.CountedByDomain(ctx, id) },
				func(ctx context.Context, id int64) (any, error) { return s.CountsByDomain(ctx, id) }},
			{"by reason", func(ctx context.Context, id int64) (any, error) { return s.CountedByReason(ctx, id) },
				func(ctx context.Context, id int64) (any, error) { return s.CountsByReason(ctx, id) }},
			{"codes", func(ctx context.Context, id int64) (any, error) {
				f, a, err := s.CountedCodes(ctx, id)
				return fmt.Sprint(f, a), err
			}, func(ctx context.Context, id int64) (any, error) {
				f, err := s.Counts(ctx, id)
				if err != nil {
					return nil, err
				}
				a, err := s.CountsAsync(ctx, id)
				return fmt.Sprint(f, a), err
			}},
		} {
			got, err := c.got(ctx, cid)
			if err != nil {
				t.Fatal(err)
			}
			was, err := c.was(ctx, cid)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := fmt.Sprint(got), fmt.Sprint(was); g != w && !(g == "[]" && w == "[]") {
				t.Fatalf("%s: campaign %d %s: counted %s, from the rows %s", step, cid, c.name, g, w)
			}
		}
		since := time.Now().Add(-time.Minute)
		cas, err := s.CountedAttemptStats(ctx, cid, since)
		if err != nil {
			t.Fatal(err)
		}
		as, err := s.AttemptStats(ctx, cid, since)
		if err != nil {
			t.Fatal(err)
		}
		if cas != as {
			t.Fatalf("%s: campaign %d: CountedAttemptStats %+v, AttemptStats %+v", step, cid, cas, as)
		}
		cmx, err := s.CountedByMX(ctx, cid)
		if err != nil {
			t.Fatal(err)
		}
		mx, err := s.CountsByMX(ctx, cid)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(cmx) != fmt.Sprint(mx) {
			t.Fatalf("%s: campaign %d: CountedByMX %v, CountsByMX %v", step, cid, cmx, mx)
		}
		cp, err := s.CountedProgress(ctx, cid)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Progress(ctx, cid)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(cp) != fmt.Sprint(p) {
			t.Fatalf("%s: campaign %d: CountedProgress %v, Progress %v", step, cid, cp, p)
		}
		open := all[cid][StatePending] + all[cid][StateClaimed]
		if counted[cid][""] != open {
			t.Fatalf("%s: campaign %d: CountedStates open %d, pending+claimed %d", step, cid, counted[cid][""], open)
		}
		for st, n := range all[cid] {
			if st.Final() && counted[cid][st] != n {
				t.Fatalf("%s: campaign %d: CountedStates %s %d, ProgressAll %d", step, cid, st, counted[cid][st], n)
			}
		}
	}
}

// A random workload of loads (with rows loaded twice and invalid rows),
// claims, finals in batches, bounces that replace finals (duplicates
// among them, complaints), suppressions by hand and by score, and
// releases: after every step campaign_counts equals the GROUP BY of the
// recipients.
func TestCountsFollowRecipients(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		seed := time.Now().UnixNano()
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewSource(seed))
		domains := []string{"a.example", "b.example", "C.Example", "d.example"}
		email := func(i int) string { return fmt.Sprintf("u%d@%s", i%40, domains[i%len(domains)]) }
		var cids []int64
		names := map[int64]string{}
		rows := map[int64]int64{} // the campaign's highest row loaded
		load := func(cid int64, from, n int) {
			var rs []Recipient
			for i := from; i < from+n; i++ {
				r := Recipient{Row: int64(i), Email: email(i + int(cid))}
				if rng.Intn(10) == 0 {
					r.State, r.FinalCode, r.FinalEnhanced = StateInvalid, 800, ""
				}
				rs = append(rs, r)
			}
			if len(rs) > 1 && rng.Intn(3) == 0 {
				rs = append(rs, rs[0]) // a row twice in one call
			}
			if err := s.AddRecipients(ctx, cid, rs); err != nil {
				t.Fatal(err)
			}
			rows[cid] = max(rows[cid], int64(from+n-1))
		}
		for i := range 2 {
			name := fmt.Sprint("counts-", i)
			cid, err := s.CreateCampaign(ctx, Campaign{Name: name, ListPath: "l.tsv"})
			if err != nil {
				t.Fatal(err)
			}
			cids, names[cid] = append(cids, cid), name
			load(cid, 1, 30)
		}
		checkCounts(t, s, "load", cids...)
		claimed := map[int64][]int64{} // by campaign: ids claimed and not finished by this test
		finals := []outcome.Result{
			{Code: 250, Enhanced: "2.0.0"}, {Code: 250, Enhanced: "2.0.0", Reason: "delivered"},
			{Code: 550, Enhanced: "5.1.1", Reason: "userunknown"}, {Code: 450, Enhanced: "4.2.0"},
			{Code: 552, Enhanced: "5.2.2", Reason: "mailboxfull"}, {Code: 700},
		}
		weight := map[int]int{550: 10, 552: 5, 700: 3}
		bounces := []Bounce{
			bounceOf(550, "5.1.1", "userunknown", "recipient", ""), bounceOf(552, "5.2.2", "mailboxfull", "recipient", ""),
			bounceOf(450, "4.0.0", "expired", "network", ""), bounceOf(-500, "", "undefined", "unknown", ""),
			bounceOf(250, "2.0.0", "", "", ""), bounceOf(421, "4.7.0", "", "network", ""),
		}
		for step := range 120 {
			cid := cids[rng.Intn(len(cids))]
			var what string
			switch k := rng.Intn(10); {
			case k < 3:
				what = "claim"
				got, err := s.Claim(ctx, cid, fmt.Sprint("w", rng.Intn(2)), 1+rng.Intn(12), time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range got {
					if !slices.Contains(claimed[cid], r.ID) {
						claimed[cid] = append(claimed[cid], r.ID)
					}
				}
			case k < 6:
				what = "finals"
				var b Batch
				ids := claimed[cid]
				rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
				n := min(len(ids), 1+rng.Intn(10))
				for _, id := range ids[:n] {
					r := finals[rng.Intn(len(finals))]
					r.Text = "reply"
					b.Finals = append(b.Finals, Final{RecipientID: id, Result: r, Weight: codes.Tenths(weight[r.Code])})
					a := Attempt{RecipientID: id, Result: r}
					a.Result.Host = []string{"", "mx1.a.example", "mx2.a.example"}[rng.Intn(3)]
					b.Attempts = append(b.Attempts, a)
					if rng.Intn(4) == 0 {
						b.Attempts = append(b.Attempts, a) // two attempts of one recipient
					}
				}
				if n > 0 && rng.Intn(3) == 0 {
					b.Finals = append(b.Finals, b.Finals[0]) // a repeat in the batch is skipped
				}
				claimed[cid] = ids[n:]
				if _, err := s.Commit(ctx, b); err != nil {
					t.Fatal(err)
				}
			case k < 8:
				what = "bounces"
				var bs []Bounce
				for range 1 + rng.Intn(6) {
					b := bounces[rng.Intn(len(bounces))]
					b.Campaign, b.Row = names[cid], 1+rng.Int63n(rows[cid]+1) // the row after the last: none
					b.Key = fmt.Sprint("k", rng.Intn(4))                      // few keys: duplicates
					b.Complaint = rng.Intn(12) == 0
					bs = append(bs, b)
				}
				if _, err := s.RecordBounces(ctx, bs); err != nil {
					t.Fatal(err)
				}
			case k < 9:
				what = "suppress"
				if err := s.Suppress(ctx, email(rng.Intn(80)), "by hand"); err != nil {
					t.Fatal(err)
				}
			default:
				if rng.Intn(2) == 0 {
					what = "release"
					if _, err := s.Release(ctx, cid, fmt.Sprint("w", rng.Intn(2))); err != nil {
						t.Fatal(err)
					}
					claimed[cid] = nil
				} else {
					what = "load again"
					load(cid, int(rows[cid])-5, 10) // five rows there already
				}
			}
			checkCounts(t, s, fmt.Sprintf("step %d (%s, campaign %d)", step, what, cid), cids...)
		}
		// The migration's fill gives what the transactions kept.
		want := countRows(t, s, `SELECT `+countCols+` FROM campaign_counts`)
		wantAttempts := attemptRows(t, s, `SELECT campaign_id, mx_host, code, n FROM campaign_attempt_counts`)
		for _, q := range []string{`DROP TABLE campaign_counts`, `DROP TABLE campaign_attempt_counts`,
			`DELETE FROM schema_version WHERE version >= 5`} {
			if _, err := s.db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if got := countRows(t, s, `SELECT `+countCols+` FROM campaign_counts`); !slices.Equal(got, want) {
			t.Fatalf("after the migration: %v, want %v", got, want)
		}
		if got := attemptRows(t, s, `SELECT campaign_id, mx_host, code, n FROM campaign_attempt_counts`); !slices.Equal(got, wantAttempts) || len(got) == 0 {
			t.Fatalf("after the migration: attempts %v, want %v", got, wantAttempts)
		}
		checkCounts(t, s, "migrated", cids...)
		// Recount makes one campaign's counts again from its rows.
		for _, table := range []string{"campaign_counts", "campaign_attempt_counts"} {
			if _, err := s.db.Exec(`UPDATE `+table+` SET n = n + 7 WHERE campaign_id = ?`, cids[0]); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Recount(ctx, cids[0]); err != nil {
			t.Fatal(err)
		}
		checkCounts(t, s, "recounted", cids...)
	})
}

// Workers claiming and finishing one campaign at once, and bounces
// arriving meanwhile (on MySQL, each in its own transaction on its own
// connection): no count is lost or doubled, and no deadlock gets through
// the store's retries.
func TestCountsConcurrent(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		addrs := make([]string, 400)
		for i := range addrs {
			addrs[i] = fmt.Sprintf("u%d@d%d.example", i%150, i%7)
		}
		cid, _ := campaignWith(t, s, addrs...)
		camp, err := s.Campaign(ctx, cid)
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 5)
		for w := range 4 {
			go func() {
				rng := rand.New(rand.NewSource(int64(w)))
				for {
					got, err := s.Claim(ctx, cid, fmt.Sprint("w", w), 20, time.Minute)
					if err != nil || len(got) == 0 {
						errs <- err
						return
					}
					var b Batch
					for _, r := range got {
						res := []outcome.Result{result(250, "2.0.0"), result(550, "5.1.1"), result(452, "4.2.2")}[rng.Intn(3)]
						b.Finals = append(b.Finals, Final{RecipientID: r.ID, Result: res, Weight: codes.Tenths(map[int]int{550: 10, 452: 1}[res.Code])})
					}
					if _, err := s.Commit(ctx, b); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		go func() {
			rng := rand.New(rand.NewSource(9))
			for i := range 60 {
				b := bounceOf(550, "5.1.1", "userunknown", "recipient", fmt.Sprint("b", i%20))
				b.Campaign, b.Row = camp.Name, 1+rng.Int63n(int64(len(addrs)))
				if _, err := s.RecordBounces(ctx, []Bounce{b}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
		for range 5 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		checkCounts(t, s, "after the workers", cid)
	})
}
