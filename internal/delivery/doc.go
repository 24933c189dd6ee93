// Package delivery owns sending mail to other servers: for each recipient
// it resolves the domain, tries the mail hosts in order over pooled SMTP
// connections and ends in exactly one result code of docs/spec.md §4. The Engine
// delivers one message now (`hikyaku send`); the Runner keeps the relay
// queue moving with retries, expiry and DSNs.
package delivery
