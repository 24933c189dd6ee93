package campaignctl

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/store"
)

// printCampaignSummary prints the final codes so far with their meaning.
func printCampaignSummary(ctx context.Context, st *store.Store, c store.Campaign, w io.Writer, asJSON bool) error {
	counts, err := st.Counts(ctx, c.ID)
	if err != nil {
		return err
	}
	prog, err := st.Progress(ctx, c.ID)
	if err != nil {
		return err
	}
	c, err = st.Campaign(ctx, c.ID)
	if err != nil {
		return err
	}
	if asJSON {
		type codeCount struct {
			Code    int    `json:"code"`
			Count   int    `json:"count"`
			Meaning string `json:"meaning"`
		}
		out := struct {
			Campaign string         `json:"campaign"`
			State    string         `json:"state"`
			States   map[string]int `json:"states"`
			Codes    []codeCount    `json:"codes"`
		}{Campaign: c.Name, State: string(c.State), States: map[string]int{}}
		for s, n := range prog {
			out.States[string(s)] = n
		}
		for _, code := range slices.Sorted(maps.Keys(counts)) {
			m, _ := codes.LookupCode(code)
			out.Codes = append(out.Codes, codeCount{code, counts[code], m.EN})
		}
		b, _ := json.Marshal(out)
		_, err := fmt.Fprintf(w, "%s\n", b)
		return err
	}
	fmt.Fprintf(w, "campaign %s: %s\n", c.Name, c.State)
	states := make([]string, 0, len(prog))
	for s, n := range prog {
		states = append(states, fmt.Sprintf("%s %d", s, n))
	}
	sort.Strings(states)
	fmt.Fprintf(w, "recipients: %s\n", strings.Join(states, ", "))
	for _, code := range slices.Sorted(maps.Keys(counts)) {
		m, _ := codes.LookupCode(code)
		fmt.Fprintf(w, "%6d  %-5d %s\n", counts[code], code, m.EN)
	}
	return nil
}
