package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hikyaku/hikyaku/internal/queue"
	"github.com/hikyaku/hikyaku/internal/store"
)

// Queue is what the dashboard uses of the relay queue; *queue.Store is it.
type Queue interface {
	List() ([]queue.Item, error)
	Get(id string) (queue.Item, error)
	Delete(id string) error
	RequestRetry(id string) error
}

// PasswordChecker checks a login; *mailbox.Directory is one.
type PasswordChecker interface {
	CheckPassword(address, password string) (bool, error)
}

// Options wire a Handler to the rest of serve. Nil parts leave their pages
// saying so instead of failing.
type Options struct {
	// Listen is the listener's configured address (http.listen): a
	// loopback host needs no login, any other does.
	Listen string
	// TLS: the listener serves HTTPS, so the session cookie is Secure.
	TLS bool

	Metrics  http.Handler        // /metrics
	Gatherer prometheus.Gatherer // the same registry, read for the overview
	Sessions func() int          // SMTP sessions open now

	// Store opens (or returns) the status store; called per request, so
	// it should keep what it opened. An error shows on the campaign pages.
	Store func(ctx context.Context) (*store.Store, error)
	// Background, when set, is a second handle on the same store for the
	// snapshots' slow queries (snapshot.go); nil uses Store.
	Background func(ctx context.Context) (*store.Store, error)
	Queue      Queue

	Users  PasswordChecker // for the admins' logins
	Admins []string        // http.admins: accounts of Users that may log in
	Token  string          // http.token: logs in, and is a Bearer token for scripts

	Logger *slog.Logger
	Now    func() time.Time // tests move time; time.Now when nil
}

// Handler is the HTTP listener's handler.
type Handler struct {
	opt      Options
	loopback bool
	mux      *http.ServeMux
	sessions *sessions
	snaps    *snapshots
	rates    *sampler
	pages    pageSet

	queueMu   sync.Mutex
	queueAt   time.Time
	queueMemo []queue.Item
	queueErr  error

	stop chan struct{}
	done sync.WaitGroup
}

// New builds the handler and starts its sampler of the message counters
// (one tick every sampleEvery); Close stops it.
func New(opt Options) *Handler {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	h := &Handler{
		opt:      opt,
		loopback: IsLoopback(opt.Listen),
		sessions: newSessions(opt.Now),
		rates:    newSampler(),
		pages:    parsePages(),
		stop:     make(chan struct{}),
	}
	h.snaps = newSnapshots(opt.Now, opt.Logger)
	h.routes()
	h.sample()
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
				h.sample()
			}
		}
	}()
	return h
}

// Close stops the sampler and the snapshot refreshes.
func (h *Handler) Close() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	h.done.Wait()
	h.snaps.wait()
}

// IsLoopback says whether a listen address (host:port) takes connections
// from this machine only. An empty host listens everywhere.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func (h *Handler) routes() {
	m := http.NewServeMux()
	// Patterns with a method answer other methods 405 with an Allow header
	// (net/http since Go 1.22); GET also takes HEAD.
	m.Handle("GET /metrics", h.metricsHandler())
	m.HandleFunc("GET /healthz", h.healthz)
	m.HandleFunc("GET /static/{file}", serveStatic)
	m.HandleFunc("GET /login", h.loginPage)
	m.HandleFunc("POST /login", h.login)
	m.HandleFunc("POST /logout", h.logout)

	m.HandleFunc("GET /{$}", h.page("overview", h.overview))
	m.HandleFunc("GET /campaigns", h.page("campaigns", h.campaigns))
	m.HandleFunc("GET /campaigns/{id}", h.page("campaign", h.campaign))
	m.HandleFunc("GET /queue", h.page("queue", h.queueList))
	m.HandleFunc("GET /queue/{id}", h.page("message", h.message))
	m.HandleFunc("POST /queue/{id}/retry", h.action(h.retry))
	m.HandleFunc("POST /queue/{id}/delete", h.action(h.deleteMessage))
	m.HandleFunc("GET /suppressions", h.page("suppressions", h.suppressions))
	m.HandleFunc("GET /address", h.page("address", h.address))
	m.HandleFunc("POST /suppressions/remove", h.action(h.unsuppress))
	m.HandleFunc("GET /codes", h.page("codes", h.codeTable))

	m.HandleFunc("GET /api/session", h.apiSession)
	m.HandleFunc("GET /api/overview", h.api(h.overview))
	m.HandleFunc("GET /api/campaigns", h.api(h.campaigns))
	m.HandleFunc("GET /api/campaigns/{id}", h.api(h.campaign))
	m.HandleFunc("GET /api/campaigns/{id}/export", h.export)
	m.HandleFunc("GET /api/queue", h.api(h.queueList))
	m.HandleFunc("GET /api/queue/{id}", h.api(h.message))
	m.HandleFunc("POST /api/queue/{id}/retry", h.apiAction(h.retry))
	m.HandleFunc("POST /api/queue/{id}/delete", h.apiAction(h.deleteMessage))
	m.HandleFunc("GET /api/suppressions", h.api(h.suppressions))
	m.HandleFunc("GET /api/address", h.api(h.address))
	m.HandleFunc("POST /api/suppressions/remove", h.apiAction(h.unsuppress))
	m.HandleFunc("GET /api/codes", h.api(h.codeTable))
	m.HandleFunc("GET /api/events", h.events)
	m.HandleFunc("GET /api/campaigns/{id}/events", h.campaignEvents)
	h.mux = m
}

// ServeHTTP applies what holds for every answer, then the login and CSRF
// rules, then the routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// Nothing here may be kept by a proxy or the browser's history: the
	// numbers change and some pages are behind a login.
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
	probe := r.URL.Path == "/metrics" || r.URL.Path == "/healthz" // as before the dashboard: any Host, no login
	if h.loopback && !probe && !loopbackHost(r.Host) {
		// A page of another site whose name was re-pointed at 127.0.0.1
		// (DNS rebinding) would otherwise read the dashboard.
		http.Error(w, "this listener answers only to localhost names", http.StatusForbidden)
		return
	}
	open := probe || r.URL.Path == "/login" || strings.HasPrefix(r.URL.Path, "/static/")
	sess, bearer := h.sessions.fromRequest(r), h.bearer(r)
	if sess == nil && !bearer && (h.loopback && !open || r.URL.Path == "/login") && r.Method == http.MethodGet {
		// The CSRF token needs a session even where nobody logs in; a
		// scraper of /metrics gets none.
		sess = h.sessions.create("")
		h.setCookie(w, sess)
	}
	if !open && !h.loopback && !bearer && (sess == nil || sess.user == "") {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hikyaku"`)
			writeJSON(w, http.StatusUnauthorized, apiError{"login required"})
			return
		}
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		http.Error(w, "login required", http.StatusUnauthorized)
		return
	}
	// Only a route that takes POST checks the token: a POST to a read-only
	// path is the mux's 405 with its Allow header, not a 403.
	_, pattern := h.mux.Handler(r)
	if strings.HasPrefix(pattern, "POST ") && !bearer && !h.csrfOK(r, sess) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			writeJSON(w, http.StatusForbidden, apiError{"missing or wrong CSRF token"})
			return
		}
		http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
		return
	}
	h.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
}

func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (h *Handler) metricsHandler() http.Handler {
	if h.opt.Metrics != nil {
		return h.opt.Metrics
	}
	return http.NotFoundHandler()
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	n := 0
	if h.opt.Sessions != nil {
		n = h.opt.Sessions()
	}
	fmt.Fprintf(w, "ok sessions=%d\n", n)
}

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// pageFunc computes a page's data, the same for the HTML page and its
// JSON twin under /api/.
type pageFunc func(r *http.Request) (any, error)

// httpError is an error with the status it should answer.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func statusOf(err error) (int, string) {
	if he, ok := err.(*httpError); ok {
		return he.status, he.msg
	}
	return http.StatusInternalServerError, err.Error()
}

func (h *Handler) api(f pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := f(r)
		if err != nil {
			st, msg := statusOf(err)
			writeJSON(w, st, apiError{msg})
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// actionFunc changes something and says what, in the language given.
type actionFunc func(r *http.Request) (result string, redirect string, err error)

func (h *Handler) apiAction(f actionFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		res, _, err := f(r)
		if err != nil {
			st, msg := statusOf(err)
			writeJSON(w, st, apiError{msg})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"result": res})
	}
}

func (h *Handler) action(f actionFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, to, err := f(r)
		if err != nil {
			st, msg := statusOf(err)
			h.renderError(w, r, st, msg)
			return
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	}
}

func (h *Handler) page(name string, f pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := f(r)
		if err != nil {
			st, msg := statusOf(err)
			h.renderError(w, r, st, msg)
			return
		}
		h.render(w, r, http.StatusOK, name, v)
	}
}

func (h *Handler) user(r *http.Request) string {
	if s, _ := r.Context().Value(sessionKey{}).(*session); s != nil && s.user != "" {
		return s.user
	}
	if h.bearer(r) {
		return "token"
	}
	return "localhost"
}
