package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/store"
)

// The read side of campaigns: list, status and report (this file and
// campaign_report_by.go), export and suppress (campaign_export.go). They
// only read the status store (suppress add|del excepted), so they run
// while a campaign sends. Every code's meaning comes from the code table.

// storeFromFlag loads --config and opens its status store; a store that
// cannot be opened is a *store.Error carrying -100 or -101.
func storeFromFlag(ctx context.Context, cfgPath string) (*store.Store, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	return openStore(ctx, cfg)
}

// findCampaign finds a campaign by name, else by numeric id.
func findCampaign(ctx context.Context, st *store.Store, ref string) (store.Campaign, error) {
	c, err := st.CampaignByName(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
			c, err = st.Campaign(ctx, id)
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return c, fmt.Errorf("campaign %q not found (`hikyaku campaign list` shows the campaigns)", ref)
	}
	return c, err
}

// parseArgs parses flags wherever they stand among the arguments, so
// that `campaign status spring --json` works; "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// oneCampaignArgs parses the flags of a command that names one campaign.
func oneCampaignArgs(fs *flag.FlagSet, args []string, what string) (string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", usagef("%s needs exactly one campaign NAME or ID", what)
	}
	return pos[0], nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// campaignRef is how JSON output names a campaign.
type campaignRef struct {
	ID      int64               `json:"id"`
	Name    string              `json:"name"`
	State   store.CampaignState `json:"state"`
	Created time.Time           `json:"created"`
}

func refOf(c store.Campaign) campaignRef {
	return campaignRef{ID: c.ID, Name: c.Name, State: c.State, Created: c.Created}
}

// listRow is one line of `campaign list`.
type listRow struct {
	campaignRef
	Recipients int `json:"recipients"`
	Sent       int `json:"sent"`
	Failed     int `json:"failed"`
	Pending    int `json:"pending"`
	Claimed    int `json:"claimed"`
	Suppressed int `json:"suppressed"`
	Invalid    int `json:"invalid"`
}

func runCampaignList(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("campaign list", "campaign list [--config FILE] [--json]", stderr)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "print a JSON array")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("campaign list takes no arguments")
	}
	ctx := context.Background()
	st, err := storeFromFlag(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	cs, err := st.ListCampaigns(ctx)
	if err != nil {
		return err
	}
	prog, err := st.ProgressAll(ctx)
	if err != nil {
		return err
	}
	rows := make([]listRow, 0, len(cs))
	for _, c := range cs {
		p := prog[c.ID]
		rows = append(rows, listRow{campaignRef: refOf(c), Recipients: sum(p),
			Sent: p[store.StateSent], Failed: p[store.StateFailed], Pending: p[store.StatePending],
			Claimed: p[store.StateClaimed], Suppressed: p[store.StateSuppressed], Invalid: p[store.StateInvalid]})
	}
	if *asJSON {
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

// statusJSON is `campaign status --json`.
type statusJSON struct {
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

func runCampaignStatus(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("campaign status", "campaign status [--config FILE] [--json] NAME|ID", stderr)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	ref, err := oneCampaignArgs(fs, args, "campaign status")
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := storeFromFlag(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := findCampaign(ctx, st, ref)
	if err != nil {
		return err
	}
	prog, err := st.Progress(ctx, c.ID)
	if err != nil {
		return err
	}
	finals, err := st.Counts(ctx, c.ID)
	if err != nil {
		return err
	}
	now := time.Now()
	as, err := st.AttemptStats(ctx, c.ID, now.Add(-time.Minute))
	if err != nil {
		return err
	}
	out := statusJSON{Campaign: refOf(c), Recipients: sum(prog), States: prog, Attempts: as.Attempts,
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
	if *asJSON {
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

// classOrder is the order of the classes a final code can be in.
var classOrder = []string{"delivered", "transient", "permanent", "system", "unknown"}

// classOf names a code's class as the code table gives it (a 700 is
// permanent, a 720 transient); a 2xx is "delivered".
func classOf(code int) string {
	switch cl := describe(code).Class; cl {
	case codes.ClassSuccess:
		return "delivered"
	case codes.ClassTransient, codes.ClassPermanent, codes.ClassSystem:
		return cl.String()
	default:
		return "unknown"
	}
}

// describe is the code table's description of a numeric code; codes no
// table lists are described by their digits.
func describe(code int) codes.Description {
	d, err := codes.Describe(strconv.Itoa(code))
	if err != nil {
		return codes.Description{Code: strconv.Itoa(code)}
	}
	return d
}

// meaning is a code's short text from the table in lang.
func meaning(code int, lang string) string {
	d := describe(code)
	if lang == "ja" {
		return d.JA
	}
	return d.EN
}

// codeList formats counts per code as "250×3 550×1".
func codeList(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d×%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func sum[K comparable](m map[K]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func percent(n, total int) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) * 100 / float64(total)
}

func pct(n, total int) string { return fmt.Sprintf("%.1f%%", percent(n, total)) }

func itoa(n int) string { return strconv.Itoa(n) }

// clock formats a time for people, in local time; "-" for none.
func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// table prints aligned columns, measuring Japanese text by its display
// width (tabwriter counts runes, which misaligns wide characters). Columns
// named at creation are right-aligned; the last one is never padded.
type table struct {
	rows  [][]string
	right map[int]bool
}

func newTable(right ...int) *table {
	t := &table{right: map[int]bool{}}
	for _, c := range right {
		t.right[c] = true
	}
	return t
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) flush(w io.Writer) error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-displayWidth(c))
			switch {
			case t.right[i]:
				b.WriteString(pad + c)
			case i < len(r)-1:
				b.WriteString(c + pad)
			default:
				b.WriteString(c)
			}
			if i < len(r)-1 {
				b.WriteString("  ")
			}
		}
		b.WriteString("\n")
	}
	t.rows = t.rows[:0]
	_, err := io.WriteString(w, trimLines(b.String()))
	return err
}

// trimLines drops the spaces that padding left at line ends.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// displayWidth counts East Asian wide characters as two columns.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1100 && utf8.RuneLen(r) >= 3 && (r < 0x2000 || r > 0x206F) {
			n += 2
		} else {
			n++
		}
	}
	return n
}
