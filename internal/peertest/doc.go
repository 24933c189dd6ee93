// Package peertest owns a scriptable, misbehaving SMTP server for tests of
// the delivery side (docs/conventions.md habit 15): a map of command to reply plus an action
// per phase — cut the connection, stall, reset, stop reading the content —
// listening on loopback only. It records what it saw (connections,
// commands, how many commands arrived together, messages) so that tests
// can prove pipelining, connection reuse and delivery from the peer's side.
//
// It is a test fixture, not a server: it trusts its input, keeps
// everything in memory, and answers whatever the script says whatever the
// state (a script can make it answer 250 to RCPT before MAIL).
package peertest
