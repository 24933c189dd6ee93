// Package report is the read side of campaigns, as `hikyaku campaign`
// prints it: the list of campaigns, one campaign's status, its results by
// code (with the code table's text in English or Japanese), by domain, by
// reason, by MX host or in time buckets, the per-recipient export (TSV,
// CSV, JSON lines) and the suppression list. It only reads the status
// store (the suppression edits excepted), so it runs while a campaign
// sends; every code's meaning comes from the code table, never from here.
package report
