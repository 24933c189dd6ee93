// Package dkim owns DKIM (RFC 6376) for hikyaku: signing outbound mail
// with the keys of its From: domain (ed25519-sha256 of RFC 8463 and
// rsa-sha256, both when both are configured), verifying the signatures of
// inbound mail, the keys themselves (generation, PEM files, the DNS TXT
// record to publish) and the Authentication-Results header field (RFC
// 8601) that reports SPF and DKIM results to the mailbox. The signature
// arithmetic is github.com/emersion/go-msgauth; this package chooses what
// is signed and asks DNS through internal/resolve.
package dkim
