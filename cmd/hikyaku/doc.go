// Command hikyaku is the mail transfer system: the SMTP receiver, the
// delivery queue, and the administration and reference commands around
// them. main only parses the command line and wires the packages together
// (docs/conventions.md habit 2); every behaviour lives in internal/.
package main
