// Package web owns serve's HTTP listener (docs/spec.md §1, issue 13): /metrics and
// /healthz, the operator's dashboard and the JSON API under /api/ that the
// dashboard's pages and scripts use. It reads what the other packages
// keep — the status store (internal/store) for campaigns, results, scores
// and suppressions, the relay queue (internal/queue), the Prometheus
// registry (internal/metrics) and the code table (internal/codes) — and
// changes only what an operator asks it to: retry or delete a queued
// message, take an address off the suppression list.
//
// Pages are html/template files embedded in the binary; charts are SVG
// drawn here; the only script is static/live.js, a few lines that apply
// server-sent events to elements marked data-live. Text is English or
// Japanese (Accept-Language, a ?lang= switch kept in a cookie); every
// explanation of a code comes from internal/codes, never from a template.
//
// Security: a listener on a loopback address needs no login; any other
// asks for one (an account of users.toml named in http.admins, or
// http.token). Either way a session cookie (HttpOnly, SameSite=Strict,
// Secure over TLS) carries a CSRF token that every POST must repeat, and
// every page and API answer is Cache-Control: no-store.
//
// Campaign pages read a snapshot of each campaign's aggregates that is
// refreshed in the background (snapshot.go): grouping a million rows
// takes longer than a page may, and the page says how old its numbers are.
package web
