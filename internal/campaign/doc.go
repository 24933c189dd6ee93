// Package campaign owns running a bulk campaign (docs/spec.md §3, §4;
// seed 001): loading the TSV list into the status store, claiming
// recipients in batches under a lease, composing each recipient's
// message, sending it through the delivery engine, retrying transient
// results with jitter until the campaign's lifetime ends (then 606),
// turning provider texts into 801/850 through the reply rules, recording
// every attempt and final outcome with its weight, and stopping with -11
// when failures on the sending side pile up.
//
// The list parser (tsv), the composer (compose), the status store
// (store) and the engine (delivery) are separate packages; this one wires
// their work into a run that can be killed at any moment and started
// again. Every recipient lives in the store and a claim is a lease.
// Before a recipient's final dot goes out, a note that it is going is
// committed to the store: the note's commit starts with the attempt and
// runs while the SMTP transaction gets to the dot, which waits for it
// (delivery.Message.BeforeDot), so the connection is not held idle for a
// whole commit. Final outcomes are group-committed, many senders' in one
// transaction; a sender goes on to its next recipient meanwhile, and the
// recipient stays claimed until its final is durable. So a restart skips
// no recipient and sends none again whose final was recorded; a recipient
// whose dot note is on disk without a final (the run died while its reply
// was awaited or before the final was written) is not sent again but
// ends as 625, possibly delivered (at most once), unless
// Options.ResendInDoubt (campaign.resend_in_doubt) sends it again (at
// least once). A kill between the note's commit and the dot leaves such a
// 625 for a message that never went out.
//
// A campaign's Spec (template, images, settings) is stored with the
// campaign, so `hikyaku campaign worker` processes on other nodes sharing
// one MySQL/MariaDB store send the same message without the files.
package campaign
