// Package bounce owns the bounce reader: it turns one mail that came back to
// a return path (an RFC 3464 DSN, a non-standard MTA bounce, an RFC 5965
// feedback report, an RFC 3834 auto-reply, or anything else) into one Result
// per bounced recipient, in the result codes of the one code table
// (internal/codes): the remote reply code where the bounce quotes one, 7xx,
// 6xx or 8xx where its text says the failure was DNS, a connection phase or
// the address, and the negative codes -500/-501/-502 of seed 001.
//
// The reason names are Sisimai's vocabulary (userunknown, blocked, ...);
// each reason carries its blame (recipient, sender, network, unknown),
// decided apart from the code, so that sender-side refusals never move an
// address's score. The provider texts that tell a reason live in a dated,
// editable rules file (rules.txt, Default), not in code.
//
// Read is deterministic: the same bytes always give the same answer. It
// bounds what it reads (size, MIME depth, part count) so that a hostile mail
// costs bounded memory and time.
package bounce
