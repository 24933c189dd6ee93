// Package compose owns the making of one campaign recipient's message from
// the campaign's template (docs/spec.md §3, seed 001): merge fields into headers and
// bodies, MIME structure (text, HTML, inline images), charset (UTF-8 or
// ISO-2022-JP for Japanese mobile carriers), header encoding (RFC 2047),
// Message-ID, Date, List-Unsubscribe (RFC 8058) and the VERP return path.
//
// A Template is parsed once per campaign and executed once per recipient,
// from many goroutines at once. The output is 7-bit clean (UTF-8 bodies go
// quoted-printable or base64, ISO-2022-JP is 7-bit by nature), so no peer
// needs 8BITMIME; only a UTF-8 address in a header needs SMTPUTF8, and
// Output says so.
//
// What the template holds, decided here:
//   - An RFC 5322 message in UTF-8 (LF or CRLF). Header values and bodies
//     are Go text/template source; `{{.name}}` is the TSV column "name".
//     Every recipient also has {{.email}}, {{.campaign}} and {{.row}}; the
//     latter two win over list columns of the same name.
//   - The body is text/plain, or multipart/alternative of text/plain and
//     text/html; Options.HTML adds the HTML part to a text-only template.
//     The HTML part is html/template, so merge fields are escaped.
//   - `src="images/NAME"`, `src="cid:NAME"` and the same with `background=`
//     in the HTML name a file in Options.ImagesDir; it is sent as an inline
//     part of multipart/related and the reference rewritten to its
//     Content-ID. Names must be literal, not merge fields.
//   - A merge field the row lacks is an error naming it; a field that may
//     be missing is written {{index . "name"}}, which gives "".
//   - Message-ID, Date, MIME-Version, Content-*, Return-Path, Received,
//     Bcc and DKIM-Signature in the template are dropped: the composer (or
//     the signer) writes them per recipient.
//
// Charsets. UTF-8 text parts go quoted-printable when under one octet in
// six is non-ASCII, else base64; headers use B encoded-words. ISO-2022-JP
// is RFC 1468's (ASCII and JIS X 0208 only), written 7bit line by line,
// each line ending in ASCII mode, or base64 when a line would pass 998
// octets. Before encoding, the few characters Unicode spells two ways
// are mapped to the form JIS holds (〜 → ～, − → －, ¥ → ￥, half-width
// katakana widened: see jisEquivalents). A character still missing (an
// emoji, ①, 髙, Hangul) sends that recipient UTF-8 instead, and
// Output.Fallback says which character and where.
package compose
