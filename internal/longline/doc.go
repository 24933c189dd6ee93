// Package longline owns one repair: making a message fit the 998-octet line
// limit of RFC 5322 §2.1.1 (RFC 5321 §4.5.3.1.6) before it is relayed,
// while changing as little as possible (docs/spec.md §2 "Long message lines").
//
// Header lines are only ever refolded at whitespace that is already there,
// so unfolding gives back the original field. In the body only the MIME
// leaf parts that hold a long line are re-encoded (text/* as
// quoted-printable, anything else as base64); every other byte of the
// message is kept exactly, which is why the MIME tree is found by scanning
// the raw bytes instead of round-tripping through net/mail.
//
// A line is what SMTP calls a line: the octets before a CRLF (RFC 5321
// §2.3.8). A bare CR or LF is an ordinary octet here; callers that read
// LF-terminated files normalise them first.
package longline
