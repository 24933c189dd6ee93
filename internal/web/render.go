package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

const langCookie = "hikyaku_lang"

// langOf is the page's language: ?lang=, else the switch's cookie, else
// the first of Accept-Language that is en or ja (by q), else English.
func langOf(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "ja" {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "en" || c.Value == "ja") {
		return c.Value
	}
	best, bestQ := "en", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if (base == "en" || base == "ja") && q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}

type pageSet map[string]*template.Template

var funcs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"pct":   func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"share": func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) },
	"num":   func(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) },
	"eta": func(s int64) string {
		if s < 0 {
			return "-"
		}
		return (time.Duration(s) * time.Second).String()
	},
	"pathesc":  func(s string) string { return strings.ReplaceAll(template.URLQueryEscaper(s), "+", "%20") },
	"queryesc": template.URLQueryEscaper,
	"join":     strings.Join,
}

func parsePages() pageSet {
	ps := pageSet{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		ps[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return ps
}

// view is what every template gets: the page's data and the frame's.
type view struct {
	Lang, Page, Path, CSRF, User string
	Loopback                     bool
	Done                         string // what an action just did (?done=)
	Data                         any
	query                        url.Values
}

// Pending says the page shows numbers still being counted: it reloads
// itself, and says so.
func (v view) Pending() bool {
	p, ok := v.Data.(interface{ IsPending() bool })
	return ok && p.IsPending()
}

// LangURL is this page in another language: its query kept, lang set.
func (v view) LangURL(lang string) string {
	q := v.query
	q.Set("lang", lang)
	q.Del("done")
	return v.Path + "?" + q.Encode()
}

// T is the UI text for key in the page's language.
func (v view) T(key string) string {
	t, ok := uiText[key]
	if !ok {
		return key
	}
	if v.Lang == "ja" && t[1] != "" {
		return t[1]
	}
	return t[0]
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	lang := langOf(r)
	if l := r.URL.Query().Get("lang"); l == lang {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: h.opt.TLS, SameSite: http.SameSiteStrictMode})
	}
	v := view{Lang: lang, Page: name, Path: r.URL.Path, Loopback: h.loopback, Data: data, Done: r.URL.Query().Get("done"),
		query: r.URL.Query()}
	if s, _ := r.Context().Value(sessionKey{}).(*session); s != nil {
		v.CSRF, v.User = s.csrf, s.user
	}
	t := h.pages[name]
	if t == nil {
		t = h.pages["error"]
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		h.opt.Logger.Error("dashboard template", "page", name, "err", err)
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

type errorData struct {
	Status  int
	Message string
}

func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.render(w, r, status, "error", errorData{status, msg})
}

func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	w.Write(b)
}

// uiText is the dashboard's own words, English and Japanese. What a code
// means is never here: it comes from internal/codes.
var uiText = map[string][2]string{
	"title":           {"hikyaku dashboard", "hikyaku ダッシュボード"},
	"overview":        {"Overview", "概要"},
	"campaigns":       {"Campaigns", "キャンペーン"},
	"queue":           {"Relay queue", "配送キュー"},
	"suppressions":    {"Suppressions", "配信停止"},
	"codes":           {"Code reference", "コード一覧"},
	"logout":          {"Log out", "ログアウト"},
	"login":           {"Log in", "ログイン"},
	"user":            {"Admin address (empty for the token)", "管理者アドレス（トークンなら空欄）"},
	"password":        {"Password or token", "パスワードまたはトークン"},
	"login_failed":    {"Wrong account, password or token.", "アカウント、パスワードまたはトークンが違います。"},
	"in_per_min":      {"Messages in per minute", "受信メッセージ／分"},
	"out_per_min":     {"Messages out per minute", "送信メッセージ／分"},
	"queue_depth":     {"Queue depth (messages)", "キュー内メッセージ数"},
	"queue_rcpts":     {"Recipients waiting", "配送待ち受信者"},
	"tls_share":       {"STARTTLS share of sessions (%)", "STARTTLS を使ったセッション（%）"},
	"sessions":        {"SMTP sessions now", "現在の SMTP セッション"},
	"sessions_total":  {"SMTP sessions since start", "起動以来の SMTP セッション"},
	"deferred":        {"Deferred by destination", "宛先ドメイン別の遅延"},
	"domain":          {"Domain", "ドメイン"},
	"count":           {"Count", "件数"},
	"running":         {"Running campaigns", "実行中のキャンペーン"},
	"none":            {"None.", "なし。"},
	"name":            {"Name", "名前"},
	"state":           {"State", "状態"},
	"created":         {"Created", "作成"},
	"total":           {"Rows", "行数"},
	"done":            {"Done", "完了"},
	"sent":            {"Sent", "送信済み"},
	"failed":          {"Failed", "失敗"},
	"pending":         {"Pending", "未処理"},
	"claimed":         {"In progress", "処理中"},
	"suppressed":      {"Suppressed", "配信停止で未送信"},
	"invalid":         {"Invalid rows", "不正な行"},
	"progress":        {"Progress (%)", "進捗（%）"},
	"rate":            {"Attempts per minute", "試行／分"},
	"eta":             {"Time left", "残り時間"},
	"attempts":        {"Attempts", "試行回数"},
	"last_attempt":    {"Last attempt", "最終試行"},
	"as_of":           {"Counts as of", "集計時刻"},
	"query_ms":        {"query time (ms)", "集計時間（ms）"},
	"by_code":         {"Results by code", "コード別の結果"},
	"code":            {"Code", "コード"},
	"class":           {"Class", "分類"},
	"meaning":         {"Meaning", "意味"},
	"detail":          {"Cause and remedy", "原因と対処"},
	"by_domain":       {"By domain", "ドメイン別"},
	"by_mx":           {"Attempts by MX host", "MX ホスト別の試行"},
	"by_reason":       {"By reason", "理由別"},
	"reason":          {"Reason", "理由"},
	"from_bounces":    {"from bounces", "バウンス由来"},
	"scores":          {"Scores of its failed addresses", "失敗したアドレスのスコア"},
	"score":           {"Score", "スコア"},
	"addresses":       {"Addresses", "アドレス数"},
	"suppressed_by":   {"Addresses it suppressed", "このキャンペーンで配信停止になったアドレス"},
	"address":         {"Address", "アドレス"},
	"since":           {"Since", "登録日時"},
	"export":          {"Export (TSV)", "エクスポート（TSV）"},
	"filter":          {"Filter", "絞り込み"},
	"status":          {"Status", "状態"},
	"all":             {"all", "すべて"},
	"search":          {"Search", "検索"},
	"matched":         {"matched", "件一致"},
	"of":              {"of", "／"},
	"id":              {"ID", "ID"},
	"from":            {"Sender", "差出人"},
	"received":        {"Received", "受信"},
	"size":            {"Size", "サイズ"},
	"recipients":      {"Recipients", "受信者"},
	"next_attempt":    {"Next attempt", "次回試行"},
	"last_result":     {"Last result", "最終結果"},
	"host":            {"Host", "ホスト"},
	"hold":            {"On hold", "保留"},
	"retry":           {"Retry now", "今すぐ再試行"},
	"delete":          {"Delete", "削除"},
	"confirm_delete":  {"Yes, delete this message for good", "このメッセージを完全に削除する"},
	"retry_done":      {"Retry requested: the runner tries it at its next scan.", "再試行を依頼しました（次回の走査で試行します）。"},
	"delete_done":     {"Message deleted.", "メッセージを削除しました。"},
	"remove_done":     {"Removed from the suppression list.", "配信停止リストから削除しました。"},
	"search_prefix":   {"Address starts with", "アドレスの先頭"},
	"on_list":         {"entries on the list", "件が登録済み"},
	"next_page":       {"Next page", "次のページ"},
	"history":         {"Results in campaigns", "キャンペーンでの結果"},
	"campaign":        {"Campaign", "キャンペーン"},
	"row":             {"Row", "行"},
	"threshold":       {"Suppression threshold", "配信停止のしきい値"},
	"not_suppressed":  {"Not on the suppression list.", "配信停止リストにありません。"},
	"remove":          {"Remove from the list", "リストから削除"},
	"remove_reason":   {"Reason (logged)", "理由（ログに記録）"},
	"weight":          {"Weight", "重み"},
	"blame":           {"Blame", "問題箇所"},
	"english":         {"English", "英語"},
	"japanese":        {"Japanese", "日本語"},
	"enhanced":        {"Enhanced status codes", "拡張ステータスコード"},
	"error":           {"Error", "エラー"},
	"live":            {"live", "ライブ"},
	"loopback_note":   {"Listening on loopback: no login needed.", "ループバックで待ち受け中：ログイン不要。"},
	"ref":             {"Defined in", "定義"},
	"show":            {"Show", "表示"},
	"campaign_totals": {"Totals", "合計"},
	"counting":        {"Still counting: this page reloads in a few seconds.", "集計中です。数秒後にページを再読み込みします。"},
}

func init() {
	// A template naming a key that is missing shows the key: tests catch
	// it (TestPagesRender); here, keep the table free of empty English.
	for k, v := range uiText {
		if v[0] == "" {
			panic(fmt.Sprintf("web: UI text %q has no English", k))
		}
	}
}
