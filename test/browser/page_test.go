package browser

import (
	"strconv"
	"strings"
	"time"
)

// What a page shows, read from the DOM by the stable ids and data-
// attributes docs/dashboard.md lists: the count a person reads (the
// cell's text) next to the data-n it is drawn from, so a page that shows
// one number and means another fails too.

type shownRow struct {
	Key     string         `json:"key"`     // data-key, -reason, -id, -address, -domain or -campaign
	Code    int            `json:"code"`    // data-code
	N       int            `json:"n"`       // the data-n of the row's count cell
	Shown   string         `json:"shown"`   // that cell's text
	Class   string         `json:"class"`   // the third cell's text (the code table's class)
	Explain string         `json:"explain"` // the .explain cell's text
	Codes   map[string]int `json:"codes"`   // the row's code×count chips
	Chips   []string       `json:"chips"`   // their texts
}

// rows reads the body rows of the table css selects.
func (b *tab) rows(css string) []shownRow {
	b.t.Helper()
	return eval[[]shownRow](b, `[...document.querySelectorAll(`+jsString(css+" tbody tr")+`)].map(tr => {
		const c = tr.querySelector("td[data-n]"), ex = tr.querySelector(".explain"), d = tr.dataset;
		const chips = [...tr.querySelectorAll(".cc")];
		return {
			key: d.key ?? d.reason ?? d.id ?? d.address ?? d.domain ?? d.campaign ?? "",
			code: +(d.code || 0),
			n: c ? +c.dataset.n : -1,
			shown: c ? c.innerText.trim() : "",
			class: tr.children[2] ? tr.children[2].innerText.trim() : "",
			explain: ex ? ex.innerText.trim() : "",
			codes: Object.fromEntries(chips.map(s => [s.dataset.code, +s.dataset.n])),
			chips: chips.map(s => s.innerText.trim()),
		};
	})`)
}

// metrics reads the text of every [data-metric] inside the element css
// selects.
func (b *tab) metrics(css string) map[string]string {
	b.t.Helper()
	return eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll(`+jsString(css+" [data-metric]")+`)].map(e => [e.dataset.metric, e.innerText.trim()]))`)
}

// attr is an attribute of the first element css selects ("" if none).
func (b *tab) attr(css, name string) string {
	b.t.Helper()
	return eval[string](b, `(document.querySelector(`+jsString(css)+`) || {getAttribute: () => ""}).getAttribute(`+jsString(name)+`) || ""`)
}

// exists says whether css selects an element.
func (b *tab) exists(css string) bool {
	b.t.Helper()
	return eval[bool](b, `document.querySelector(`+jsString(css)+`) !== null`)
}

// waitFor polls a JavaScript condition until it is true or d has passed;
// errors count as false, for the moment a navigation replaces the page.
func (b *tab) waitFor(js string, d time.Duration) bool {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := b.bounded()
		ok, err := runEval[bool](ctx, js)
		cancel()
		if err == nil && ok {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fetchStatus makes the page send a request itself, with its cookies, and
// returns the status: what a script on the page (or a forged form) gets.
func (b *tab) fetchStatus(method, path, body string, headers map[string]string) int {
	b.t.Helper()
	h := "{"
	for k, v := range headers {
		h += jsString(k) + ":" + jsString(v) + ","
	}
	h += `"Content-Type": "application/x-www-form-urlencoded"}`
	js := `fetch(` + jsString(path) + `, {method: ` + jsString(method) + `, headers: ` + h + `, redirect: "manual"`
	if method != "GET" {
		js += `, body: ` + jsString(body)
	}
	js += `}).then(r => r.status)`
	return eval[int](b, js)
}

// fetchText is the body of a GET the page makes.
func (b *tab) fetchText(path string) string {
	b.t.Helper()
	return eval[string](b, `fetch(`+jsString(path)+`).then(r => r.ok ? r.text() : Promise.reject(new Error("status " + r.status)))`)
}

// score prints an error score as the store's decimal does ("1", "0.1").
func score(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// hasJapanese says whether s holds kana or kanji.
func hasJapanese(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return (r >= 0x3040 && r <= 0x30ff) || (r >= 0x4e00 && r <= 0x9fff)
	})
}
