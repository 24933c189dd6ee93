// Package mailbox owns the local side of mail: the directory of local users,
// aliases and mailing lists (one human-editable TOML file), their passwords,
// and final delivery into Maildir folders with the trace fields of docs/spec.md §2
// (Return-Path, Delivered-To, Envelope-To, Delivery-Date). It answers "who
// is this address?" for the SMTP session and "is it stored?" for the queue;
// it never speaks SMTP and never decides reply codes.
//
// Files: directory.go (users.toml, atomic rewrite, reload), resolve.go
// (Resolve, Expand, CheckPassword), password.go (argon2id/bcrypt),
// address.go (address checks), maildir.go and sync.go (Deliver, quota
// usage), header.go (trace fields, Return-Path removal).
package mailbox
