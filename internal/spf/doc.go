// Package spf owns the SPF check of a session's MAIL FROM (or, for the
// null reverse-path, its HELO name) — RFC 7208's check_host() — and the
// Received-SPF header field that records it (RFC 7208 §9.1). The
// evaluation is blitiri.com.ar/go/spf, chasquid's library; this package
// feeds it hikyaku's resolver, so every question goes to the configured
// DNS servers (and the fake in tests), never to the system resolver.
//
// What the session does with each result (docs/spec.md §2: 550 5.7.23 for fail,
// 451 4.7.24 for temperror, 550 5.7.24 for permerror, or only a header)
// is the caller's choice; this package only answers.
package spf
