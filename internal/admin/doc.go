// Package admin is the administration and reference side of the command
// line: local users and aliases (users.toml through mailbox.Directory),
// the relay queue (list, show, hold, release, retry, delete), the code
// table explained (`hikyaku explain`) and the documented configuration
// keys (`hikyaku config`). Each function prints what it did for a person,
// or JSON where asked.
package admin
