// Package tlsconf owns the receiver's TLS settings: which certificate it
// presents (PEM files from the configuration, re-read on Reload, or a
// self-signed one made on first start and kept under the data directory)
// and the tls.Config built around it: TLS 1.2 and later only, Go's default
// cipher suites (AEAD with forward secrecy; RFC 8996 retired TLS 1.0/1.1).
package tlsconf
