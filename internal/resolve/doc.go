// Package resolve owns the answer to "where does mail for this domain go"
// (RFC 5321 §5.1, RFC 7505), given as the hosts to try in order or as one
// of the result codes of docs/spec.md §4.3 (700 710 711 720 730) and §4.2 (608
// 611). It talks to the configured DNS servers with github.com/miekg/dns —
// never the Go or libc resolver, so tests and the test hooks of the real
// binary can point it at a fake — and caches answers for their TTL.
package resolve
