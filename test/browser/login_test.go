package browser

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/hikyaku/hikyaku/internal/peertest"
)

const (
	adminUser = "admin@example.test"
	adminPass = "correct horse battery staple"
	apiToken  = "token-for-the-browser-test-0123456789"
)

// testLogin runs a second serve whose dashboard listens on farIP, beyond
// loopback, in a network namespace of its own, and a chromium in that
// namespace: every page asks for a login, an admin of the user store or
// the configured token gets in, nobody else does.
func testLogin(t *testing.T, bin, chromium, shots string) {
	w := newWorld(t, bin, peertest.Script{}, farIP,
		`admins = ["`+adminUser+`"]`+"\n"+`token = "`+apiToken+`"`, "")
	w.hkIn(adminPass+"\n", "user", "add", "--password-stdin", adminUser)
	w.hkIn("not the admin\n", "user", "add", "--password-stdin", "other@example.test")
	if !w.startServeInNetns() {
		t.Skip("cannot make a network namespace (unshare -n needs root, and ip and nsenter): the login beyond loopback is not tested")
	}
	browser := newBrowser(t, w.chromiumInNetns(chromium))
	b := newTab(t, browser, shots, "en")

	// Every page and API answer sends a stranger to the login.
	for _, p := range dashboardPages("x") {
		b.open(w.base() + p.path)
		loc, _ := url.Parse(b.location())
		if loc.Path != "/login" || loc.Query().Get("next") != p.path {
			t.Errorf("%s beyond loopback without a login: at %s, want /login?next=%s", p.path, b.location(), p.path)
		}
	}
	for _, api := range []string{"/api/overview", "/api/campaigns", "/api/queue", "/api/suppressions", "/api/codes", "/api/events"} {
		if st := b.fetchStatus("GET", api, "", nil); st != 401 {
			t.Errorf("GET %s without a login: %d, want 401", api, st)
		}
	}
	b.open(w.base() + "/campaigns")
	b.shot("en-login", true)

	login := func(b *tab, user, pass string) {
		b.t.Helper()
		eval[bool](b, `document.getElementById("login-user").value = `+jsString(user)+
			`, document.getElementById("login-password").value = `+jsString(pass)+
			`, document.getElementById("login-submit").click(), true`)
		time.Sleep(100 * time.Millisecond)
		b.waitFor(`document.readyState === "complete"`, 5*time.Second)
	}
	// A wrong password, and a right one of a user who is no admin.
	for _, c := range [][2]string{{adminUser, "wrong"}, {"other@example.test", "not the admin"}, {"", "wrong-token"}} {
		login(b, c[0], c[1])
		if !b.waitFor(`document.getElementById("login-failed") !== null`, 5*time.Second) {
			t.Errorf("login as %q with %q: not refused, at %s", c[0], c[1], b.location())
		}
		if st := b.fetchStatus("GET", "/api/overview", "", nil); st != 401 {
			t.Errorf("after the refused login as %q: /api/overview %d", c[0], st)
		}
	}

	login(b, adminUser, adminPass)
	if !b.waitFor(`document.body.dataset.page === "campaigns"`, 5*time.Second) {
		t.Fatalf("admin login: at %s (%q), want the campaigns page it came from", b.location(), b.text("main"))
	}
	if st := b.fetchStatus("GET", "/api/overview", "", nil); st != 200 {
		t.Errorf("after the admin's login: /api/overview %d", st)
	}
	b.shot("en-campaigns-logged-in", true)
	// The session cookie: no script may read it, no other site may send it.
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{w.base() + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range res.Cookies {
		if c.Name == "hikyaku_session" {
			found = true
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
				t.Errorf("session cookie: HttpOnly %v, SameSite %q; want HttpOnly, Strict", c.HTTPOnly, c.SameSite)
			}
		}
	}
	if !found {
		t.Errorf("no session cookie after the login")
	}
	if js := eval[string](b, `document.cookie`); strings.Contains(js, "hikyaku_session") {
		t.Errorf("the page's script reads the session cookie: %q", js)
	}
	// A logout without the CSRF token is refused: the session stays.
	if st := b.fetchStatus("POST", "/logout", "", nil); st != 403 {
		t.Errorf("POST /logout without the CSRF token: %d, want 403", st)
	}
	if st := b.fetchStatus("GET", "/api/overview", "", nil); st != 200 {
		t.Errorf("after the refused logout: /api/overview %d", st)
	}
	// The logout button ends the session.
	eval[bool](b, `document.getElementById("logout").click(), true`)
	if !b.waitFor(`location.pathname === "/login"`, 5*time.Second) {
		t.Errorf("logout: at %s", b.location())
	}
	if st := b.fetchStatus("GET", "/api/overview", "", nil); st != 401 {
		t.Errorf("after the logout: /api/overview %d", st)
	}

	// The token logs in with no user name, and is a Bearer token for
	// scripts.
	tb := newTab(t, browser, shots, "ja")
	tb.open(w.base() + "/")
	login(tb, "", apiToken)
	if !tb.waitFor(`document.body.dataset.page === "overview"`, 5*time.Second) {
		t.Errorf("token login: at %s", tb.location())
	}
	sb := newTab(t, browser, shots, "en")
	sb.open(w.base() + "/login")
	if st := sb.fetchStatus("GET", "/api/overview", "", map[string]string{"Authorization": "Bearer " + apiToken}); st != 200 {
		t.Errorf("GET /api/overview with the Bearer token: %d", st)
	}
	if st := sb.fetchStatus("GET", "/api/overview", "", map[string]string{"Authorization": "Bearer not-" + apiToken}); st != 401 {
		t.Errorf("GET /api/overview with a wrong Bearer token: %d", st)
	}
}
