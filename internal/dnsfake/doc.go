// Package dnsfake owns the fake DNS server the tests and benchmarks point
// hikyaku at: an authoritative server on loopback whose zone is data (RFC
// 1035 master-file text) plus maps of names that fail, stay silent, come
// back truncated or come back as garbage (docs/conventions.md habit 15, after mox's
// dns/mock.go). It answers over UDP and TCP on the same port, so the real
// resolver code path — EDNS0, truncation, retry over TCP — runs against it.
package dnsfake
