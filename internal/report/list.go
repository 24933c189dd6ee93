package report

import (
	"context"
	"fmt"
	"io"

	"github.com/hikyaku/hikyaku/internal/store"
)

// ListRow is one line of `campaign list`.
type ListRow struct {
	campaignRef
	Recipients int `json:"recipients"`
	Sent       int `json:"sent"`
	Failed     int `json:"failed"`
	Pending    int `json:"pending"`
	Claimed    int `json:"claimed"`
	Suppressed int `json:"suppressed"`
	Invalid    int `json:"invalid"`
}

// List prints every campaign with its recipients per state: a table, or
// a JSON array.
func List(ctx context.Context, st *store.Store, stdout io.Writer, asJSON bool) error {
	cs, err := st.ListCampaigns(ctx)
	if err != nil {
		return err
	}
	prog, err := st.ProgressAll(ctx)
	if err != nil {
		return err
	}
	rows := make([]ListRow, 0, len(cs))
	for _, c := range cs {
		p := prog[c.ID]
		rows = append(rows, ListRow{campaignRef: refOf(c), Recipients: sum(p),
			Sent: p[store.StateSent], Failed: p[store.StateFailed], Pending: p[store.StatePending],
			Claimed: p[store.StateClaimed], Suppressed: p[store.StateSuppressed], Invalid: p[store.StateInvalid]})
	}
	if asJSON {
		return writeJSON(stdout, rows)
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(stdout, "no campaigns")
		return err
	}
	t := newTable(0, 4, 5, 6, 7, 8, 9, 10)
	t.add("ID", "NAME", "STATE", "CREATED", "TOTAL", "SENT", "FAILED", "PENDING", "CLAIMED", "SUPPRESSED", "INVALID")
	for _, r := range rows {
		t.add(fmt.Sprint(r.ID), r.Name, string(r.State), clock(r.Created), itoa(r.Recipients), itoa(r.Sent),
			itoa(r.Failed), itoa(r.Pending), itoa(r.Claimed), itoa(r.Suppressed), itoa(r.Invalid))
	}
	return t.flush(stdout)
}
