package report

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/hikyaku/hikyaku/internal/store"
)

// `campaign report`: a campaign's results by code (with the code table's
// text in English or Japanese), by destination domain, by reason, by MX
// host or in time buckets. Finals a bounce mail set after the session
// (issue 12) count under their code like any other; the ASYNC column says
// how many of them came so.

// reportWords are the labels of a report in one language; the codes'
// meanings come from the code table, never from here.
type reportWords struct {
	head                               string // id, name, state, what
	byCode, byDomain, byMX, byTime     string // what, for head
	byReason                           string
	code, count, share, meaning, total string
	domain, mx, time, recipients       string
	reason, async, asyncNote           string
	attempts, delivered, codes, none   string
	notFinal, skipped, suppressedBy    string
	legend                             string
}

var reportLang = map[string]reportWords{
	"en": {
		head:   "campaign %d %q (%s): %s\n",
		byCode: "%d final results by code", byDomain: "final results by destination domain",
		byMX: "attempts by MX host", byTime: "attempts per %s", byReason: "final results by reason",
		reason: "REASON", async: "ASYNC", asyncNote: "ASYNC: of them, set by a bounce mail after the session: %d\n",
		code: "CODE", count: "COUNT", share: "SHARE", meaning: "MEANING", total: "total",
		domain: "DOMAIN", mx: "MX HOST", time: "TIME", recipients: "RECIPIENTS",
		attempts: "ATTEMPTS", delivered: "DELIVERED", codes: "CODES", none: "(none)",
		notFinal:     "not final yet: %d pending, %d claimed\n",
		skipped:      "not sent, address already suppressed: %d\n",
		suppressedBy: "suppressed by this campaign's results: %d addresses\n",
		legend:       "codes:",
	},
	"ja": {
		head:   "キャンペーン %d「%s」(%s): %s\n",
		byCode: "コード別の最終結果 %d 件", byDomain: "宛先ドメイン別の最終結果",
		byMX: "MXホスト別の配信試行", byTime: "%s ごとの配信試行", byReason: "理由別の最終結果",
		reason: "理由", async: "非同期", asyncNote: "非同期: うち送信後に届いたバウンスメールによる結果: %d 件\n",
		code: "コード", count: "件数", share: "割合", meaning: "説明", total: "合計",
		domain: "ドメイン", mx: "MXホスト", time: "時刻", recipients: "宛先数",
		attempts: "試行数", delivered: "配信成功", codes: "コード別件数", none: "(なし)",
		notFinal:     "未完了: 待機中 %d 件、処理中 %d 件\n",
		skipped:      "配信停止リストにあるため送信せず: %d 件\n",
		suppressedBy: "このキャンペーンの結果で配信停止になったアドレス: %d 件\n",
		legend:       "コードの意味:",
	},
}

// ReportJSON is `campaign report --json`; Rows holds CodeRow or GroupRow
// values as --by says.
type ReportJSON struct {
	Campaign     campaignRef `json:"campaign"`
	By           string      `json:"by"`
	Bucket       string      `json:"bucket,omitempty"`
	Total        int         `json:"total"`
	Rows         any         `json:"rows"`
	Pending      *int        `json:"pending,omitempty"`
	Claimed      *int        `json:"claimed,omitempty"`
	Skipped      *int        `json:"skipped_suppressed,omitempty"`
	SuppressedBy *int        `json:"suppressed_by_campaign,omitempty"`
}

// CodeRow is one code of a report by code.
type CodeRow struct {
	Code  int     `json:"code"`
	Count int     `json:"count"`
	Async int     `json:"async"` // of Count, set by a bounce after the session
	Share float64 `json:"share"` // of the final results, 0…1
	Class string  `json:"class"`
	EN    string  `json:"en"`
	JA    string  `json:"ja"`
}

// GroupRow is one domain, reason, MX host or time bucket of a grouped
// report.
type GroupRow struct {
	Key       *string        `json:"key,omitempty"`   // domain, reason or MX host ("" when none); absent for --by time
	Start     *time.Time     `json:"start,omitempty"` // --by time
	Count     int            `json:"count"`
	Delivered int            `json:"delivered"`
	Async     *int           `json:"async,omitempty"` // --by reason: of Count, set by a bounce after the session
	Codes     map[string]int `json:"codes"`
	codes     map[int]int
}

// Options are what `campaign report` is asked for.
type Options struct {
	Lang   string // "en" or "ja": the labels and the codes' meanings
	By     string // "code", "domain", "reason", "mx" or "time"
	Bucket string // width of a time bucket for By "time", such as "1m"
	JSON   bool
}

// Check tells what is wrong with o, for a usage error.
func (o Options) Check() error {
	if _, ok := reportLang[o.Lang]; !ok {
		return fmt.Errorf(`--lang must be "en" or "ja"`)
	}
	if bucket, err := time.ParseDuration(o.Bucket); err != nil || bucket < time.Millisecond {
		return fmt.Errorf("--bucket %q: want a duration of at least 1ms such as 1m", o.Bucket)
	}
	switch o.By {
	case "code", "domain", "reason", "mx", "time":
	default:
		return fmt.Errorf(`--by must be "code", "domain", "reason", "mx" or "time"`)
	}
	return nil
}

// Report prints a campaign's results as o asks: a table with the codes'
// meanings, or JSON.
func Report(ctx context.Context, st *store.Store, c store.Campaign, o Options, stdout io.Writer) error {
	if err := o.Check(); err != nil {
		return err
	}
	w := reportLang[o.Lang]
	bucket, _ := time.ParseDuration(o.Bucket)
	var err error
	out := ReportJSON{Campaign: refOf(c), By: o.By}
	var groups []*GroupRow
	switch o.By {
	case "code":
		return reportByCode(ctx, st, c, o.Lang, w, o.JSON, stdout)
	case "domain":
		var cs []store.Count
		// The counts the store keeps (campaign_counts): the same lines as
		// a grouping of the campaign's rows, without walking them.
		if cs, err = st.CountedByDomain(ctx, c.ID); err == nil {
			groups = groupCounts(cs)
		}
	case "reason":
		var cs []store.ReasonCount
		if cs, err = st.CountedByReason(ctx, c.ID); err == nil {
			groups = groupReasons(cs)
		}
	case "mx":
		var cs []store.Count
		if cs, err = st.CountedByMX(ctx, c.ID); err == nil {
			groups = groupCounts(cs)
		}
	case "time":
		out.Bucket = o.Bucket
		var bs []store.Bucket
		if bs, err = st.Timeline(ctx, c.ID, bucket); err == nil {
			groups = groupBuckets(bs)
		}
	}
	if err != nil {
		return err
	}
	for _, g := range groups {
		out.Total += g.Count
	}
	if o.JSON {
		out.Rows = groups
		return writeJSON(stdout, out)
	}
	what, first, count := w.byDomain, w.domain, w.recipients
	switch o.By {
	case "reason":
		what, first = w.byReason, w.reason
	case "mx":
		what, first, count = w.byMX, w.mx, w.attempts
	case "time":
		what, first, count = fmt.Sprintf(w.byTime, o.Bucket), w.time, w.attempts
	}
	fmt.Fprintf(stdout, w.head, c.ID, c.Name, c.State, what)
	t := newTable(1, 2)
	async := o.By == "reason"
	if async {
		t = newTable(1, 2, 3)
		t.add(first, count, w.delivered, w.async, w.codes)
	} else {
		t.add(first, count, w.delivered, w.codes)
	}
	all := map[int]int{}
	asyncAll := 0
	for _, g := range groups {
		key := w.none
		if g.Start != nil {
			key = clock(*g.Start)
		} else if *g.Key != "" {
			key = *g.Key
		}
		if async {
			t.add(key, itoa(g.Count), itoa(g.Delivered), itoa(*g.Async), codeList(g.codes))
			asyncAll += *g.Async
		} else {
			t.add(key, itoa(g.Count), itoa(g.Delivered), codeList(g.codes))
		}
		for code, n := range g.codes {
			all[code] += n
		}
	}
	if async {
		t.add(w.total, itoa(out.Total), "", itoa(asyncAll), codeList(all))
	} else {
		t.add(w.total, itoa(out.Total), "", codeList(all))
	}
	if err := t.flush(stdout); err != nil {
		return err
	}
	return writeLegend(stdout, all, o.Lang, w)
}

// reportByCode prints every final code with its count, share and meaning.
func reportByCode(ctx context.Context, st *store.Store, c store.Campaign, lang string, w reportWords, asJSON bool, stdout io.Writer) error {
	finals, async, err := st.CountedCodes(ctx, c.ID)
	if err != nil {
		return err
	}
	prog, err := st.CountedProgress(ctx, c.ID)
	if err != nil {
		return err
	}
	supBy, err := st.SuppressedBy(ctx, c.ID)
	if err != nil {
		return err
	}
	total := sum(finals)
	keys := slices.Sorted(maps.Keys(finals))
	rows := make([]CodeRow, len(keys))
	for i, code := range keys {
		d := describe(code)
		rows[i] = CodeRow{Code: code, Count: finals[code], Async: async[code], Share: percent(finals[code], total) / 100,
			Class: classOf(code), EN: d.EN, JA: d.JA}
	}
	pending, claimed, skipped := prog[store.StatePending], prog[store.StateClaimed], prog[store.StateSuppressed]
	if asJSON {
		return writeJSON(stdout, ReportJSON{Campaign: refOf(c), By: "code", Total: total, Rows: rows,
			Pending: &pending, Claimed: &claimed, Skipped: &skipped, SuppressedBy: &supBy})
	}
	fmt.Fprintf(stdout, w.head, c.ID, c.Name, c.State, fmt.Sprintf(w.byCode, total))
	// The ASYNC column only where bounces set finals: a campaign without
	// bounce intake reads as it always did.
	asyncAll := sum(async)
	t := newTable(1, 2)
	if asyncAll > 0 {
		t = newTable(1, 2, 3)
		t.add(w.code, w.count, w.share, w.async, w.meaning)
	} else {
		t.add(w.code, w.count, w.share, w.meaning)
	}
	for _, r := range rows {
		if asyncAll > 0 {
			t.add(strconv.Itoa(r.Code), itoa(r.Count), pct(r.Count, total), itoa(r.Async), meaning(r.Code, lang))
		} else {
			t.add(strconv.Itoa(r.Code), itoa(r.Count), pct(r.Count, total), meaning(r.Code, lang))
		}
	}
	if asyncAll > 0 {
		t.add(w.total, itoa(total), pct(total, total), itoa(asyncAll), "")
	} else {
		t.add(w.total, itoa(total), pct(total, total), "")
	}
	if err := t.flush(stdout); err != nil {
		return err
	}
	if asyncAll > 0 {
		fmt.Fprintf(stdout, w.asyncNote, asyncAll)
	}
	if pending+claimed > 0 {
		fmt.Fprintf(stdout, w.notFinal, pending, claimed)
	}
	if skipped > 0 {
		fmt.Fprintf(stdout, w.skipped, skipped)
	}
	_, err = fmt.Fprintf(stdout, w.suppressedBy, supBy)
	return err
}

// writeLegend prints the meaning of every code a grouped report showed.
func writeLegend(stdout io.Writer, all map[int]int, lang string, w reportWords) error {
	if len(all) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(all))
	fmt.Fprintln(stdout, w.legend)
	t := newTable(0)
	for _, code := range keys {
		t.add("  "+strconv.Itoa(code), meaning(code, lang))
	}
	return t.flush(stdout)
}

// groupBy gathers counts into one row per key, the largest first; add
// counts one into its row.
func groupBy[C any](cs []C, key func(C) string, add func(*GroupRow, C)) []*GroupRow {
	var out []*GroupRow
	index := map[string]*GroupRow{}
	for _, c := range cs {
		k := key(c)
		g := index[k]
		if g == nil {
			g = newGroup()
			g.Key = &k
			index[k] = g
			out = append(out, g)
		}
		add(g, c)
	}
	slices.SortStableFunc(out, func(a, b *GroupRow) int { return b.Count - a.Count })
	return out
}

// groupCounts gathers per-domain or per-MX counts.
func groupCounts(cs []store.Count) []*GroupRow {
	return groupBy(cs, func(c store.Count) string { return c.Key },
		func(g *GroupRow, c store.Count) { g.addCode(c.Code, c.N) })
}

// groupReasons gathers per-reason counts, with how many of them a bounce
// set after the session.
func groupReasons(cs []store.ReasonCount) []*GroupRow {
	return groupBy(cs, func(c store.ReasonCount) string { return c.Reason }, func(g *GroupRow, c store.ReasonCount) {
		if g.Async == nil {
			g.Async = new(int)
		}
		g.addCode(c.Code, c.N)
		*g.Async += c.Async
	})
}

// groupBuckets gathers a timeline into one row per bucket, oldest first.
func groupBuckets(bs []store.Bucket) []*GroupRow {
	var out []*GroupRow
	for _, b := range bs {
		if len(out) == 0 || !out[len(out)-1].Start.Equal(b.Start) {
			g := newGroup()
			start := b.Start
			g.Start = &start
			out = append(out, g)
		}
		out[len(out)-1].addCode(b.Code, b.N)
	}
	return out
}

func newGroup() *GroupRow { return &GroupRow{Codes: map[string]int{}, codes: map[int]int{}} }

func (g *GroupRow) addCode(code, n int) {
	g.codes[code] += n
	g.Codes[strconv.Itoa(code)] += n
	g.Count += n
	if classOf(code) == "delivered" {
		g.Delivered += n
	}
}
