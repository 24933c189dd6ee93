package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/outcome"
)

// The read side of `campaign list|status|report|export|suppress`, on a
// campaign whose history is set in time: one address suppressed by hand
// before the campaign, one by its result, one scored below the threshold.
func TestQueries(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		base := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
		now := base.Add(-time.Hour)
		s.now = func() time.Time { return now }
		if err := s.Suppress(ctx, "c@y.jp", "hand entry before the campaign"); err != nil {
			t.Fatal(err)
		}
		now = base
		cid, ids := campaignWith(t, s, "a@x.jp", "b@x.jp", "c@y.jp", "d@y.jp")
		other, _ := campaignWith(t, s, "e@z.jp")
		empty, err := s.CreateCampaign(ctx, Campaign{Name: "empty"})
		if err != nil {
			t.Fatal(err)
		}

		all, err := s.ProgressAll(ctx)
		if err != nil || fmt.Sprint(all[cid]) != "map[pending:4]" || fmt.Sprint(all[other]) != "map[pending:1]" || all[empty] != nil {
			t.Fatalf("ProgressAll before sending = %v, %v", all, err)
		}

		at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
		res := func(code int, host string) outcome.Result {
			return outcome.Result{Code: code, Enhanced: "x", Text: "reply", Host: host, IP: "192.0.2.7"}
		}
		if err := s.RecordAttempt(ctx,
			Attempt{RecipientID: ids[0], At: at(0), Result: res(451, "mx1.x.jp")},
			Attempt{RecipientID: ids[1], At: at(1), Result: res(550, "mx1.x.jp")},
			Attempt{RecipientID: ids[0], At: at(2), Result: res(250, "mx2.x.jp")},
			Attempt{RecipientID: ids[3], At: at(2), Result: res(552, "mx.y.jp")},
			Attempt{RecipientID: ids[2], At: at(2), Result: res(550, "mx-a.y.jp")},
			// Same start time as the one before: the later row is the latest.
			Attempt{RecipientID: ids[2], At: at(2), Result: res(550, "mx-b.y.jp")},
		); err != nil {
			t.Fatal(err)
		}
		now = at(3)
		if _, err := s.FinishBatch(ctx, []Final{
			{RecipientID: ids[0], Result: res(250, "mx2.x.jp")},
			{RecipientID: ids[1], Result: res(550, "mx1.x.jp"), Weight: 10},
			{RecipientID: ids[2], Result: res(550, "mx-b.y.jp"), Weight: 10},
			{RecipientID: ids[3], Result: res(552, "mx.y.jp"), Weight: 1},
		}); err != nil {
			t.Fatal(err)
		}

		all, err = s.ProgressAll(ctx)
		if err != nil || fmt.Sprint(all[cid]) != "map[failed:3 sent:1]" || fmt.Sprint(all[other]) != "map[pending:1]" {
			t.Errorf("ProgressAll after sending = %v, %v", all, err)
		}

		st, err := s.AttemptStats(ctx, cid, at(2))
		want := AttemptStats{Attempts: 6, First: at(0), Last: at(2), Recent: 4, RecentDelivered: 1}
		if err != nil || st.Attempts != want.Attempts || !st.First.Equal(want.First) || !st.Last.Equal(want.Last) ||
			st.Recent != want.Recent || st.RecentDelivered != want.RecentDelivered {
			t.Errorf("AttemptStats = %+v, %v\nwant %+v", st, err, want)
		}
		if st, err := s.AttemptStats(ctx, other, at(0)); err != nil || st != (AttemptStats{}) {
			t.Errorf("AttemptStats with no attempts = %+v, %v", st, err)
		}

		// b@x.jp was suppressed by this campaign; c@y.jp was on the list
		// before it; d@y.jp's 552 is below the threshold.
		if n, err := s.SuppressedBy(ctx, cid); err != nil || n != 1 {
			t.Errorf("SuppressedBy = %d, %v, want 1", n, err)
		}
		if n, err := s.SuppressedBy(ctx, other); err != nil || n != 0 {
			t.Errorf("SuppressedBy(other) = %d, %v, want 0", n, err)
		}

		// More ids than one statement takes, most of them unknown.
		query := []int64{ids[0], ids[1], ids[2], ids[3]}
		for i := range 1200 {
			query = append(query, int64(900000+i))
		}
		last, err := s.LastAttempts(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, id := range ids {
			a := last[id]
			got = append(got, fmt.Sprintf("%d %s %s %s", a.Code, a.MXHost, a.IP, a.At.UTC().Format("15:04")))
		}
		wantLast := "[250 mx2.x.jp 192.0.2.7 09:02 550 mx1.x.jp 192.0.2.7 09:01 550 mx-b.y.jp 192.0.2.7 09:02 552 mx.y.jp 192.0.2.7 09:02]"
		if fmt.Sprint(got) != wantLast || len(last) != 4 {
			t.Errorf("LastAttempts = %v (%d entries)\nwant %s", got, len(last), wantLast)
		}

		now = at(10)
		if err := s.Suppress(ctx, "Zed@Hand.JP", "manual"); err != nil {
			t.Fatal(err)
		}
		var pages [][]string
		for after := ""; ; {
			page, err := s.Suppressions(ctx, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			var line []string
			for _, p := range page {
				line = append(line, fmt.Sprintf("%s|%s|%s|%s", p.Address, p.Since.UTC().Format("15:04"), p.Score, p.Reason))
				after = p.Address
			}
			pages = append(pages, line)
		}
		wantPages := "[[b@x.jp|09:03|1|score 1 reached threshold 1 (last 550 x) c@y.jp|08:00|1|hand entry before the campaign] [zed@hand.jp|09:10|0|manual]]"
		if fmt.Sprint(pages) != wantPages {
			t.Errorf("Suppressions pages = %v\nwant %s", pages, wantPages)
		}
		if p, ok, err := s.SuppressionOf(ctx, "ZED@hand.jp"); err != nil || !ok || p.Reason != "manual" || !p.Since.Equal(at(10)) {
			t.Errorf("SuppressionOf(listed) = %+v, %v, %v", p, ok, err)
		}
		if p, ok, err := s.SuppressionOf(ctx, "a@x.jp"); err != nil || ok {
			t.Errorf("SuppressionOf(not listed) = %+v, %v, %v", p, ok, err)
		}
	})
}
