// Package codes owns the one table of every code hikyaku can produce or
// meet: SMTP basic reply codes (RFC 821/5321, seeds 000 and 004), enhanced
// status codes (RFC 3463, RFC 5248, RFC 7372, RFC 7505, RFC 4954), the
// delivery result codes of seed 001 (6xx, 7xx, 8xx and the negative system
// codes) and the situational replies the receiver sends (docs/spec.md §2).
//
// Every reply the server writes, every result the delivery engine records,
// every code the bounce reader finds, and every `hikyaku explain` line reads
// its text from here; no reply text is typed anywhere else. The package
// imports nothing of hikyaku so that everything may import it.
//
// It also holds the one error type for a failure of the run itself,
// SystemError (syserr.go): a system code of docs/spec.md §4.4 with a
// detail, the operator's file and line where one applies, and the cause.
// Every package returns it for such failures and the command line prints
// it code first; the fixed details it carries are in details.go with
// their Japanese text.
package codes
