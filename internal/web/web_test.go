package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/metrics"
	"github.com/hikyaku/hikyaku/internal/outcome"
	"github.com/hikyaku/hikyaku/internal/queue"
	"github.com/hikyaku/hikyaku/internal/spool"
	"github.com/hikyaku/hikyaku/internal/store"
	"github.com/hikyaku/hikyaku/internal/store/storetest"
)

func TestMain(m *testing.M) {
	// A loaded machine must not turn a test's first view into a
	// "still counting" page; TestPending sets it back.
	firstWait = time.Minute
	os.Exit(m.Run())
}

type fixture struct {
	t   *testing.T
	h   *Handler
	srv *httptest.Server
	c   *http.Client
	st  *store.Store
	q   *queue.Store
	m   *metrics.Metrics
	cid int64
}

const fixtureRows = 2000

// newFixture serves a Handler over a real status store holding one
// campaign of fixtureRows rows (fillCampaign) and a real relay queue
// holding two messages, one deferred.
func newFixture(t *testing.T, dsn string, mod func(*Options)) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, st: st, m: metrics.New()}
	f.cid = fillCampaign(t, dsn, st, "spring-sale", fixtureRows, time.Now().Add(-time.Hour))
	if f.q, err = queue.OpenStore(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.q.Close() })
	for i, to := range [][]string{{"a@one.test", "b@two.test"}, {"c@two.test"}} {
		id := fmt.Sprintf("Q%d", i+1)
		data := []byte("Subject: " + id + "\r\n\r\nbody\r\n")
		var rcpts []spool.Recipient
		for _, a := range to {
			rcpts = append(rcpts, spool.Recipient{Address: a, Relay: a})
		}
		msg := &spool.Message{Envelope: spool.Envelope{ID: id, From: "sender@here.test",
			ReceivedAt: time.Now().Add(-time.Duration(i+1) * time.Minute), Size: int64(len(data)), Recipients: rcpts}, Data: data}
		if err := f.q.Add(msg, rcpts); err != nil {
			t.Fatal(err)
		}
	}
	it, err := f.q.Get("Q1")
	if err != nil {
		t.Fatal(err)
	}
	it.Recipients[1].Status, it.Recipients[1].Attempts = queue.StatusDeferred, 1
	it.Recipients[1].LastCode, it.Recipients[1].LastEnhanced, it.Recipients[1].LastText = 452, "4.2.2", "mailbox full"
	it.Recipients[1].NextAttempt = time.Now().Add(time.Hour)
	if err := f.q.Update(it); err != nil {
		t.Fatal(err)
	}
	opt := Options{Listen: "127.0.0.1:8025", Metrics: f.m.Handler(), Gatherer: f.m.Registry,
		Sessions: func() int { return 3 }, Queue: f.q,
		Store: func(context.Context) (*store.Store, error) { return st, nil }}
	if mod != nil {
		mod(&opt)
	}
	f.h = New(opt)
	f.srv = httptest.NewServer(f.h)
	t.Cleanup(func() { f.srv.Close(); f.h.Close() })
	jar, _ := cookiejar.New(nil)
	f.c = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return f
}

func sqliteDSN(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "status.db") }

// do sends one request; body "" sends none.
func (f *fixture) do(method, path, body string, hdr ...string) (*http.Response, string) {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (f *fixture) get(path string, hdr ...string) string {
	f.t.Helper()
	resp, body := f.do("GET", path, "", hdr...)
	if resp.StatusCode != 200 {
		f.t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, body)
	}
	return body
}

// csrf is the token of the client's session, from the API.
func (f *fixture) csrf() string {
	f.t.Helper()
	var s map[string]string
	if err := json.Unmarshal([]byte(f.get("/api/session")), &s); err != nil || s["csrf"] == "" {
		f.t.Fatalf("no csrf token: %v %v", s, err)
	}
	return s["csrf"]
}

// metric is the text of the element marked data-metric=name (the first).
func metric(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`data-metric="` + regexp.QuoteMeta(name) + `"[^>]*>([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no data-metric=%q in page", name)
	}
	return m[1]
}

var pages = []string{"/", "/campaigns", "/campaigns/1", "/queue", "/queue/Q1", "/suppressions", "/address?a=u7@d7.test", "/codes", "/login"}

// Every page renders in English and in Japanese (by Accept-Language and by
// the switch), with no UI key left untranslated and nothing cacheable.
func TestPagesRenderENJA(t *testing.T) {
	f := newFixture(t, sqliteDSN(t), nil)
	for _, p := range pages {
		for _, lang := range []struct{ accept, nav, html string }{
			{"en-US,en;q=0.9", "Overview", `lang="en"`},
			{"ja,en;q=0.5", "概要", `lang="ja"`},
		} {
			resp, body := f.do("GET", p, "", "Accept-Language", lang.accept)
			if resp.StatusCode != 200 {
				t.Fatalf("%s (%s): %d\n%s", p, lang.accept, resp.StatusCode, body)
			}
			if !strings.Contains(body, lang.nav) || !strings.Contains(body, "<html "+lang.html) {
				t.Errorf("%s (%s): not in that language", p, lang.accept)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("%s: Cache-Control %q", p, cc)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("%s: Content-Type %q", p, ct)
			}
		}
	}
	// The switch keeps the page's query.
	if body := f.get("/address?a=u7%40d7.test"); !strings.Contains(body, `href="/address?a=u7%40d7.test&amp;lang=ja"`) {
		t.Error("the language switch loses the query")
	}
	// The switch wins over Accept-Language, and sticks.
	body := f.get("/codes?lang=ja", "Accept-Language", "en")
	if !strings.Contains(body, `<html lang="ja"`) {
		t.Error("?lang=ja did not switch")
	}
	if body := f.get("/codes", "Accept-Language", "en"); !strings.Contains(body, `<html lang="ja"`) {
		t.Error("the language switch was not kept")
	}
}

// Every page's JSON twin answers JSON, uncacheable; unknown things 404.
func TestAPI(t *testing.T) {
	f := newFixture(t, sqliteDSN(t), nil)
	for _, p := range []string{"/api/overview", "/api/campaigns", "/api/campaigns/1", "/api/campaigns/spring-sale",
		"/api/queue?status=deferred", "/api/queue/Q1", "/api/suppressions?q=u1", "/api/address?a=u7@d7.test", "/api/codes", "/api/session"} {
		resp, body := f.do("GET", p, "")
		var v any
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			resp.Header.Get("Cache-Control") != "no-store" || json.Unmarshal([]byte(body), &v) != nil {
			t.Errorf("%s: %d %s %q", p, resp.StatusCode, resp.Header.Get("Content-Type"), body[:min(len(body), 200)])
		}
	}
	for _, p := range []string{"/api/campaigns/999", "/api/queue/nope", "/campaigns/nope", "/queue/nope"} {
		if resp, _ := f.do("GET", p, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
	var sl SuppressionList
	if err := json.Unmarshal([]byte(f.get("/api/suppressions?q=u17")), &sl); err != nil {
		t.Fatal(err)
	}
	// The suppressed rows (x%10 == 7) whose number starts with 17: 17, 177, 1707 …
	want := 0
	for x := 1; x <= fixtureRows; x++ {
		if x%10 == 7 && strings.HasPrefix(strconv.Itoa(x), "17") {
			want++
		}
	}
	if len(sl.Entries) != want || sl.Total != fixtureRows/10 {
		t.Errorf("search u17: %d entries of %d, want %d of %d", len(sl.Entries), sl.Total, want, fixtureRows/10)
	}
	for _, e := range sl.Entries {
		if !strings.HasPrefix(e.Address, "u17") {
			t.Errorf("search u17 gave %s", e.Address)
		}
	}
}

// Every key a template names has a text: a missing one would show as the
// key itself.
func TestTemplatesKeysTranslated(t *testing.T) {
	names, _ := filepathGlob("templates/*.html")
	re := regexp.MustCompile(`\.T "([a-z_]+)"`)
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if v, ok := uiText[m[1]]; !ok || v[1] == "" {
				t.Errorf("%s: key %q has no English and Japanese text", n, m[1])
			}
		}
	}
}

func filepathGlob(p string) ([]string, error) { return filepath.Glob(p) }

// The campaign page and its API say what the store says.
func TestCampaignNumbersEqualStore(t *testing.T) {
	storetest.ForEngines(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn, nil)
		ctx := context.Background()
		prog, err := f.st.Progress(ctx, f.cid)
		if err != nil {
			t.Fatal(err)
		}
		counts, err := f.st.Counts(ctx, f.cid)
		if err != nil {
			t.Fatal(err)
		}
		body := f.get(fmt.Sprintf("/campaigns/%d", f.cid))
		for name, want := range map[string]int{
			"sent": prog[store.StateSent], "failed": prog[store.StateFailed], "pending": prog[store.StatePending],
			"total": fixtureRows, "done": prog[store.StateSent] + prog[store.StateFailed],
		} {
			if got := metric(t, body, name); got != strconv.Itoa(want) {
				t.Errorf("data-metric=%s: %s, store says %d", name, got, want)
			}
		}
		// The fill's pattern, so the store itself is checked too.
		if prog[store.StateSent] != fixtureRows*7/10 || counts[550] != fixtureRows/10 || counts[452] != fixtureRows/10 {
			t.Fatalf("store: progress %v counts %v", prog, counts)
		}
		for code, n := range counts {
			re := regexp.MustCompile(fmt.Sprintf(`<tr data-code="%d"><td>.*?</td><td data-n="(\d+)"`, code))
			m := re.FindStringSubmatch(body)
			if m == nil || m[1] != strconv.Itoa(n) {
				t.Errorf("code %d: page row %v, store %d", code, m, n)
			}
			if !strings.Contains(body, fmt.Sprintf(`data-code="%d" data-n="%d"`, code, n)) {
				t.Errorf("chart has no bar for %d with %d", code, n)
			}
		}
		// Each code's explanation is the table's, in the page's language.
		ja := f.get(fmt.Sprintf("/campaigns/%d?lang=ja", f.cid))
		if want := codeCount(550, 0, "ja").Short; want == "" || !strings.Contains(ja, want) {
			t.Errorf("Japanese page lacks 550's explanation %q", want)
		}

		var api CampaignPage
		if err := json.Unmarshal([]byte(f.get(fmt.Sprintf("/api/campaigns/%d", f.cid))), &api); err != nil {
			t.Fatal(err)
		}
		if api.Live.Sent != prog[store.StateSent] || api.Live.Total != fixtureRows {
			t.Errorf("API live %+v, store %v", api.Live, prog)
		}
		byDomain, _ := f.st.CountsByDomain(ctx, f.cid)
		sum := 0
		for _, c := range byDomain {
			if c.Key == "d7.test" {
				sum += c.N
			}
		}
		for _, k := range api.Agg.ByDomain {
			if k.Key == "d7.test" && k.Total != sum {
				t.Errorf("d7.test: API %d, store %d", k.Total, sum)
			}
		}
		// By reason, summed from CampaignGroups, is CountsByReason.
		reasons, err := f.st.CountsByReason(ctx, f.cid)
		if err != nil {
			t.Fatal(err)
		}
		if len(reasons) != len(api.Agg.ByReason) || len(reasons) < 3 {
			t.Errorf("by reason: API %d lines, store %d", len(api.Agg.ByReason), len(reasons))
		}
		for _, want := range reasons {
			found := false
			for _, got := range api.Agg.ByReason {
				found = found || got.Reason == want.Reason && got.Code == want.Code && got.N == want.N && got.Async == want.Async
			}
			if !found {
				t.Errorf("by reason: %+v not in the API", want)
			}
		}
		supp, _ := f.st.SuppressedBy(ctx, f.cid)
		if api.Agg.SuppressedBy != supp || supp != fixtureRows/10 {
			t.Errorf("suppressed by: API %d, store %d", api.Agg.SuppressedBy, supp)
		}
		if got := metric(t, body, "suppressed_by"); got != strconv.Itoa(supp) {
			t.Errorf("page suppressed_by %s, store %d", got, supp)
		}
		mx, _ := f.st.CountsByMX(ctx, f.cid)
		mxSum := map[string]int{}
		for _, c := range mx {
			mxSum[c.Key] += c.N
		}
		for _, k := range api.Agg.ByMX {
			if k.Total != mxSum[k.Key] {
				t.Errorf("MX %s: API %d, store %d", k.Key, k.Total, mxSum[k.Key])
			}
		}
		// The list.
		list := f.get("/campaigns")
		if !strings.Contains(list, fmt.Sprintf(`data-campaign="%d" data-name="spring-sale"`, f.cid)) {
			t.Error("campaign list lacks the campaign")
		}
		// The export has every row.
		resp, tsvBody := f.do("GET", fmt.Sprintf("/api/campaigns/%d/export", f.cid), "")
		if resp.StatusCode != 200 || strings.Count(tsvBody, "\n") != fixtureRows+1 {
			t.Errorf("export: %d, %d lines", resp.StatusCode, strings.Count(tsvBody, "\n"))
		}
	})
}

// Read-only endpoints answer every other method 405 with an Allow header.
func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, sqliteDSN(t), nil)
	for _, p := range []string{"/metrics", "/healthz", "/", "/campaigns", "/codes", "/api/overview", "/api/codes"} {
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW"} {
			resp, body := f.do(m, p, "")
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d %q", m, p, resp.StatusCode, body)
				continue
			}
			if a := resp.Header.Get("Allow"); !strings.Contains(a, "GET") {
				t.Errorf("%s %s: Allow %q", m, p, a)
			}
		}
	}
	if body := f.get("/healthz"); body != "ok sessions=3\n" {
		t.Errorf("healthz: %q", body)
	}
	if body := f.get("/metrics"); !strings.Contains(body, "hikyaku_smtp_sessions_total") {
		t.Error("metrics: no hikyaku counters")
	}
	// A write route refuses GET the same way.
	resp, _ := f.do("GET", "/suppressions/remove", "")
	if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(resp.Header.Get("Allow"), "POST") {
		t.Errorf("GET on a POST route: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// Beyond loopback, everything but /metrics, /healthz, /login and static
// files needs a login: an admin of users.toml, or the token.
func TestLoginRequired(t *testing.T) {
	dir, err := mailbox.OpenDirectory(filepath.Join(t.TempDir(), "users.toml"), []string{"here.test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"boss@here.test", "clerk@here.test"} {
		if err := dir.AddUser(mailbox.User{Address: u}, "secret-"+u); err != nil {
			t.Fatal(err)
		}
	}
	f := newFixture(t, sqliteDSN(t), func(o *Options) {
		o.Listen, o.TLS = "0.0.0.0:8025", true
		o.Users, o.Admins, o.Token = dir, []string{"boss@here.test"}, "tok-0123456789abcdef"
	})
	resp, _ := f.do("GET", "/campaigns", "")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("no login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := f.do("GET", "/api/overview", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API without login: %d", resp.StatusCode)
	}
	for _, p := range []string{"/healthz", "/metrics", "/login", "/static/live.js"} {
		if resp, _ := f.do("GET", p, ""); resp.StatusCode != 200 {
			t.Errorf("%s needs no login, got %d", p, resp.StatusCode)
		}
	}
	login := func(user, pass string) *http.Response {
		body := f.get("/login")
		tok := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
		if tok == nil {
			t.Fatal("login form has no csrf")
		}
		resp, _ := f.do("POST", "/login", url.Values{"csrf": {tok[1]}, "user": {user}, "password": {pass}, "next": {"/campaigns"}}.Encode())
		return resp
	}
	if resp := login("clerk@here.test", "secret-clerk@here.test"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a user who is no admin logged in: %d", resp.StatusCode)
	}
	if resp := login("boss@here.test", "wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong password logged in: %d", resp.StatusCode)
	}
	resp = login("boss@here.test", "secret-boss@here.test")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/campaigns" {
		t.Fatalf("admin login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sc *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			sc = c
		}
	}
	if sc == nil || !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie %+v: want HttpOnly, Secure, SameSite=Strict", sc)
	}
	// The test server is plain HTTP; the jar keeps a Secure cookie for
	// https only, so send it by hand.
	if resp, _ := f.do("GET", "/campaigns", "", "Cookie", sc.Name+"="+sc.Value); resp.StatusCode != 200 {
		t.Errorf("after login: %d", resp.StatusCode)
	}
	f.c.Jar, _ = cookiejar.New(nil) // no session: the header alone
	if resp, _ := f.do("GET", "/api/overview", "", "Authorization", "Bearer tok-0123456789abcdef"); resp.StatusCode != 200 {
		t.Errorf("Bearer token: %d", resp.StatusCode)
	}
	if resp, _ := f.do("GET", "/api/overview", "", "Authorization", "Bearer wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong Bearer token: %d", resp.StatusCode)
	}
	// Guessing is bounded: after maxFailures failures, even the right
	// password waits (2 failed above).
	for i := 2; i < maxFailures; i++ {
		if resp := login("", "guess"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, resp.StatusCode)
		}
	}
	if resp := login("boss@here.test", "secret-boss@here.test"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after %d failures: %d, want 429", maxFailures, resp.StatusCode)
	}
}

// Loopback needs no login, but only for loopback names (DNS rebinding).
func TestLoopbackHost(t *testing.T) {
	f := newFixture(t, sqliteDSN(t), nil)
	f.get("/")
	req, _ := http.NewRequest("GET", f.srv.URL+"/", nil)
	req.Host = "attacker.example:8025"
	resp, err := f.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Host: %d", resp.StatusCode)
	}
	// The probes answer any Host, as they did before the dashboard.
	req, _ = http.NewRequest("GET", f.srv.URL+"/healthz", nil)
	req.Host = "mx.example.test:8025"
	if resp, err = f.c.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz with another Host: %d", resp.StatusCode)
	}
}

// A state change without the session's CSRF token is refused (403) and
// changes nothing; with it, it happens and is logged.
func TestCSRF(t *testing.T) {
	f := newFixture(t, sqliteDSN(t), nil)
	ctx := context.Background()
	addr := "u7@d7.test"
	if ok, _ := f.st.Suppressed(ctx, addr); !ok {
		t.Fatal("fixture: address not suppressed")
	}
	tok := f.csrf()
	form := func(csrf string) string {
		v := url.Values{"address": {addr}, "reason": {"asked by phone"}}
		if csrf != "" {
			v.Set("csrf", csrf)
		}
		return v.Encode()
	}
	for _, bad := range []string{"", "not-the-token"} {
		if resp, _ := f.do("POST", "/suppressions/remove", form(bad)); resp.StatusCode != http.StatusForbidden {
			t.Errorf("csrf %q: %d", bad, resp.StatusCode)
		}
		if resp, _ := f.do("POST", "/api/suppressions/remove", form(bad)); resp.StatusCode != http.StatusForbidden {
			t.Errorf("API csrf %q: %d", bad, resp.StatusCode)
		}
	}
	// Another session's token is no good either.
	other := newClient()
	otherTok := func() string {
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/session", nil)
		resp, err := other.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s map[string]string
		json.NewDecoder(resp.Body).Decode(&s)
		return s["csrf"]
	}()
	if resp, _ := f.do("POST", "/suppressions/remove", form(otherTok)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another session's token: %d", resp.StatusCode)
	}
	if ok, _ := f.st.Suppressed(ctx, addr); !ok {
		t.Fatal("a refused request changed the list")
	}
	// No reason: refused.
	if resp, _ := f.do("POST", "/suppressions/remove", url.Values{"csrf": {tok}, "address": {addr}}.Encode()); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no reason: %d", resp.StatusCode)
	}
	resp, _ := f.do("POST", "/suppressions/remove", form(tok))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("with the token: %d", resp.StatusCode)
	}
	if ok, _ := f.st.Suppressed(ctx, addr); ok {
		t.Error("still suppressed")
	}
	page := f.get("/address?a=" + url.QueryEscape(addr))
	if metric(t, page, "suppressed") != "false" || metric(t, page, "score") != "0" {
		t.Error("address page does not show the removal")
	}
}

func newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// Retry and delete of a queued message; delete needs confirm=yes.
func TestQueueActions(t *testing.T) {
	f := newFixture(t, sqliteDSN(t), nil)
	tok := f.csrf()
	list := f.get("/queue?status=deferred")
	if metric(t, list, "matched") != "1" || !strings.Contains(list, `data-id="Q1"`) || strings.Contains(list, `data-id="Q2"`) {
		t.Errorf("deferred filter: %s", list)
	}
	if l := f.get("/queue?domain=two.test"); metric(t, l, "matched") != "2" {
		t.Error("domain filter")
	}
	msg := f.get("/queue/Q1")
	if !strings.Contains(msg, `data-address="b@two.test" data-status="deferred"`) || !strings.Contains(msg, "mailbox full") {
		t.Error("message page lacks the deferred recipient's attempt")
	}
	ov := f.get("/")
	if metric(t, ov, "queue_depth") != "2" || !strings.Contains(ov, `data-domain="two.test"`) {
		t.Error("overview: queue depth or deferred domain")
	}
	if resp, _ := f.do("POST", "/queue/Q1/retry", url.Values{"csrf": {tok}}.Encode()); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("retry: %d", resp.StatusCode)
	}
	if !f.q.TakeRetryRequest("Q1") {
		t.Error("retry was not requested")
	}
	if resp, _ := f.do("POST", "/queue/Q2/delete", url.Values{"csrf": {tok}}.Encode()); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("delete without confirm: %d", resp.StatusCode)
	}
	if _, err := f.q.Get("Q2"); err != nil {
		t.Fatal("unconfirmed delete deleted")
	}
	if resp, _ := f.do("POST", "/api/queue/Q2/delete", url.Values{"confirm": {"yes"}}.Encode(), "X-CSRF-Token", tok); resp.StatusCode != 200 {
		t.Fatalf("API delete: %d", resp.StatusCode)
	}
	if _, err := f.q.Get("Q2"); err == nil {
		t.Error("Q2 still queued")
	}
	if resp, _ := f.do("GET", "/queue/Q2", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted message: %d", resp.StatusCode)
	}
}

// Per-minute rates and the TLS share come from the counters.
func TestOverviewRates(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	f := newFixture(t, sqliteDSN(t), func(o *Options) { o.Now = clock })
	// New took the first sample, at now, with every counter at 0.
	f.m.MessagesAccepted.Add(10)
	f.m.SessionsTotal.Add(4)
	now = now.Add(time.Minute)
	f.m.MessagesAccepted.Add(42)
	f.m.DeliveryResults.WithLabelValues("250", "x.test").Add(30)
	f.m.DeliveryResults.WithLabelValues("550", "x.test").Add(5)
	f.m.Reply(220, "2.0.0")
	f.m.Reply(220, "")
	var o Overview
	if err := json.Unmarshal([]byte(f.get("/api/overview")), &o); err != nil {
		t.Fatal(err)
	}
	if o.InPerMinute != 52 || o.OutPerMinute != 30 || o.TLSShare != 0.25 || o.Sessions != 3 {
		t.Errorf("overview %+v", o)
	}
	// Half a minute later, from the sample a minute ago: 5 in 30 s.
	f.h.sample()
	now = now.Add(30 * time.Second)
	f.m.MessagesAccepted.Add(5)
	if err := json.Unmarshal([]byte(f.get("/api/overview")), &o); err != nil {
		t.Fatal(err)
	}
	if o.InPerMinute != 10 || o.OutPerMinute != 0 {
		t.Errorf("30 s later: in %v out %v per minute, want 10 and 0", o.InPerMinute, o.OutPerMinute)
	}
	if len(o.Running) != 1 || o.Running[0].Total != fixtureRows {
		t.Errorf("running campaigns %+v", o.Running)
	}
}

// The live streams send events, and the campaign's moves with the store.
func TestEvents(t *testing.T) {
	defer func(a, b time.Duration) { eventEvery, liveEvery = a, b }(eventEvery, liveEvery)
	eventEvery, liveEvery = 50*time.Millisecond, 0
	f := newFixture(t, sqliteDSN(t), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	read := func(path, event string, each func(data string) bool) {
		req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+path, nil)
		resp, err := f.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("%s: Content-Type %q", path, ct)
		}
		sc := bufio.NewScanner(resp.Body)
		name := ""
		for sc.Scan() {
			line := sc.Text()
			if n, ok := strings.CutPrefix(line, "event: "); ok {
				name = n
			} else if d, ok := strings.CutPrefix(line, "data: "); ok && name == event {
				if !each(d) {
					return
				}
			}
		}
		t.Fatalf("%s: stream ended: %v", path, sc.Err())
	}
	n := 0
	read("/api/events", "overview", func(d string) bool {
		var o Overview
		if err := json.Unmarshal([]byte(d), &o); err != nil || o.Sessions != 3 {
			t.Fatalf("overview event %s: %v", d, err)
		}
		n++
		return n < 2
	})
	first := -1
	read(fmt.Sprintf("/api/campaigns/%d/events", f.cid), "live", func(d string) bool {
		var l Live
		if err := json.Unmarshal([]byte(d), &l); err != nil {
			t.Fatal(err)
		}
		if first < 0 {
			first = l.Done
			// Finish ten pending rows, as a runner would.
			rs, err := f.st.Claim(ctx, f.cid, "test", 10, time.Minute)
			if err != nil || len(rs) != 10 {
				t.Fatalf("claim: %d %v", len(rs), err)
			}
			var fs []store.Final
			for _, r := range rs {
				fs = append(fs, store.Final{RecipientID: r.ID, Result: outcome.Result{Code: 250, Enhanced: "2.0.0", Text: "ok"}})
			}
			if _, err := f.st.FinishBatch(ctx, fs); err != nil {
				t.Fatal(err)
			}
			return true
		}
		return l.Done != first+10
	})
}

// The first view after a campaign's state changes counts again: a run
// that just ended shows its final numbers, not the last running ones.
func TestStateChangeRecounts(t *testing.T) {
	defer func(a time.Duration) { aggEvery = a }(aggEvery)
	aggEvery = time.Hour
	f := newFixture(t, sqliteDSN(t), nil)
	ctx := context.Background()
	path := fmt.Sprintf("/campaigns/%d", f.cid)
	f.get(path)
	rs, err := f.st.Claim(ctx, f.cid, "test", fixtureRows, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var fs []store.Final
	for _, r := range rs {
		fs = append(fs, store.Final{RecipientID: r.ID, Result: outcome.Result{Code: 250, Enhanced: "2.0.0", Text: "ok"}})
	}
	if _, err := f.st.FinishBatch(ctx, fs); err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetCampaignState(ctx, f.cid, store.CampaignDone); err != nil {
		t.Fatal(err)
	}
	counts, _ := f.st.Counts(ctx, f.cid)
	body := f.get(path)
	if metric(t, body, "state") != "done" || !strings.Contains(body, fmt.Sprintf(`<tr data-code="250"><td><a href="/codes#code-250">250</a></td><td data-n="%d"`, counts[250])) {
		t.Errorf("after the run ended: state %s, 250 not %d", metric(t, body, "state"), counts[250])
	}
}

// A first view whose snapshot takes long renders at once, says it is
// counting and reloads; once counted, the numbers are there.
func TestPending(t *testing.T) {
	defer func(w time.Duration) { firstWait = w }(firstWait)
	firstWait = 20 * time.Millisecond
	release := make(chan struct{})
	var bg *store.Store
	f := newFixture(t, sqliteDSN(t), func(o *Options) {
		o.Background = func(ctx context.Context) (*store.Store, error) {
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return bg, nil
		}
	})
	bg = f.st
	path := fmt.Sprintf("/campaigns/%d", f.cid)
	start := time.Now()
	body := f.get(path)
	if d := time.Since(start); d > 5*time.Second || !strings.Contains(body, `id="counting"`) || !strings.Contains(body, `http-equiv="refresh"`) {
		t.Fatalf("pending page after %v: counting note %v", d, strings.Contains(body, `id="counting"`))
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(body, `id="counting"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		body = f.get(path)
	}
	if strings.Contains(body, `id="counting"`) || metric(t, body, "total") != strconv.Itoa(fixtureRows) {
		t.Errorf("after counting: total %s", metric(t, body, "total"))
	}
}
