// Package bouncefile reads saved bounce mails from files for the command
// line: `bounce parse` prints what the bounce reader makes of each one,
// `bounce import` records them in the status store through the same
// intake serve uses. Reading a bounce is internal/bounce's, recording it
// internal/intake's; this package walks the inputs and reports.
package bouncefile
