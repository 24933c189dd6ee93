package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	cookieName = "hikyaku_session"
	// sessionIdle is how long a session lives without a request.
	sessionIdle = 12 * time.Hour
	// maxSessions bounds the memory anonymous visitors can make us spend;
	// past it the least recently used session is dropped.
	maxSessions = 10000
)

type sessionKey struct{}

// session is one browser's: who logged in ("" for nobody, on loopback)
// and the CSRF token its forms carry.
type session struct {
	id, user, csrf string
	seen           time.Time
}

type sessions struct {
	now  func() time.Time
	mu   sync.Mutex
	m    map[string]*session
	fail map[string][]time.Time // failed logins by client address, within failWindow
}

// A client address gets maxFailures failed logins per failWindow; then
// 429 until the oldest is out of the window.
const (
	maxFailures = 10
	failWindow  = 10 * time.Minute
)

func (ss *sessions) recent(ip string) []time.Time {
	now := ss.now()
	ts := ss.fail[ip]
	for len(ts) > 0 && now.Sub(ts[0]) > failWindow {
		ts = ts[1:]
	}
	if len(ts) == 0 {
		delete(ss.fail, ip)
		return nil
	}
	ss.fail[ip] = ts
	return ts
}

func (ss *sessions) mayTry(ip string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.recent(ip)) < maxFailures
}

func (ss *sessions) failed(ip string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.fail) > maxSessions {
		ss.fail = map[string][]time.Time{} // a flood of addresses: forget them all rather than grow
	}
	ss.fail[ip] = append(ss.recent(ip), ss.now())
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, m: map[string]*session{}, fail: map[string][]time.Time{}}
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (ss *sessions) create(user string) *session {
	now := ss.now()
	s := &session{id: randomToken(), user: user, csrf: randomToken(), seen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.m) >= maxSessions {
		var oldest *session
		for _, o := range ss.m {
			if now.Sub(o.seen) > sessionIdle {
				delete(ss.m, o.id)
			} else if oldest == nil || o.seen.Before(oldest.seen) {
				oldest = o
			}
		}
		if len(ss.m) >= maxSessions && oldest != nil {
			delete(ss.m, oldest.id)
		}
	}
	ss.m[s.id] = s
	return s
}

func (ss *sessions) fromRequest(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[c.Value]
	if s == nil {
		return nil
	}
	now := ss.now()
	if now.Sub(s.seen) > sessionIdle {
		delete(ss.m, s.id)
		return nil
	}
	s.seen = now
	return s
}

func (ss *sessions) drop(s *session) {
	ss.mu.Lock()
	delete(ss.m, s.id)
	ss.mu.Unlock()
}

func (h *Handler) setCookie(w http.ResponseWriter, s *session) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: s.id, Path: "/",
		HttpOnly: true, Secure: h.opt.TLS, SameSite: http.SameSiteStrictMode,
	})
}

// csrfOK says the request repeats its session's CSRF token, in the form
// field csrf or the X-CSRF-Token header. A token is bound to one session,
// so a page of another site can neither read nor reuse one.
func (h *Handler) csrfOK(r *http.Request, s *session) bool {
	if s == nil {
		return false
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		// Small forms only: a bounded body keeps a huge POST from being read.
		r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// bearer says the request carries the configured token as
// "Authorization: Bearer …": a script's login, which no other site can
// make a browser send, so it needs no CSRF token.
func (h *Handler) bearer(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && h.opt.Token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(h.opt.Token)) == 1
}

func (h *Handler) isAdmin(user string) bool {
	return slices.ContainsFunc(h.opt.Admins, func(a string) bool { return strings.EqualFold(strings.TrimSpace(a), user) })
}

type loginData struct {
	Next, User string
	Failed     bool
	Loopback   bool
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "login", loginData{Next: safeNext(r.URL.Query().Get("next")), Loopback: h.loopback})
}

// login takes an admin's address and password, or the token in the
// password field with the user left empty.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	ip := remoteIP(r)
	if !h.sessions.mayTry(ip) {
		h.opt.Logger.Warn("dashboard login: too many failures", "remote", r.RemoteAddr)
		w.Header().Set("Retry-After", fmt.Sprint(int(failWindow.Seconds())))
		http.Error(w, "too many failed logins; try again later", http.StatusTooManyRequests)
		return
	}
	user := strings.ToLower(strings.TrimSpace(r.PostFormValue("user")))
	pass := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	ok := false
	switch {
	case user == "" && h.opt.Token != "":
		ok = subtle.ConstantTimeCompare([]byte(pass), []byte(h.opt.Token)) == 1
		user = "token"
	case user != "" && h.opt.Users != nil:
		good, err := h.opt.Users.CheckPassword(user, pass)
		if err != nil {
			h.opt.Logger.Error("dashboard login", "user", user, "err", err)
		}
		// The password is checked first so that a wrong name costs as much
		// as a wrong password.
		ok = good && h.isAdmin(user)
	}
	if !ok {
		h.sessions.failed(ip)
		h.opt.Logger.Warn("dashboard login refused", "user", user, "remote", r.RemoteAddr)
		h.render(w, r, http.StatusUnauthorized, "login", loginData{Next: next, User: user, Failed: true, Loopback: h.loopback})
		return
	}
	if old := h.sessions.fromRequest(r); old != nil {
		// A new id at login: a session id planted before it is worth nothing.
		h.sessions.drop(old)
	}
	s := h.sessions.create(user)
	h.setCookie(w, s)
	h.opt.Logger.Info("dashboard login", "user", user, "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if s := h.sessions.fromRequest(r); s != nil {
		h.sessions.drop(s)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.opt.TLS, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect after login on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// apiSession gives a script on loopback (or one logged in by cookie) the
// CSRF token of its session, for its POSTs.
func (h *Handler) apiSession(w http.ResponseWriter, r *http.Request) {
	s, _ := r.Context().Value(sessionKey{}).(*session)
	out := map[string]string{"user": h.user(r)}
	if s != nil {
		out["csrf"] = s.csrf
	}
	writeJSON(w, http.StatusOK, out)
}
