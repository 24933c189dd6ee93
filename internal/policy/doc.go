// Package policy owns the receiver's who-may-talk-to-us decisions that
// need no message content: deny/allow lists of client addresses, HELO
// names, senders and recipients (one text file, reloaded when it
// changes), DNSBL lookups of the client address, and per-IP connection
// and message rate limits. It answers questions; the SMTP session turns
// the answers into replies (docs/spec.md §2: 554 5.7.1 at connect, 550 5.7.1 at
// MAIL/RCPT) and logs them.
//
// # The list file
//
// One rule per line: an action, a kind and a pattern, separated by
// blanks. A line whose first non-blank character is '#' is a comment, and
// so is everything from a field that starts with '#'.
//
//	deny  client 192.0.2.0/24     # a network (IPv4 or IPv6 prefix)
//	allow client 192.0.2.7        # one address
//	deny  helo   *.example.net    # a glob ('*' any run, '?' one character)
//	deny  helo   bad.example      # one name
//	deny  sender spam@example.net # one address
//	deny  sender @example.net     # a whole domain (exactly that domain)
//	deny  sender @*.example.net   # a glob on the domain
//	deny  sender spam*@*          # a glob on the whole address
//	deny  sender <>               # the null reverse-path
//	allow rcpt   postmaster@example.org
//
// Kinds are client, helo, sender and rcpt (recipient is accepted too).
// Names, domains and addresses compare case-insensitively, without a final
// dot on domains, Unicode domains as their A-labels.
//
// # Which rule decides
//
// Among the rules of one kind that match, the most specific level
// decides, and at the same level allow wins over deny:
//
//   - client: the longest prefix (a /32 beats a /24 beats a /0);
//   - helo: an exact name beats any glob;
//   - sender, rcpt: an exact address beats "@domain", which beats any glob.
//
// So "deny client 192.0.2.0/24" with "allow client 192.0.2.7" lets .7 in;
// "deny sender @example.net" with "allow sender boss@example.net" lets the
// boss through; two globs that both match are the same level, so an allow
// glob wins. No match is Verdict{Action: None}: the caller's other checks
// decide.
//
// A missing file is an empty list. The file is looked at again at most
// once a second (on the next question): when its modification time or size
// changed it is read again; a file that no longer parses keeps the old
// rules in force and is logged, so a typo in an edit never opens or closes
// the door by accident. Reload reads it at once (for SIGHUP).
package policy
