// Package outcome owns the value every delivery attempt ends in: one
// result code of docs/spec.md §4 per recipient, with the remote reply kept whole
// (docs/conventions.md habit 8: mox's smtpclient.Error, plus the phase that gives the 6xx
// codes). The SMTP client, the resolver, the delivery engine, the DSN
// builder and the status store all pass this one type around.
package outcome
