// Package protocol owns the SMTP wire format on the receiving side:
// reading command lines (line.go), splitting them into verb and argument
// (command.go), the MAIL/RCPT paths, addresses and ESMTP parameters
// (address.go, params.go), replies with enhanced status codes (reply.go),
// and the message content of DATA and BDAT (data.go, bdat.go). Its address
// parser is the one every address goes through, list rows and outgoing
// recipients included (campaign/tsv, campaign/compose, delivery); the
// client side of the wire is internal/smtpclient's.
//
// It knows nothing of sessions, policy or storage: it turns octets into
// values and values into octets, and reports what it saw (a bare LF, an
// overlong line, a message over the size limit) so that the server can
// choose the reply. Every rule carries its RFC reference in one greppable
// form, "RFC nnnn §x.y".
//
// The read side is on the hot path of every message, so it scans the
// bufio.Reader's own buffer with bytes.IndexByte and allocates nothing per
// line; returned slices alias that buffer and are valid only until the
// next read.
package protocol
