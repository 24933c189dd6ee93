package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/report"
	"github.com/hikyaku/hikyaku/internal/store"
)

// CampaignRow is one line of the campaign list.
type CampaignRow struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	State   string    `json:"state"`
	Created time.Time `json:"created"`
	Total   int       `json:"total"`
	Done    int       `json:"done"` // rows with a final state
	Sent    int       `json:"sent"`
	Failed  int       `json:"failed"`
}

// CampaignList is the campaigns page.
type CampaignList struct {
	Campaigns []CampaignRow `json:"campaigns"`
	AsOf      time.Time     `json:"as_of"`   // when the counts were read
	Pending   bool          `json:"pending"` // the counts are still being read: they are 0 here
}

// IsPending says the page lacks numbers still being counted.
func (l CampaignList) IsPending() bool { return l.Pending }

func (h *Handler) store(ctx context.Context) (*store.Store, error) {
	if h.opt.Store == nil {
		return nil, &httpError{http.StatusServiceUnavailable, "no status store is configured"}
	}
	s, err := h.opt.Store(ctx)
	if err != nil {
		return nil, &httpError{http.StatusServiceUnavailable, err.Error()}
	}
	return s, nil
}

// bgStore is the handle the snapshots' slow queries use: a second one
// when serve gives it, so that the embedded store's one connection is not
// held by a grouping of a million rows while a page asks for one row.
func (h *Handler) bgStore(ctx context.Context) (*store.Store, error) {
	if h.opt.Background != nil {
		return h.opt.Background(ctx)
	}
	return h.store(ctx)
}

func (h *Handler) campaignList(r *http.Request) (CampaignList, error) {
	s, err := h.store(r.Context())
	if err != nil {
		return CampaignList{}, err
	}
	// The counts the store keeps (store.CountedStates): a few rows per
	// campaign, exact on every view, not a scan of every campaign's rows.
	out := CampaignList{Campaigns: []CampaignRow{}, AsOf: h.opt.Now()}
	all, err := s.CountedStates(r.Context())
	if err != nil {
		return CampaignList{}, err
	}
	cs, err := s.ListCampaigns(r.Context())
	if err != nil {
		return CampaignList{}, err
	}
	for _, c := range cs {
		row := CampaignRow{ID: c.ID, Name: c.Name, State: string(c.State), Created: c.Created}
		for st, n := range all[c.ID] {
			row.Total += n
			if st.Final() {
				row.Done += n
			}
		}
		row.Sent, row.Failed = all[c.ID][store.StateSent], all[c.ID][store.StateFailed]
		out.Campaigns = append(out.Campaigns, row)
	}
	return out, nil
}

func (h *Handler) campaigns(r *http.Request) (any, error) { return h.campaignList(r) }

// CodeCount is N results with Code, with the table's words for it.
type CodeCount struct {
	Code   int    `json:"code"`
	N      int    `json:"n"`
	Class  string `json:"class"`
	Short  string `json:"short"`  // the table's meaning, in the page's language
	Detail string `json:"detail"` // cause and remedy, where the table has them
}

// KeyCodes is one domain's or MX host's results.
type KeyCodes struct {
	Key   string      `json:"key"`
	Total int         `json:"total"`
	Codes []CodeCount `json:"codes"`
}

// Live is what moves while a campaign runs, sent every few seconds by
// /api/campaigns/{id}/events.
type Live struct {
	State      string         `json:"state"`
	Total      int            `json:"total"`
	Done       int            `json:"done"`
	Pending    int            `json:"pending"`
	Claimed    int            `json:"claimed"`
	Sent       int            `json:"sent"`
	Failed     int            `json:"failed"`
	Suppressed int            `json:"suppressed"`
	Invalid    int            `json:"invalid"`
	Percent    float64        `json:"percent"`
	Attempts   int            `json:"attempts"`
	PerMinute  int            `json:"per_minute"`  // attempts started in the last minute
	ETASeconds int64          `json:"eta_seconds"` // -1: unknown (nothing sent in the last minute)
	LastAt     time.Time      `json:"last_attempt,omitzero"`
	AsOf       time.Time      `json:"as_of"`
	States     map[string]int `json:"states"`
	Counting   bool           `json:"counting"` // the attempts are not counted yet: Attempts, PerMinute, LastAt and the ETA are 0 here
}

// Aggregates are a campaign's grouped results, the slow part.
type Aggregates struct {
	Codes        []CodeCount         `json:"codes"` // finals by code
	ByDomain     []KeyCodes          `json:"by_domain"`
	ByMX         []KeyCodes          `json:"by_mx"` // attempts by MX host and code
	ByReason     []ReasonRow         `json:"by_reason"`
	SuppressedBy int                 `json:"suppressed_by"`
	Suppressions []store.Suppression `json:"suppressions"` // the latest of them
	Scores       []store.ScoreCount  `json:"scores"`
	AsOf         time.Time           `json:"as_of"`
	QueryMS      int64               `json:"query_ms"` // what the queries took
	Pending      bool                `json:"pending"`  // the first count is still running: SuppressedBy, Suppressions and Scores are empty here
}

// ReasonRow is N finals with Code under Reason, Async of them from bounces.
type ReasonRow struct {
	Reason string `json:"reason"`
	Code   int    `json:"code"`
	N      int    `json:"n"`
	Async  int    `json:"async"`
}

// CampaignPage is one campaign.
type CampaignPage struct {
	ID       int64         `json:"id"`
	Name     string        `json:"name"`
	Created  time.Time     `json:"created"`
	ListPath string        `json:"list_path"`
	Live     Live          `json:"live"`
	Agg      Aggregates    `json:"aggregates"`
	Chart    template.HTML `json:"-"`
	Lang     string        `json:"-"`
}

// IsPending says the page lacks numbers still being counted.
func (p CampaignPage) IsPending() bool { return p.Live.Counting || p.Agg.Pending }

// How old a campaign's snapshots may get before a view refreshes them
// (at least; see refreshFactor): the live numbers, and the grouped ones.
var (
	liveEvery = 2 * time.Second
	aggEvery  = 10 * time.Second
)

// maxKeys bounds the domains and MX hosts a page lists (the largest
// first); the export has every row.
const maxKeys = 100

func (h *Handler) campaignID(r *http.Request) (*store.Store, store.Campaign, error) {
	s, err := h.store(r.Context())
	if err != nil {
		return nil, store.Campaign{}, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var c store.Campaign
	if err == nil {
		c, err = s.Campaign(r.Context(), id)
	}
	if err != nil {
		// A name works too: the operator knows campaigns by name.
		c, err = s.CampaignByName(r.Context(), r.PathValue("id"))
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, c, &httpError{http.StatusNotFound, "no such campaign: " + r.PathValue("id")}
	}
	return s, c, err
}

// live is a campaign's Live numbers; wait bounds the wait for the first
// snapshot (0: as long as ctx), after which they are Counting.
func (h *Handler) live(ctx context.Context, s *store.Store, c store.Campaign, wait time.Duration) (Live, error) {
	// The campaign row is read fresh, and its state is part of the
	// snapshots' keys: the first view after a run ends counts again
	// instead of showing the running campaign's last numbers.
	if c2, err := s.Campaign(ctx, c.ID); err == nil {
		c = c2
	}
	// Where the rows stand is read on every view from the counts the
	// store keeps (store.CountedProgress); the attempts (their count kept
	// too, but the last minute's read from its rows for the rate) are a
	// snapshot.
	now := h.opt.Now()
	p, err := s.CountedProgress(ctx, c.ID)
	if err != nil {
		return Live{}, err
	}
	l := Live{States: map[string]int{}, AsOf: now, ETASeconds: -1}
	for k, n := range p {
		l.States[string(k)] = n
		l.Total += n
		if k.Final() {
			l.Done += n
		}
	}
	l.Pending, l.Claimed = p[store.StatePending], p[store.StateClaimed]
	l.Sent, l.Failed, l.Suppressed, l.Invalid = p[store.StateSent], p[store.StateFailed], p[store.StateSuppressed], p[store.StateInvalid]
	if l.Total > 0 {
		l.Percent = float64(l.Done) * 100 / float64(l.Total)
	}
	snap, err := h.snaps.get(ctx, snapKey("live", c), liveEvery, wait, func(ctx context.Context) (any, error) {
		bg, err := h.bgStore(ctx)
		if err != nil {
			return nil, err
		}
		return bg.CountedAttemptStats(ctx, c.ID, h.opt.Now().Add(-time.Minute))
	})
	switch {
	case errors.Is(err, errPending):
		l.Counting = true
	case err != nil:
		return Live{}, err
	default:
		st := snap.value.(store.AttemptStats)
		l.Attempts, l.PerMinute, l.LastAt = st.Attempts, st.Recent, st.Last
		// In the campaign's first minute the last minute holds only the
		// seconds it has sent: scale them to a minute, or a campaign
		// sending 8 a second shows some 20 a minute and an ETA of minutes.
		if span := snap.at.Sub(st.First); !st.First.IsZero() && span < time.Minute {
			l.PerMinute = int(int64(st.Recent) * int64(time.Minute) / int64(max(span, time.Second)))
		}
		if l.PerMinute > 0 {
			l.ETASeconds = int64(l.Total-l.Done) * 60 / int64(l.PerMinute)
		}
	}
	if l.Total == l.Done {
		l.ETASeconds = 0
	}
	l.State = string(c.State)
	return l, nil
}

// aggregates are a campaign's grouped results: by code, domain, reason
// and MX read on every view from the counts the store keeps (exact at
// once); the suppressions and scores the campaign caused from the
// snapshot (aggSnap).
func (h *Handler) aggregates(ctx context.Context, s *store.Store, c store.Campaign, lang string, wait time.Duration) (Aggregates, error) {
	groups, err := s.CountedGroups(ctx, c.ID)
	if err != nil {
		return Aggregates{}, err
	}
	mx, err := s.CountedByMX(ctx, c.ID)
	if err != nil {
		return Aggregates{}, err
	}
	a, err := h.aggSnap(ctx, c, wait)
	if errors.Is(err, errPending) {
		a, err = rawAgg{pending: true}, nil
	}
	if err != nil {
		return Aggregates{}, err
	}
	a.groups, a.mx = groups, mx
	return a.view(lang), nil
}

// aggSnap is the part of a campaign's aggregates that the store does not
// count as it goes: the joins of its failed rows with the suppression
// list and the scores, which change when other campaigns or an operator
// move an address.
func (h *Handler) aggSnap(ctx context.Context, c store.Campaign, wait time.Duration) (rawAgg, error) {
	every := aggEvery
	if c.State == store.CampaignDone {
		every = 6 * aggEvery // bounces may still change finals
	}
	snap, err := h.snaps.get(ctx, snapKey("agg", c), every, wait, func(ctx context.Context) (any, error) {
		t0 := time.Now()
		a := rawAgg{at: h.opt.Now()}
		s, err := h.bgStore(ctx)
		if err != nil {
			return nil, err
		}
		if a.suppressedBy, err = s.SuppressedBy(ctx, c.ID); err != nil {
			return nil, err
		}
		if a.supp, err = s.CampaignSuppressions(ctx, c.ID, 50); err != nil {
			return nil, err
		}
		if a.scores, err = s.CampaignScores(ctx, c.ID); err != nil {
			return nil, err
		}
		a.took = time.Since(t0)
		return a, nil
	})
	if err != nil {
		return rawAgg{}, err
	}
	return snap.value.(rawAgg), nil
}

func snapKey(kind string, c store.Campaign) string {
	return fmt.Sprintf("%s:%d:%s", kind, c.ID, c.State)
}

// rawAgg is what the queries said, kept language-free in the snapshot.
type rawAgg struct {
	at           time.Time
	took         time.Duration
	pending      bool          // the snapshot is not there yet
	groups       []store.Group // read on each view, not kept
	mx           []store.Count // read on each view, not kept
	suppressedBy int
	supp         []store.Suppression
	scores       []store.ScoreCount
}

func (a rawAgg) view(lang string) Aggregates {
	out := Aggregates{SuppressedBy: a.suppressedBy, Suppressions: a.supp, Scores: a.scores, Pending: a.pending,
		AsOf: a.at, QueryMS: a.took.Milliseconds(), Codes: []CodeCount{}, ByReason: []ReasonRow{}}
	if out.Suppressions == nil {
		out.Suppressions = []store.Suppression{}
	}
	if out.Scores == nil {
		out.Scores = []store.ScoreCount{}
	}
	// Counts, CountsByDomain and CountsByReason, summed from one pass.
	counts := map[int]int{}
	type dk struct {
		domain string
		code   int
	}
	byDomain := map[dk]int{}
	type rk struct {
		reason string
		code   int
	}
	reasons := map[rk]*ReasonRow{}
	for _, g := range a.groups {
		counts[g.Code] += g.N
		byDomain[dk{g.Domain, g.Code}] += g.N
		k := rk{store.ReasonOf(g.Code, g.Enhanced, g.Reason), g.Code}
		rr := reasons[k]
		if rr == nil {
			rr = &ReasonRow{Reason: k.reason, Code: k.code}
			reasons[k] = rr
		}
		rr.N += g.N
		if g.Async {
			rr.Async += g.N
		}
	}
	var domain []store.Count
	for k, n := range byDomain {
		domain = append(domain, store.Count{Key: k.domain, Code: k.code, N: n})
	}
	sort.Slice(domain, func(i, j int) bool {
		return domain[i].Key < domain[j].Key || domain[i].Key == domain[j].Key && domain[i].Code < domain[j].Code
	})
	for code, n := range counts {
		out.Codes = append(out.Codes, codeCount(code, n, lang))
	}
	sort.Slice(out.Codes, func(i, j int) bool {
		x, y := out.Codes[i], out.Codes[j]
		return x.N > y.N || x.N == y.N && x.Code < y.Code
	})
	out.ByDomain, out.ByMX = byKey(domain, lang), byKey(a.mx, lang)
	for _, r := range reasons {
		out.ByReason = append(out.ByReason, *r)
	}
	sort.Slice(out.ByReason, func(i, j int) bool {
		x, y := out.ByReason[i], out.ByReason[j]
		return x.N > y.N || x.N == y.N && (x.Reason < y.Reason || x.Reason == y.Reason && x.Code < y.Code)
	})
	return out
}

func byKey(cs []store.Count, lang string) []KeyCodes {
	m := map[string]*KeyCodes{}
	var keys []*KeyCodes
	for _, c := range cs {
		k := m[c.Key]
		if k == nil {
			k = &KeyCodes{Key: c.Key}
			m[c.Key] = k
			keys = append(keys, k)
		}
		k.Total += c.N
		k.Codes = append(k.Codes, codeCount(c.Code, c.N, lang))
	}
	sort.SliceStable(keys, func(i, j int) bool {
		return keys[i].Total > keys[j].Total || keys[i].Total == keys[j].Total && keys[i].Key < keys[j].Key
	})
	out := []KeyCodes{}
	for _, k := range keys[:min(len(keys), maxKeys)] {
		sort.Slice(k.Codes, func(i, j int) bool { return k.Codes[i].N > k.Codes[j].N })
		out = append(out, *k)
	}
	return out
}

// codeCount explains a code from the table (internal/codes): its short
// meaning and its cause, or, for a code the table lacks, what its digits
// say.
func codeCount(code, n int, lang string) CodeCount {
	cc := CodeCount{Code: code, N: n}
	if c, ok := codes.LookupCode(code); ok {
		cc.Class = c.Class.String()
		cc.Short, cc.Detail = c.EN, c.DetailEN
		if lang == "ja" {
			cc.Short, cc.Detail = pick(c.JA, c.EN), pick(c.DetailJA, c.DetailEN)
		}
		return cc
	}
	var parts []string
	for _, m := range codes.Digits(code) {
		parts = append(parts, pick(map[bool]string{true: m.JA, false: m.EN}[lang == "ja"], m.EN))
	}
	cc.Short = strings.Join(parts, "; ")
	cc.Class = codes.ClassUnknown.String()
	return cc
}

func pick(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}

func (h *Handler) campaign(r *http.Request) (any, error) {
	s, c, err := h.campaignID(r)
	if err != nil {
		return nil, err
	}
	lang := langOf(r)
	p := CampaignPage{ID: c.ID, Name: c.Name, Created: c.Created, ListPath: c.ListPath, Lang: lang}
	// Both snapshots start at once and share one firstWait.
	deadline := time.Now().Add(firstWait)
	h.aggSnap(r.Context(), c, -1)
	if p.Live, err = h.live(r.Context(), s, c, until(deadline)); err != nil {
		return nil, err
	}
	if p.Agg, err = h.aggregates(r.Context(), s, c, lang, until(deadline)); err != nil {
		return nil, err
	}
	p.Chart = barChart(p.Agg.Codes, lang)
	return p, nil
}

// export streams a campaign's rows as `hikyaku campaign export` writes
// them (internal/report, the same code): ?format=tsv (default), csv or
// json.
func (h *Handler) export(w http.ResponseWriter, r *http.Request) {
	s, c, err := h.campaignID(r)
	if err != nil {
		st, msg := statusOf(err)
		writeJSON(w, st, apiError{msg})
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "tsv"
	}
	if err := report.CheckFormat(format); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
		return
	}
	ctype := map[string]string{"tsv": "text/tab-separated-values", "csv": "text/csv", "json": "application/x-ndjson"}[format]
	w.Header().Set("Content-Type", ctype+"; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, safeFileName(c.Name), format))
	var notes strings.Builder
	if err := report.Export(r.Context(), s, c, format, "", w, &notes); err != nil {
		// The status line is out already: the client sees a cut-off file.
		h.opt.Logger.Error("dashboard export", "campaign", c.Name, "err", err)
	}
	if notes.Len() > 0 {
		h.opt.Logger.Warn("dashboard export", "campaign", c.Name, "note", strings.TrimSpace(notes.String()))
	}
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r == '/' || r < ' ' {
			return '_'
		}
		return r
	}, s)
}
