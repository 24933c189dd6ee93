package mailbox

import (
	"bytes"
	"time"
)

// dateLayout is the RFC 5322 §3.3 date-time; time.RFC1123Z is exactly it.
const dateLayout = time.RFC1123Z

// traceFields builds the fields final delivery puts on top (docs/spec.md §2; seed
// 003 shows Exim's Return-path / Envelope-to / Delivery-date):
//
//	Return-Path: <sender>         RFC 5321 §4.4, "<>" for the null sender
//	Delivered-To: mailbox@domain  the final local address (loop detection)
//	Envelope-To: rcpt             the address as given in RCPT TO
//	Delivery-Date: date
//
// eol is the line ending the message itself uses, so a file never mixes
// CRLF and LF.
func traceFields(returnPath, deliveredTo, envelopeTo string, at time.Time, eol string) []byte {
	b := make([]byte, 0, 64+len(returnPath)+len(deliveredTo)+len(envelopeTo)+4*len(eol))
	b = append(b, "Return-Path: <"...)
	b = append(b, returnPath...)
	b = append(b, '>')
	b = append(b, eol...)
	b = append(b, "Delivered-To: "...)
	b = append(b, deliveredTo...)
	b = append(b, eol...)
	b = append(b, "Envelope-To: "...)
	b = append(b, envelopeTo...)
	b = append(b, eol...)
	b = append(b, "Delivery-Date: "...)
	b = at.AppendFormat(b, dateLayout)
	b = append(b, eol...)
	return b
}

// lineEnding reports the message's first line ending: the spool keeps
// SMTP's CRLF, but a message handed over with LF keeps LF.
func lineEnding(msg []byte) string {
	i := bytes.IndexByte(msg, '\n')
	if i > 0 && msg[i-1] == '\r' || i < 0 {
		return "\r\n"
	}
	return "\n"
}

// withoutReturnPath returns the pieces of msg that remain once every
// Return-Path field of the header section is cut out, continuation lines
// included (RFC 5321 §4.4: final delivery adds its own; one already there
// is a forgery or a leftover from an earlier hop). The header section ends
// at the first empty line, or at the first line that is neither a field
// nor a continuation — nothing after that is ever touched. The pieces
// alias msg; with no Return-Path it is msg itself.
func withoutReturnPath(msg []byte) [][]byte {
	var (
		pieces [][]byte
		keep   = 0     // start of the piece being kept
		inRP   = false // the current field is a Return-Path
		cut    = 0     // start of the Return-Path being cut
		field  = false // a field has been seen (continuations need one)
	)
	pos := 0
	for pos < len(msg) {
		end := bytes.IndexByte(msg[pos:], '\n')
		if end < 0 {
			end = len(msg)
		} else {
			end += pos + 1
		}
		line := msg[pos:end]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break // the empty line: body follows
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !field {
				break
			}
			pos = end
			continue // belongs to the field before: cut or kept with it
		}
		name, ok := fieldName(line)
		if !ok {
			break
		}
		if inRP {
			pieces = appendPiece(pieces, msg[keep:cut])
			keep = pos
		}
		field = true
		inRP = bytes.EqualFold(name, []byte("Return-Path"))
		if inRP {
			cut = pos
		}
		pos = end
	}
	if inRP {
		pieces = appendPiece(pieces, msg[keep:cut])
		keep = pos
	}
	if keep == 0 {
		return [][]byte{msg}
	}
	return appendPiece(pieces, msg[keep:])
}

func appendPiece(pieces [][]byte, p []byte) [][]byte {
	if len(p) == 0 {
		return pieces
	}
	return append(pieces, p)
}

// fieldName returns the name of a header field line: printable US-ASCII
// except ':', then optional white space (RFC 5322 §4.5.1 obsolete syntax),
// then ':'.
func fieldName(line []byte) ([]byte, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return nil, false
	}
	name := bytes.TrimRight(line[:i], " \t")
	if len(name) == 0 {
		return nil, false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return nil, false
		}
	}
	return name, true
}
