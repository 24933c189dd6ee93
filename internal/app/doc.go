// Package app builds the program's parts from the configuration and runs
// the long-lived ones: the places under data_dir, the status store, the
// logger, the resolver and delivery engine, DKIM keys, the VERP key, the
// reply and bounce rules, the bounce intake, and `serve` and `send`
// themselves. It is the wiring cmd/hikyaku used to hold, so that every
// command opens a part the same way; the behaviour of each part lives in
// its own package.
package app
