package intake

import (
	"bytes"
	"strings"
)

// field is one header field of a mail: data[start:end] is the field with
// its continuation lines and line ending; the value starts at val.
type field struct {
	name            string // lower case
	start, val, end int
}

func (f field) value(data []byte) []byte {
	v := data[f.val:f.end]
	v = bytes.ReplaceAll(v, []byte("\r\n"), nil)
	return bytes.ReplaceAll(v, []byte("\n"), nil)
}

// headerFields lists the header fields of data, up to the empty line that
// ends the header section or the first line that is not a field.
func headerFields(data []byte) []field {
	var out []field
	i := 0
	for i < len(data) {
		line := lineAt(data, i)
		if len(bytes.TrimRight(data[i:i+line], "\r\n")) == 0 {
			break
		}
		colon := bytes.IndexByte(data[i:i+line], ':')
		if colon <= 0 || bytes.ContainsAny(data[i:i+colon], " \t") {
			break
		}
		f := field{name: strings.ToLower(string(data[i : i+colon])), start: i, val: i + colon + 1}
		i += line
		for i < len(data) && (data[i] == ' ' || data[i] == '\t') {
			i += lineAt(data, i)
		}
		f.end = i
		out = append(out, f)
	}
	return out
}

// lineAt is the length of the line at data[i:], its line ending included.
func lineAt(data []byte, i int) int {
	if n := bytes.IndexByte(data[i:], '\n'); n >= 0 {
		return n + 1
	}
	return len(data) - i
}

// senderContent is the mail as its sender sent it, the part the key of a
// bounce is made of: without the trace fields a final delivery puts on top
// (Return-Path, Delivered-To, Envelope-To, Delivery-Date, X-Original-To:
// the Maildir writer's and other MTAs'), without the receiver's
// Authentication-Results and Received-SPF, and without the one Received
// field the receiving MTA added among them. The same mail taken in twice, by
// serve or by `bounce import` of a saved copy, gives the same bytes.
func senderContent(data []byte) []byte {
	off := 0
	received := false
	for _, f := range headerFields(data) {
		switch f.name {
		case "return-path", "delivered-to", "envelope-to", "delivery-date", "x-original-to",
			"authentication-results", "received-spf":
			off = f.end
			continue
		case "received":
			if !received {
				received = true
				off = f.end
				continue
			}
		}
		break
	}
	return data[off:]
}
