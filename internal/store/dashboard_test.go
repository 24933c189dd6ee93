package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/hikyaku/hikyaku/internal/outcome"
)

// SearchSuppressions gives the entries with the prefix, in order, a page
// at a time, the prefix itself included; AddressHistory gives an
// address's rows of every campaign, newest first.
func TestDashboardQueries(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		for _, a := range []string{"ab@x.test", "ab", "abc@x.test", "abd@x.test", "b@x.test", "Abe@X.test"} {
			if err := s.Suppress(ctx, a, "hand"); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		after := ""
		for page := 0; page < 10; page++ {
			ps, err := s.SearchSuppressions(ctx, "AB", after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) == 0 {
				break
			}
			for _, p := range ps {
				got = append(got, p.Address)
			}
			after = ps[len(ps)-1].Address
		}
		if want := "[ab ab@x.test abc@x.test abd@x.test abe@x.test]"; fmt.Sprint(got) != want {
			t.Errorf("search ab: %v, want %s", got, want)
		}
		if n, err := s.SuppressionCount(ctx); err != nil || n != 6 {
			t.Errorf("count %d %v", n, err)
		}

		c1, ids1 := campaignWith(t, s, "Who@x.test", "other@x.test")
		c2, ids2 := campaignWith(t, s, "who@x.test")
		if _, err := s.FinishBatch(ctx, []Final{{RecipientID: ids1[0], Result: outcome.Result{Code: 550, Enhanced: "5.1.1", Text: "no"}, Weight: 10}}); err != nil {
			t.Fatal(err)
		}
		h, err := s.AddressHistory(ctx, "WHO@x.test", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 2 || h[0].CampaignID != c2 || h[1].CampaignID != c1 || h[1].FinalCode != 550 ||
			h[1].FinalReason != ReasonOf(550, "5.1.1", "") || h[0].State != StatePending || h[0].Row != 1 {
			t.Errorf("history %+v (ids %v %v)", h, ids1, ids2)
		}
		gs, err := s.CampaignGroups(ctx, c1)
		if err != nil || len(gs) != 1 || gs[0].Code != 550 || gs[0].N != 1 || gs[0].Domain != "x.test" {
			t.Errorf("groups %+v %v", gs, err)
		}
		sup, err := s.CampaignSuppressions(ctx, c1, 10)
		if err != nil || len(sup) != 1 || sup[0].Address != "who@x.test" {
			t.Errorf("campaign suppressions %+v %v", sup, err)
		}
		sc, err := s.CampaignScores(ctx, c1)
		if err != nil || len(sc) != 1 || sc[0].Score != 10 || sc[0].N != 1 {
			t.Errorf("campaign scores %+v %v", sc, err)
		}
	})
}
