package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/queue"
	"github.com/hikyaku/hikyaku/internal/store"
)

// maxList bounds the rows one page or API answer lists.
const maxList = 200

// QueueRow is one message of the relay queue list.
type QueueRow struct {
	ID         string    `json:"id"`
	From       string    `json:"from"`
	ReceivedAt time.Time `json:"received_at"`
	Size       int64     `json:"size"`
	Hold       bool      `json:"hold"`
	Recipients int       `json:"recipients"` // not yet final
	Status     string    `json:"status"`     // the least advanced recipient's: queued, deferred, …
	Domains    []string  `json:"domains"`
	NextAt     time.Time `json:"next_attempt,omitzero"`
	LastCode   int       `json:"last_code,omitempty"`
}

// QueueList is the relay queue page: the filters given and what matched.
type QueueList struct {
	Status  string     `json:"status"` // filter: queued, deferred, hold, or "" for all
	Domain  string     `json:"domain"` // filter: a recipient's domain
	Search  string     `json:"q"`      // filter: in the id, sender or a recipient
	Total   int        `json:"total"`  // messages in the queue
	Matched int        `json:"matched"`
	Items   []QueueRow `json:"items"` // the first maxList of the matched, oldest first
	Error   string     `json:"error,omitempty"`
}

func (h *Handler) queueList(r *http.Request) (any, error) {
	q := r.URL.Query()
	out := QueueList{Status: q.Get("status"), Domain: strings.ToLower(strings.TrimSpace(q.Get("domain"))),
		Search: strings.ToLower(strings.TrimSpace(q.Get("q"))), Items: []QueueRow{}}
	if h.opt.Queue == nil {
		return nil, &httpError{http.StatusServiceUnavailable, "no relay queue here"}
	}
	items, err := h.queueItems()
	if err != nil {
		out.Error = err.Error()
	}
	out.Total = len(items)
	for _, it := range items {
		row := queueRow(it)
		if !matches(it, row, out) {
			continue
		}
		out.Matched++
		if len(out.Items) < maxList {
			out.Items = append(out.Items, row)
		}
	}
	return out, nil
}

func queueRow(it queue.Item) QueueRow {
	row := QueueRow{ID: it.ID, From: it.From, ReceivedAt: it.ReceivedAt, Size: it.Size, Hold: it.Hold, Domains: []string{}}
	seen := map[string]bool{}
	rank := map[string]int{queue.StatusQueued: 1, queue.StatusDeferred: 2}
	for _, rc := range it.Recipients {
		if rc.Final() {
			continue
		}
		row.Recipients++
		if d := domainOf(rc.Address); !seen[d] {
			seen[d] = true
			row.Domains = append(row.Domains, d)
		}
		if row.Status == "" || rank[rc.Status] > rank[row.Status] {
			row.Status = rc.Status
		}
		if rc.LastCode != 0 {
			row.LastCode = rc.LastCode
		}
	}
	row.NextAt, _ = it.NextAttempt()
	return row
}

func matches(it queue.Item, row QueueRow, f QueueList) bool {
	switch f.Status {
	case "":
	case "hold":
		if !it.Hold {
			return false
		}
	default:
		if row.Status != f.Status {
			return false
		}
	}
	if f.Domain != "" {
		found := false
		for _, d := range row.Domains {
			found = found || d == f.Domain
		}
		if !found {
			return false
		}
	}
	if f.Search != "" {
		hay := strings.ToLower(it.ID + " " + it.From)
		for _, rc := range it.Recipients {
			hay += " " + strings.ToLower(rc.Address)
		}
		if !strings.Contains(hay, f.Search) {
			return false
		}
	}
	return true
}

// Message is one queued message: its envelope and each recipient's
// attempts.
type Message struct {
	Item       queue.Item   `json:"item"`
	Recipients []RcptStatus `json:"recipients"`
}

// RcptStatus is one recipient with its last result explained.
type RcptStatus struct {
	queue.Recipient
	Explain CodeCount `json:"explain"`
}

func (h *Handler) message(r *http.Request) (any, error) {
	if h.opt.Queue == nil {
		return nil, &httpError{http.StatusServiceUnavailable, "no relay queue here"}
	}
	it, err := h.opt.Queue.Get(r.PathValue("id"))
	if errors.Is(err, queue.ErrNotFound) {
		return nil, &httpError{http.StatusNotFound, err.Error()}
	}
	if err != nil {
		return nil, err
	}
	m := Message{Item: it, Recipients: []RcptStatus{}}
	for _, rc := range it.Recipients {
		rs := RcptStatus{Recipient: rc}
		if rc.LastCode != 0 {
			rs.Explain = codeCount(rc.LastCode, rc.Attempts, langOf(r))
		}
		m.Recipients = append(m.Recipients, rs)
	}
	return m, nil
}

func (h *Handler) retry(r *http.Request) (string, string, error) {
	id := r.PathValue("id")
	if h.opt.Queue == nil {
		return "", "", &httpError{http.StatusServiceUnavailable, "no relay queue here"}
	}
	if err := h.opt.Queue.RequestRetry(id); err != nil {
		if errors.Is(err, queue.ErrNotFound) {
			return "", "", &httpError{http.StatusNotFound, err.Error()}
		}
		return "", "", err
	}
	h.opt.Logger.Info("dashboard: queue retry", "id", id, "user", h.user(r))
	h.forgetQueue()
	return "retry requested", "/queue/" + url.PathEscape(id) + "?done=retry", nil
}

// deleteMessage takes a message out of the queue for good; the form must
// say confirm=yes, so a stray click or a script's typo deletes nothing.
func (h *Handler) deleteMessage(r *http.Request) (string, string, error) {
	id := r.PathValue("id")
	if h.opt.Queue == nil {
		return "", "", &httpError{http.StatusServiceUnavailable, "no relay queue here"}
	}
	if r.PostFormValue("confirm") != "yes" {
		return "", "", &httpError{http.StatusBadRequest, "deleting needs confirm=yes"}
	}
	if err := h.opt.Queue.Delete(id); err != nil {
		if errors.Is(err, queue.ErrNotFound) {
			return "", "", &httpError{http.StatusNotFound, err.Error()}
		}
		return "", "", err
	}
	h.opt.Logger.Info("dashboard: queue delete", "id", id, "user", h.user(r))
	h.forgetQueue()
	return "deleted", "/queue?done=delete", nil
}

// SuppressionList is the suppression search page.
type SuppressionList struct {
	Query   string              `json:"q"` // address prefix
	After   string              `json:"after"`
	Total   int                 `json:"total"` // entries on the list; -1 while Pending
	Pending bool                `json:"pending"`
	Entries []store.Suppression `json:"entries"`
	Next    string              `json:"next,omitempty"` // after= of the next page
}

// IsPending says the page lacks numbers still being counted.
func (l SuppressionList) IsPending() bool { return l.Pending }

func (h *Handler) suppressions(r *http.Request) (any, error) {
	s, err := h.store(r.Context())
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	out := SuppressionList{Query: strings.TrimSpace(q.Get("q")), After: q.Get("after")}
	// Counting the whole list costs more than a page of it; it is a
	// snapshot like a campaign's counts.
	snap, err := h.snaps.get(r.Context(), "suppressions", aggEvery, firstWait, func(ctx context.Context) (any, error) {
		bg, err := h.bgStore(ctx)
		if err != nil {
			return nil, err
		}
		return bg.SuppressionCount(ctx)
	})
	switch {
	case errors.Is(err, errPending):
		out.Total, out.Pending = -1, true
	case err != nil:
		return nil, err
	default:
		out.Total = snap.value.(int)
	}
	if out.Entries, err = s.SearchSuppressions(r.Context(), out.Query, out.After, maxList+1); err != nil {
		return nil, err
	}
	if len(out.Entries) > maxList {
		out.Entries = out.Entries[:maxList]
		out.Next = out.Entries[maxList-1].Address
	}
	if out.Entries == nil {
		out.Entries = []store.Suppression{}
	}
	return out, nil
}

// AddressPage is one address: its score, its suppression entry and its
// results in every campaign.
type AddressPage struct {
	Address    string              `json:"address"`
	Score      codes.Tenths        `json:"score"`
	Threshold  codes.Tenths        `json:"threshold"`
	Suppressed bool                `json:"suppressed"`
	Entry      *store.Suppression  `json:"suppression,omitempty"`
	History    []AddressResultView `json:"history"`
}

// AddressResultView is one campaign row of the address, its code explained.
type AddressResultView struct {
	store.AddressResult
	Explain CodeCount `json:"explain"`
}

func (h *Handler) address(r *http.Request) (any, error) {
	s, err := h.store(r.Context())
	if err != nil {
		return nil, err
	}
	a := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("a")))
	if a == "" {
		return nil, &httpError{http.StatusBadRequest, "no address given (a=)"}
	}
	out := AddressPage{Address: a, Threshold: s.Threshold(), History: []AddressResultView{}}
	if out.Score, err = s.Score(r.Context(), a); err != nil {
		return nil, err
	}
	p, ok, err := s.SuppressionOf(r.Context(), a)
	if err != nil {
		return nil, err
	}
	if ok {
		out.Suppressed, out.Entry = true, &p
	}
	hist, err := s.AddressHistory(r.Context(), a, maxList)
	if err != nil {
		return nil, err
	}
	for _, x := range hist {
		v := AddressResultView{AddressResult: x}
		if x.FinalCode != 0 {
			v.Explain = codeCount(x.FinalCode, 1, langOf(r))
		}
		out.History = append(out.History, v)
	}
	return out, nil
}

// unsuppress takes an address off the list; the reason is required and
// goes to the log with who asked.
func (h *Handler) unsuppress(r *http.Request) (string, string, error) {
	s, err := h.store(r.Context())
	if err != nil {
		return "", "", err
	}
	a := strings.ToLower(strings.TrimSpace(r.PostFormValue("address")))
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if a == "" || reason == "" {
		return "", "", &httpError{http.StatusBadRequest, "removing a suppression needs address and reason"}
	}
	was, err := s.Unsuppress(r.Context(), a)
	if err != nil {
		return "", "", err
	}
	if !was {
		return "", "", &httpError{http.StatusNotFound, a + " is not on the suppression list"}
	}
	h.opt.Logger.Info("dashboard: suppression removed", "address", a, "reason", reason, "user", h.user(r))
	return "removed", "/address?a=" + url.QueryEscape(a) + "&done=remove", nil
}

// CodeRow is one code of the table.
type CodeRow struct {
	Code     int          `json:"code"`
	EN       string       `json:"en"`
	JA       string       `json:"ja"`
	DetailEN string       `json:"detail_en,omitempty"`
	DetailJA string       `json:"detail_ja,omitempty"`
	Class    string       `json:"class"`
	Blame    string       `json:"blame"`
	Weight   codes.Tenths `json:"weight"`
	Reason   string       `json:"reason,omitempty"`
	Ref      string       `json:"ref,omitempty"`
}

// CodeTable is every code of internal/codes.
type CodeTable struct {
	Codes    []CodeRow        `json:"codes"`
	Enhanced []codes.Enhanced `json:"enhanced"`
}

func (h *Handler) codeTable(r *http.Request) (any, error) {
	out := CodeTable{Enhanced: codes.Enhanceds()}
	for _, c := range codes.Codes() {
		out.Codes = append(out.Codes, CodeRow{Code: c.Code, EN: c.EN, JA: c.JA, DetailEN: c.DetailEN, DetailJA: c.DetailJA,
			Class: c.Class.String(), Blame: c.Blame.String(), Weight: c.Weight, Reason: c.Reason, Ref: c.Ref})
	}
	return out, nil
}
