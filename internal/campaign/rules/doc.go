// Package rules owns the reply-text rules that turn a provider's rejection
// into result code 801 (the recipient's account is disabled at the
// provider) or 850 (the recipient refuses mail from the sender's domain):
// docs/spec.md §4.3, seed 001. Both weigh 0.5 where an ordinary 550 weighs 1.0, so
// a rule must only match texts that say so, never a plain "user unknown"
// and never an IP block.
//
// # File format
//
// A rules file is UTF-8 text, one rule per line:
//
//	RESULT  REPLY  DOMAINS  [PHASE]  /PATTERN/  [!/EXCEPT/]  [# comment]
//
// where
//
//   - RESULT is 801 or 850.
//   - REPLY is the remote's basic reply code: "550", or a form with x for
//     any digit ("55x", "5xx"), or "*" for any 5xx. A 4xx reply is
//     transient and retried, so only a rule whose REPLY starts with 4
//     ("4xx", "450") turns one into 801/850, and then for good.
//   - DOMAINS is "*" or a comma-separated list of recipient domains; each
//     also covers its subdomains (docomo.ne.jp covers x.docomo.ne.jp).
//   - PHASE, optional, is the command the reply answered: greeting, helo,
//     mail, rcpt, data (the DATA command) or dot (the end of the message).
//   - PATTERN is a Go regular expression (RE2), case-insensitive, matched
//     against the reply as one line: the code, the enhanced code when
//     there was one, and the text, the lines of a multi-line reply joined
//     by a space ("550 5.2.1 The email account that you tried to reach is
//     disabled."). A slash inside it is written \/.
//   - EXCEPT, optional, is a second pattern after "!": the rule does not
//     apply when it matches too.
//
// Blank lines and lines starting with # are ignored; # after the last
// pattern starts a comment.
//
// # Order
//
// For a recipient domain, the rules naming it most closely (the listed
// domain with the most labels) are tried first and "*" rules last; among
// equals, file order. The first rule that matches wins. So a carrier's own
// rule for a generic text beats a generic rule, wherever each sits.
//
// The built-in rules (default.txt, Default) cover the large mailbox
// providers and the Japanese carriers, each with the provider text it was
// drawn from; a file at data_dir/reply-rules.txt or named by
// campaign.reply_rules replaces them.
package rules
