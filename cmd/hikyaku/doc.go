// Command hikyaku is the mail transfer system: the SMTP receiver, the
// delivery queue, and the administration and reference commands around
// them. This package only defines the commands and their flags (with
// spf13/cobra, which also gives the shell completions and the man pages
// from the same definitions) and calls the packages that do the work
// (docs/conventions.md habit 2): internal/app (wiring, serve, send),
// internal/report (campaign list, status, report, export, suppressions),
// internal/admin (users, aliases, the relay queue, explain, config),
// internal/campaignctl (campaign run, worker, rules) and
// internal/bouncefile (bounce parse and import).
package main
