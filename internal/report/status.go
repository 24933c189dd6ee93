package report

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/hikyaku/hikyaku/internal/store"
)

// StatusJSON is `campaign status --json`.
type StatusJSON struct {
	Campaign     campaignRef         `json:"campaign"`
	Recipients   int                 `json:"recipients"`
	States       map[store.State]int `json:"states"`
	Done         int                 `json:"done"`
	PercentDone  float64             `json:"percent_done"`
	Classes      map[string]int      `json:"classes"` // final codes by the table's class
	Codes        map[string]int      `json:"codes"`   // final codes
	Attempts     int                 `json:"attempts"`
	FirstAttempt *time.Time          `json:"first_attempt,omitempty"`
	LastAttempt  *time.Time          `json:"last_attempt,omitempty"`
	LastMinute   struct {
		Attempts  int     `json:"attempts"`
		Delivered int     `json:"delivered"`
		PerSecond float64 `json:"per_second"`
	} `json:"last_minute"`
}

// stateOrder is the order states are shown in: final ones first.
var stateOrder = []store.State{store.StateSent, store.StateFailed, store.StateInvalid,
	store.StateSuppressed, store.StateClaimed, store.StatePending}

// Status prints one campaign's recipients per state, its final codes by
// class and its attempts overall and in the last minute: a table, or JSON.
func Status(ctx context.Context, st *store.Store, c store.Campaign, stdout io.Writer, asJSON bool) error {
	// The counts the store keeps (campaign_counts), not a walk of the rows.
	prog, err := st.CountedProgress(ctx, c.ID)
	if err != nil {
		return err
	}
	finals, _, err := st.CountedCodes(ctx, c.ID)
	if err != nil {
		return err
	}
	now := time.Now()
	as, err := st.CountedAttemptStats(ctx, c.ID, now.Add(-time.Minute))
	if err != nil {
		return err
	}
	out := StatusJSON{Campaign: refOf(c), Recipients: sum(prog), States: prog, Attempts: as.Attempts,
		Classes: map[string]int{}, Codes: map[string]int{}}
	for st, n := range prog {
		if st.Final() {
			out.Done += n
		}
	}
	out.PercentDone = math.Round(percent(out.Done, out.Recipients)*10) / 10
	byClass := map[string]map[int]int{}
	for code, n := range finals {
		cl := classOf(code)
		out.Classes[cl] += n
		out.Codes[strconv.Itoa(code)] = n
		if byClass[cl] == nil {
			byClass[cl] = map[int]int{}
		}
		byClass[cl][code] = n
	}
	if !as.First.IsZero() {
		out.FirstAttempt, out.LastAttempt = &as.First, &as.Last
	}
	out.LastMinute.Attempts, out.LastMinute.Delivered = as.Recent, as.RecentDelivered
	out.LastMinute.PerSecond = float64(as.Recent) / 60
	if asJSON {
		return writeJSON(stdout, out)
	}

	fmt.Fprintf(stdout, "campaign %d %q: %s, created %s\n", c.ID, c.Name, c.State, clock(c.Created))
	t := newTable(1)
	t.add("recipients", itoa(out.Recipients), "")
	for _, s := range stateOrder {
		t.add("  "+string(s), itoa(prog[s]), pct(prog[s], out.Recipients))
	}
	t.add("done", itoa(out.Done), pct(out.Done, out.Recipients))
	if err := t.flush(stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "final codes by class:")
	t = newTable(1)
	for _, cl := range classOrder {
		if n := out.Classes[cl]; n > 0 {
			t.add("  "+cl, itoa(n), codeList(byClass[cl]))
		}
	}
	if len(out.Classes) == 0 {
		t.add("  (none yet)")
	}
	if err := t.flush(stdout); err != nil {
		return err
	}
	if as.Attempts == 0 {
		_, err = fmt.Fprintln(stdout, "attempts: none yet")
		return err
	}
	fmt.Fprintf(stdout, "attempts: %d, first %s, last %s\n", as.Attempts, clock(as.First), clock(as.Last))
	_, err = fmt.Fprintf(stdout, "last minute: %d attempts, %d delivered (%.1f/s)\n",
		as.Recent, as.RecentDelivered, out.LastMinute.PerSecond)
	return err
}
