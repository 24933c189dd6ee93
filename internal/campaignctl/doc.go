// Package campaignctl runs campaigns from the command line: `campaign
// run` (compose from a template and a TSV list, load the list into the
// status store, send with a progress bar or log lines, print the summary
// of codes), its dry run (compose everything, send and store nothing),
// `campaign worker` (send the running campaigns on other nodes), and
// `campaign rules` (the reply-text rules in effect, the built-in file, a
// check of one's own). The sending itself is internal/campaign's.
package campaignctl
