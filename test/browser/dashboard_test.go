package browser

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	springRows = 35 // the finished campaign the pages are compared on
	liveRows   = 96 // the campaign watched while it runs
	liveRate   = 8  // its messages a second: about 12 s of sending
)

// TestDashboard runs `hikyaku serve` and a real campaign to a scripted
// peer that answers 250, 550 and 552 (and a domain without DNS, 700),
// then reads every dashboard page in headless chromium, in English and in
// Japanese: the numbers must be those of `campaign status/report/export`,
// the live page must move while a second campaign runs, a change without
// the CSRF token must be refused, and a listener beyond loopback must ask
// for a login. Screenshots of every page go to a temp folder (logged).
func TestDashboard(t *testing.T) {
	chromium := chromiumPath(t)
	t0 := time.Now()
	bin := buildHikyaku(t, t.TempDir())
	t.Logf("built hikyaku in %v", time.Since(t0).Round(time.Millisecond))
	// Kept after the test, for a person to look at.
	shots, err := os.MkdirTemp("", "hikyaku-dashboard-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", shots)

	w := newWorld(t, bin, mixedScript(liveRows), "127.0.0.1", "", "")
	w.startServe()
	w.relay(w.smtpAddr)
	list, tmpl := w.writeList("spring", springRows)
	w.hk("campaign", "run", "--list", list, "--template", tmpl, "--name", "spring")
	browser := newBrowser(t, chromium)

	t.Run("pages", func(t *testing.T) { testPages(t, w, browser, shots) })
	t.Run("live", func(t *testing.T) { testLive(t, w, browser, shots) })
	t.Run("csrf", func(t *testing.T) { testCSRF(t, w, browser) })
	t.Run("login", func(t *testing.T) { testLogin(t, bin, chromium, shots) })
	t.Logf("whole test %v; screenshots in %s", time.Since(t0).Round(time.Millisecond), shots)
}

// page is one dashboard page: its data-page name and path.
type page struct{ name, path string }

func dashboardPages(queueID string) []page {
	return []page{
		{"overview", "/"},
		{"campaigns", "/campaigns"},
		{"campaign", "/campaigns/1"},
		{"queue", "/queue"},
		{"message", "/queue/" + queueID},
		{"suppressions", "/suppressions"},
		{"address", "/address?a=user1@d1.test"},
		{"codes", "/codes"},
	}
}

func testPages(t *testing.T, w *world, browser context.Context, shots string) {
	w = w.on(t)
	tr := w.truth("spring")
	ids := tr.queue
	if len(ids) != 1 {
		t.Fatalf("relay queue holds %v, want the one relayed message", ids)
	}
	h1 := map[string]string{}
	for _, lang := range []string{"en", "ja"} {
		b := newTab(t, browser, shots, lang)
		for _, p := range dashboardPages(ids[0]) {
			t0 := time.Now()
			if st := b.open(w.base() + p.path); st != 200 {
				t.Errorf("%s %s: status %d", lang, p.path, st)
				continue
			}
			if got := b.attr("body", "data-page"); got != p.name {
				t.Errorf("%s %s: data-page %q, want %q", lang, p.path, got, p.name)
			}
			if got := b.attr("html", "lang"); got != lang {
				t.Errorf("%s %s: <html lang=%q>, want %q", lang, p.path, got, lang)
			}
			head := b.text("h1")
			switch {
			case lang == "ja" && !hasJapanese(head):
				t.Errorf("ja %s: heading %q has no Japanese", p.path, head)
			case lang == "ja" && head == h1[p.name]:
				t.Errorf("ja %s: heading %q is the English one", p.path, head)
			}
			h1[p.name] = head
			// The code table is thousands of pixels long: its first screen
			// says what it looks like.
			b.shot(lang+"-"+p.name, p.name != "codes")
			if p.name == "overview" || p.name == "campaign" {
				// The first screen alone, small enough for the README.
				b.shot(lang+"-"+p.name+"-screen", false)
			}
			switch p.name {
			case "overview":
				checkOverview(t, w, b, ids)
			case "campaigns":
				checkCampaigns(t, tr, b)
			case "campaign":
				checkCampaign(t, tr, b, lang)
			case "queue":
				checkQueue(t, b, ids)
			case "message":
				checkMessage(t, tr, b, ids[0])
			case "suppressions":
				checkSuppressions(t, tr, b)
			case "address":
				checkAddress(t, w, tr, b, "user1@d1.test", lang)
			case "codes":
				checkCodes(t, tr, b, lang)
			}
			t.Logf("%s %s: read and checked in %v", lang, p.path, time.Since(t0).Round(time.Millisecond))
		}
		if lang == "en" {
			checkSwitch(t, w, b)
			checkRebinding(t, w, b)
		}
	}
}

// checkSwitch: the language switch turns the page it is on (keeping its
// query) and the next ones into the other language, whatever the browser
// asks for.
func checkSwitch(t *testing.T, w *world, b *tab) {
	b.open(w.base() + "/address?a=user1@d1.test")
	eval[bool](b, `document.getElementById("lang-ja").click(), true`)
	if !b.waitFor(`document.documentElement.lang === "ja"`, 5*time.Second) || b.text("#address") != "user1@d1.test" {
		t.Errorf("the switch to Japanese: at %s, lang %q, address %q", b.location(), b.attr("html", "lang"), b.text("#address"))
	}
	b.open(w.base() + "/campaigns")
	if got := b.attr("html", "lang"); got != "ja" || !hasJapanese(b.text("h1")) {
		t.Errorf("the page after the switch to Japanese: lang %q, heading %q", got, b.text("h1"))
	}
	eval[bool](b, `document.getElementById("lang-en").click(), true`)
	if !b.waitFor(`document.documentElement.lang === "en"`, 5*time.Second) {
		t.Errorf("the switch back to English: lang %q", b.attr("html", "lang"))
	}
}

// checkRebinding: on loopback the dashboard answers only to loopback
// names, so a page of another site whose name now points at 127.0.0.1
// reads nothing.
func checkRebinding(t *testing.T, w *world, b *tab) {
	_, port, _ := strings.Cut(w.httpAddr, ":")
	if st := b.open("http://" + rebindHost + ":" + port + "/"); st != 403 {
		t.Errorf("the dashboard by the name %s (127.0.0.1): status %d, want 403", rebindHost, st)
	}
}

func checkOverview(t *testing.T, w *world, b *tab, ids []string) {
	m := b.metrics("#overview")
	if m["queue_depth"] != strconv.Itoa(len(ids)) {
		t.Errorf("overview: queue depth %q, `queue list` has %d", m["queue_depth"], len(ids))
	}
	if m["queue_recipients"] != "1" {
		t.Errorf("overview: queue recipients %q, want 1", m["queue_recipients"])
	}
	def := b.rows("#deferred")
	if len(def) != 1 || def[0].Key != "remote.example" || def[0].N != 1 || def[0].Shown != "1" {
		t.Errorf("overview: deferred by destination %+v, want remote.example 1", def)
	}
	// The session counter is read live: it is /metrics' at this moment.
	if want := metricSum(b.fetchText("/metrics"), "hikyaku_smtp_sessions_total"); m["sessions_total"] != want {
		t.Errorf("overview: %s SMTP sessions since the start, /metrics says %s", m["sessions_total"], want)
	}
	if !b.exists("#running-none") {
		t.Errorf("overview: a campaign shown as running, none is: %q", b.text("#running"))
	}
}

func checkCampaigns(t *testing.T, tr *truth, b *tab) {
	list := tr.list
	shown := b.rows("#campaigns")
	if len(shown) != len(list) {
		t.Fatalf("campaigns: %d rows, `campaign list` has %d", len(shown), len(list))
	}
	for _, c := range list {
		css := fmt.Sprintf(`#campaigns tr[data-campaign="%d"]`, c.ID)
		m := b.metrics(css)
		want := map[string]string{"state": c.State, "total": strconv.Itoa(c.Recipients),
			"done": strconv.Itoa(c.Sent + c.Failed), "sent": strconv.Itoa(c.Sent), "failed": strconv.Itoa(c.Failed)}
		if !maps.Equal(m, want) {
			t.Errorf("campaigns: %s shows %v, `campaign list` says %v", c.Name, m, want)
		}
	}
}

// checkCampaign compares campaign 1's page with status, report (by code,
// domain, MX and reason) and export.
func checkCampaign(t *testing.T, tr *truth, b *tab, lang string) {
	st, rep := tr.status, tr.report
	m := b.metrics("#live")
	want := map[string]string{
		"state": st.Campaign.State, "total": strconv.Itoa(st.Recipients), "done": strconv.Itoa(st.Done),
		"sent": strconv.Itoa(st.States["sent"]), "failed": strconv.Itoa(st.States["failed"]),
		"pending": strconv.Itoa(st.States["pending"]), "claimed": strconv.Itoa(st.States["claimed"]),
		"suppressed": strconv.Itoa(rep.SkippedSuppressed), "invalid": strconv.Itoa(st.States["invalid"]),
		"attempts": strconv.Itoa(st.Attempts), "percent": strconv.FormatFloat(st.PercentDone, 'f', 1, 64),
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s campaign page: %s shows %q, `campaign status`/`report` say %q", lang, k, m[k], v)
		}
	}

	// Results by code, with each code's class and explanation.
	codes := b.rows("#codes")
	if len(codes) != len(rep.Rows) {
		t.Errorf("%s campaign page: %d codes, `campaign report` has %d", lang, len(codes), len(rep.Rows))
	}
	for _, r := range rep.Rows {
		i := slices.IndexFunc(codes, func(s shownRow) bool { return s.Code == r.Code })
		if i < 0 {
			t.Errorf("%s campaign page: no row for code %d", lang, r.Code)
			continue
		}
		s, explain := codes[i], r.EN
		if lang == "ja" {
			explain = r.JA
		}
		// The class column is the code table's (explain), where the
		// report groups a 2xx as "delivered" and the table says "success".
		class := tr.explain[r.Code].Class
		if s.N != r.Count || s.Shown != strconv.Itoa(r.Count) || s.Class != class || s.Explain != explain {
			t.Errorf("%s campaign page, code %d: shows %d (%q) %q %q; `campaign report` says %d, %q, `explain` class %q",
				lang, r.Code, s.N, s.Shown, s.Class, s.Explain, r.Count, explain, class)
		}
	}
	// The chart: an SVG bar per code, as long as its count says.
	bars := eval[[]struct {
		Code  string  `json:"code"`
		N     int     `json:"n"`
		Width float64 `json:"width"`
	}](b, `[...document.querySelectorAll("svg#chart-codes g.bar, #chart-codes g.bar")].map(g => ({code: g.dataset.code, n: +g.dataset.n, width: g.querySelector("rect") ? g.querySelector("rect").getBBox().width : 0}))`)
	shownBars := map[string]int{}
	widest, widestN := 0.0, 0
	for _, g := range bars {
		shownBars[g.Code] = g.N
		if g.Width > widest {
			widest, widestN = g.Width, g.N
		}
	}
	wantBars := map[string]int{}
	maxN := 0
	for _, r := range rep.Rows {
		wantBars[strconv.Itoa(r.Code)] = r.Count
		maxN = max(maxN, r.Count)
	}
	if !maps.Equal(shownBars, wantBars) || widestN != maxN {
		t.Errorf("%s campaign page: chart bars %v (widest for %d), `campaign report` says %v", lang, shownBars, widestN, wantBars)
	}
	for _, g := range bars {
		if want := widest * float64(g.N) / float64(maxN); math.Abs(g.Width-want) > 2 {
			t.Errorf("%s campaign page: the bar of %s (%d) is %.0f px wide, want %.0f (%d is %.0f)", lang, g.Code, g.N, g.Width, want, maxN, widest)
		}
	}

	// By domain and by MX: each key's total and its code chips.
	for _, by := range []struct{ css, by string }{{"#by-domain", "domain"}, {"#by-mx", "mx"}} {
		shown := b.rows(by.css)
		cli := tr.by[by.by]
		if len(shown) != len(cli) {
			t.Errorf("%s campaign page %s: %d rows, `report --by %s` has %d", lang, by.css, len(shown), by.by, len(cli))
		}
		for _, r := range cli {
			i := slices.IndexFunc(shown, func(s shownRow) bool { return s.Key == r.Key })
			if i < 0 {
				t.Errorf("%s campaign page %s: no row for %q", lang, by.css, r.Key)
				continue
			}
			total := 0
			for _, n := range r.Codes {
				total += n
			}
			s := shown[i]
			if s.N != total || s.Shown != strconv.Itoa(total) || !maps.Equal(s.Codes, r.Codes) {
				t.Errorf("%s campaign page %s %q: %d (%q) %v, `report --by %s` says %d %v", lang, by.css, r.Key, s.N, s.Shown, s.Codes, by.by, total, r.Codes)
			}
			for _, c := range s.Chips {
				code, n, _ := strings.Cut(c, "×")
				if strconv.Itoa(s.Codes[code]) != n {
					t.Errorf("%s campaign page %s %q: chip %q, its data says %d", lang, by.css, r.Key, c, s.Codes[code])
				}
			}
		}
	}

	// By reason: a row per reason and code.
	byReason := map[string]int{}
	for _, r := range tr.by["reason"] {
		for c, n := range r.Codes {
			byReason[r.Key+"/"+c] = n
		}
	}
	shownReason := map[string]int{}
	for _, s := range b.rows("#by-reason") {
		shownReason[fmt.Sprintf("%s/%d", s.Key, s.Code)] = s.N
	}
	if !maps.Equal(byReason, shownReason) {
		t.Errorf("%s campaign page by reason: %v, `report --by reason` says %v", lang, shownReason, byReason)
	}

	// The suppressions and scores the campaign caused, against the export.
	exp := tr.export
	if got := b.metrics("h2")["suppressed_by"]; got != strconv.Itoa(rep.SuppressedByCampaign) {
		t.Errorf("%s campaign page: suppressed by this campaign %q, `campaign report` says %d", lang, got, rep.SuppressedByCampaign)
	}
	var suppressed []string
	scores := map[string]int{}
	for _, r := range exp {
		if r.State == "failed" && r.Score > 0 {
			scores[score(r.Score)]++
		}
		if r.Score >= 1 {
			suppressed = append(suppressed, r.Email)
		}
	}
	var shownSupp []string
	for _, s := range b.rows("#campaign-suppressions") {
		shownSupp = append(shownSupp, s.Key)
	}
	sort.Strings(suppressed)
	sort.Strings(shownSupp)
	if !slices.Equal(suppressed, shownSupp) {
		t.Errorf("%s campaign page: suppressed addresses %v, the export's scores of 1 and over %v", lang, shownSupp, suppressed)
	}
	shownScores := map[string]int{}
	for _, s := range eval[[]struct {
		Score string `json:"score"`
		N     int    `json:"n"`
	}](b, `[...document.querySelectorAll("#scores tbody tr")].map(tr => ({score: tr.dataset.score, n: +tr.querySelector("[data-n]").dataset.n}))`) {
		shownScores[s.Score] = s.N
	}
	if !maps.Equal(shownScores, scores) {
		t.Errorf("%s campaign page: scores %v, the export's failed rows have %v", lang, shownScores, scores)
	}

	// The export link gives the rows `campaign export` gives.
	href := b.attr("#export", "href")
	if href == "" {
		t.Errorf("%s campaign page: no export link", lang)
		return
	}
	lines := strings.Split(strings.TrimRight(b.fetchText(href), "\n"), "\n")
	if len(lines) != len(exp)+1 {
		t.Fatalf("%s campaign page: the export link gives %d lines, `campaign export` %d rows", lang, len(lines), len(exp))
	}
	head := strings.Split(lines[0], "\t")
	for i, r := range exp {
		cells := map[string]string{}
		for j, c := range strings.Split(lines[i+1], "\t") {
			if j < len(head) {
				cells[head[j]] = c
			}
		}
		want := map[string]string{"row": strconv.FormatInt(r.Row, 10), "email": r.Email, "state": r.State,
			"code": strconv.Itoa(r.Code), "enhanced": r.Enhanced, "reason": r.Reason, "text": r.Text}
		for k, v := range want {
			if cells[k] != v {
				t.Errorf("%s export link, row %d: %s %q, `campaign export` has %q", lang, r.Row, k, cells[k], v)
			}
		}
	}
}

func checkQueue(t *testing.T, b *tab, ids []string) {
	var shown []string
	for _, r := range b.rows("#queue") {
		shown = append(shown, r.Key)
	}
	if !slices.Equal(shown, ids) {
		t.Errorf("queue page: messages %v, `queue list` has %v", shown, ids)
	}
	if m := b.metrics("main"); m["total"] != strconv.Itoa(len(ids)) || m["matched"] != strconv.Itoa(len(ids)) {
		t.Errorf("queue page: %v, want %d of %d", m, len(ids), len(ids))
	}
	// The domain filter: nothing for a domain that has nothing queued.
	b.open(strings.TrimSuffix(b.location(), "/queue") + "/queue?domain=elsewhere.example")
	if n := len(b.rows("#queue")); n != 0 {
		t.Errorf("queue page filtered by elsewhere.example: %d messages", n)
	}
}

func checkMessage(t *testing.T, tr *truth, b *tab, id string) {
	show := tr.show
	if got := b.text("#message-id"); got != id {
		t.Errorf("message page: id %q, want %q", got, id)
	}
	if from := b.text("#envelope-from"); from != "sender@example.test" || !strings.Contains(show, from) {
		t.Errorf("message page: envelope from %q; `queue show`:\n%s", from, show)
	}
	rc := b.rows("#recipients")
	if len(rc) != 1 || rc[0].Key != "someone@remote.example" {
		t.Errorf("message page: recipients %+v", rc)
	}
	if !b.exists("#retry-form") || !b.exists("#delete-form") || !b.exists("#delete-confirm") {
		t.Errorf("message page: no retry or confirmed delete form")
	}
}

func checkSuppressions(t *testing.T, tr *truth, b *tab) {
	if got := b.metrics("main")["suppressions_total"]; got != strconv.Itoa(len(tr.suppress)) {
		t.Errorf("suppressions page: total %q, `campaign suppress list` has %d", got, len(tr.suppress))
	}
	want := slices.Clone(tr.suppress)
	var shown []string
	for _, r := range b.rows("#suppressions") {
		shown = append(shown, r.Key)
	}
	sort.Strings(want)
	sort.Strings(shown)
	if !slices.Equal(shown, want) {
		t.Errorf("suppressions page: %v, `campaign suppress list` has %v", shown, want)
	}
}

func checkAddress(t *testing.T, w *world, tr *truth, b *tab, addr, lang string) {
	var row cliExportRow
	for _, r := range tr.export {
		if r.Email == addr {
			row = r
		}
	}
	m := b.metrics("main")
	if m["score"] != score(row.Score) {
		t.Errorf("%s address page %s: score %q, the export says %s", lang, addr, m["score"], score(row.Score))
	}
	if !slices.Contains(tr.suppress, addr) || !b.exists("#remove-form") || m["suppressed"] != "true" {
		t.Errorf("%s address page %s: suppressed per CLI %v, shown %q, remove form %v", lang, addr, slices.Contains(tr.suppress, addr), m["suppressed"], b.exists("#remove-form"))
	}
	hist := b.rows("#history")
	if len(hist) != 1 || hist[0].Code != row.Code {
		t.Errorf("%s address page %s: history %+v, want one row with %d", lang, addr, hist, row.Code)
		return
	}
	want := tr.explain[row.Code].EN
	if lang == "ja" {
		want = tr.explain[row.Code].JA
	}
	if hist[0].Explain != want {
		t.Errorf("%s address page %s: %d explained as %q, `explain` says %q", lang, addr, row.Code, hist[0].Explain, want)
	}
}

func checkCodes(t *testing.T, tr *truth, b *tab, lang string) {
	if n := eval[int](b, `document.querySelectorAll("#code-table tbody tr").length`); n < 50 {
		t.Errorf("%s code reference: %d codes", lang, n)
	}
	for code, e := range tr.explain {
		css := fmt.Sprintf("#code-%d", code)
		got := []string{b.attr(css, "data-class"), b.attr(css, "data-weight"), b.text(css + ` td[lang="en"]`), b.text(css + ` td[lang="ja"]`)}
		want := []string{e.Class, score(e.Weight), e.EN, e.JA}
		if !slices.Equal(got, want) {
			t.Errorf("%s code reference %d: %q, `explain` says %q", lang, code, got, want)
		}
	}
}

// testLive watches a campaign's page while `campaign run` sends it at
// liveRate a second: its numbers must change without a reload.
func testLive(t *testing.T, w *world, browser context.Context, shots string) {
	w = w.on(t)
	list, tmpl := w.writeList("live", liveRows)
	run := exec.Command(w.bin, "campaign", "run", "--list", list, "--template", tmpl, "--name", "live",
		"--rate", strconv.Itoa(liveRate), "--config", w.cfg)
	var runErr bytes.Buffer
	run.Stderr = &runErr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- run.Wait() }()
	t.Cleanup(func() {
		if run.ProcessState == nil {
			run.Process.Kill()
			<-done
		}
	})
	// The campaign's id once it is loaded.
	var id int64
	for deadline := time.Now().Add(10 * time.Second); id == 0; {
		for _, c := range jsonLinesOrArray[cliListRow](w, w.hk("campaign", "list", "--json")) {
			if c.Name == "live" && c.State == "running" {
				id = c.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign live is not running after 10s\n%s", runErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The overview lists it as running meanwhile.
	// (Its list of running campaigns is a snapshot of 2 s, and not in the
	// live section: a reload shows it.)
	o := newTab(t, browser, shots, "en")
	var running []shownRow
	var counts map[string]string
	for deadline := time.Now().Add(6 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		o.open(w.base() + "/")
		running, counts = o.rows("#running"), o.metrics("#running")
		if len(running) > 0 && counts["total"] == strconv.Itoa(liveRows) || time.Now().After(deadline) {
			break
		}
	}
	if len(running) != 1 || running[0].Key != strconv.FormatInt(id, 10) || counts["total"] != strconv.Itoa(liveRows) {
		t.Errorf("overview while live runs: running %+v with %v, want campaign %d of %d rows", running, counts, id, liveRows)
	}
	o.shot("en-overview-running", true)

	b := newTab(t, browser, shots, "en")
	b.open(fmt.Sprintf("%s/campaigns/%d", w.base(), id))
	eval[bool](b, `window.notReloaded = true`)
	// The first event, then a later one: the numbers must have moved
	// between them (the campaign sends about 16 messages in the 2 s
	// between events).
	if !b.waitFor(`document.getElementById("live").hasAttribute("data-updated")`, 5*time.Second) {
		t.Fatalf("live page: no server-sent event in 5s")
	}
	firstAt := time.Now()
	first := b.metrics("#live")
	stamp := b.attr("#live", "data-updated")
	moved := b.waitFor(`document.getElementById("live").getAttribute("data-updated") !== `+jsString(stamp)+
		` && +document.querySelector('#live [data-metric="done"]').innerText > `+first["done"], 6*time.Second)
	second, between := b.metrics("#live"), time.Since(firstAt)
	if !moved || first["state"] != "running" {
		t.Errorf("live page did not move while the campaign ran: %v then %v", first, second)
	}
	if !eval[bool](b, `window.notReloaded === true`) {
		t.Errorf("live page was reloaded; its numbers must come by events")
	}
	if pf, _ := strconv.ParseFloat(first["percent"], 64); pf >= 100 {
		t.Errorf("live page: %v%% at the first event", pf)
	}
	// The rate must be about what the page's own counts say happened
	// between the two readings (attempts over a minute only once the
	// campaign has run a minute).
	d1, _ := strconv.Atoi(first["done"])
	d2, _ := strconv.Atoi(second["done"])
	implied := float64(d2-d1) * 60 / between.Seconds()
	if pm, _ := strconv.ParseFloat(second["per_minute"], 64); moved && pm < implied/3 {
		t.Errorf("live page: rate %s/min, but %d rows were done in the %v between two readings (%.0f/min)", second["per_minute"], d2-d1, between.Round(time.Millisecond), implied)
	}
	// And the time left what is left takes at that pace (three times it
	// at most, and some seconds for the snapshot's age).
	if eta, err := time.ParseDuration(second["eta"]); moved && d2 < liveRows && implied > 0 {
		if want := time.Duration(float64(liveRows-d2) * 60 / implied * float64(time.Second)); err != nil || eta > 3*want+5*time.Second {
			t.Errorf("live page: time left %q for %d rows, at the pace of the two readings %v", second["eta"], liveRows-d2, want.Round(time.Second))
		}
	}
	t.Logf("live page: done %s (%s%%, %s/min, ETA %s) then %s (%s%%, %s/min, ETA %s) %v later", first["done"], first["percent"],
		first["per_minute"], first["eta"], second["done"], second["percent"], second["per_minute"], second["eta"], between.Round(time.Millisecond))
	b.shot("en-campaign-live", true)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("campaign run: %v\n%s", err, runErr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("campaign run did not end in 30s")
	}
	// The page ends on the numbers `campaign status` ends on, still
	// without a reload.
	st := w.status("live")
	if !b.waitFor(`document.querySelector('#live [data-metric="state"]').innerText === `+jsString(st.Campaign.State)+
		` && document.querySelector('#live [data-metric="done"]').innerText === "`+strconv.Itoa(st.Done)+`"`, 10*time.Second) {
		t.Errorf("live page: not at state %q with %d done 10s after the run", st.Campaign.State, st.Done)
	}
	m := b.metrics("#live")
	for k, v := range map[string]string{"done": strconv.Itoa(st.Done), "sent": strconv.Itoa(st.States["sent"]),
		"failed": strconv.Itoa(st.States["failed"]), "attempts": strconv.Itoa(st.Attempts)} {
		if m[k] != v {
			t.Errorf("live page after the run: %s %q, `campaign status` says %q", k, m[k], v)
		}
	}
}

// testCSRF: every change the dashboard offers is refused without the
// session's token and happens with it.
func testCSRF(t *testing.T, w *world, browser context.Context) {
	w = w.on(t)
	ids := w.queueIDs()
	if len(ids) != 1 {
		t.Fatalf("relay queue %v", ids)
	}
	id, addr := ids[0], "user1@d1.test"
	b := newTab(t, browser, "", "en")
	b.open(w.base() + "/queue/" + id)
	token := b.attr(`#delete-form input[name="csrf"]`, "value")
	if token == "" {
		t.Fatal("message page: the delete form carries no CSRF token")
	}
	for _, c := range []struct {
		path, body string
		header     map[string]string
	}{
		{"/queue/" + id + "/delete", "confirm=yes", nil},
		{"/queue/" + id + "/delete", "confirm=yes&csrf=" + token + "x", nil},
		{"/queue/" + id + "/retry", "", nil},
		{"/api/queue/" + id + "/delete", "", nil},
		{"/api/queue/" + id + "/delete", "", map[string]string{"X-CSRF-Token": "not-" + token}},
		{"/suppressions/remove", "address=" + addr + "&reason=forged", nil},
		{"/api/suppressions/remove", "address=" + addr + "&reason=forged", nil},
	} {
		if st := b.fetchStatus("POST", c.path, c.body, c.header); st != 403 {
			t.Errorf("POST %s %q without the CSRF token: status %d, want 403", c.path, c.body, st)
		}
	}
	if got := w.queueIDs(); !slices.Equal(got, ids) {
		t.Fatalf("a refused delete deleted: queue %v", got)
	}
	if !w.suppressed(addr) {
		t.Fatalf("a refused removal removed %s", addr)
	}

	// The forms, as a person uses them: retry, then delete, which asks
	// first; a "no" leaves the message.
	eval[bool](b, `document.getElementById("retry").click(), true`)
	if !b.waitFor(`document.getElementById("done") !== null`, 5*time.Second) {
		t.Errorf("retry: no confirmation on %s", b.location())
	}
	b.open(w.base() + "/queue/" + id)
	eval[bool](b, `window.confirm = () => false, document.getElementById("delete-confirm").checked = true, document.getElementById("delete").click(), true`)
	time.Sleep(300 * time.Millisecond)
	if got := w.queueIDs(); !slices.Equal(got, ids) {
		t.Fatalf("delete answered no to its question deleted: queue %v", got)
	}
	eval[bool](b, `window.confirm = () => true, document.getElementById("delete").click(), true`)
	if !b.waitFor(`document.body.dataset.page === "queue" && document.getElementById("done") !== null`, 5*time.Second) {
		t.Errorf("delete: no confirmation on %s", b.location())
	}
	if got := w.queueIDs(); len(got) != 0 {
		t.Errorf("delete with the token: queue still %v", got)
	}

	// Removing a suppression takes a reason, which serve logs.
	b.open(w.base() + "/address?a=" + addr)
	eval[bool](b, `document.getElementById("remove-reason").value = "reinstated by the browser test", document.getElementById("remove").click(), true`)
	if !b.waitFor(`document.getElementById("done") !== null`, 5*time.Second) {
		t.Errorf("remove: no confirmation on %s", b.location())
	}
	if w.suppressed(addr) {
		t.Errorf("remove with the token: %s still suppressed", addr)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(w.serveErr.String(), "reinstated by the browser test") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(w.serveErr.String(), "reinstated by the browser test") {
		t.Errorf("serve did not log the removal's reason:\n%s", w.serveErr)
	}
}

// jsonLinesOrArray decodes a JSON array, or one object a line.
func jsonLinesOrArray[T any](w *world, text string) []T {
	w.t.Helper()
	if strings.HasPrefix(strings.TrimSpace(text), "[") {
		return decode[[]T](w, "JSON array", text)
	}
	return jsonLines[T](w, "JSON lines", text)
}

// metricSum adds up a counter's series in Prometheus' text format.
func metricSum(text, name string) string {
	sum := 0.0
	for _, l := range strings.Split(text, "\n") {
		if l == name || strings.HasPrefix(l, name+" ") || strings.HasPrefix(l, name+"{") {
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return strconv.FormatFloat(sum, 'f', -1, 64)
}
