package protocol

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// maxReplyLine is the longest reply line, code and CRLF included
// (RFC 5321 §4.5.3.1.5).
const maxReplyLine = 512

// Reply is one SMTP reply as a value (docs/conventions.md habit 5): the code, the enhanced
// status code, the text lines, and whether the connection closes after it.
type Reply struct {
	Code     int
	Enhanced string   // "" when none (greeting, HELO/EHLO, 334, 354)
	Lines    []string // one or more text lines, without code
	Close    bool     // close the connection after this reply
}

// NewReply builds the reply for one situation of the code table, its text
// filled with args.
func NewReply(r codes.Reply, args ...any) Reply {
	return Reply{Code: r.Code, Enhanced: r.Enhanced, Lines: []string{r.Format(args...)}}
}

// String returns the reply as it goes on the wire, lines joined with "\n"
// and without the final line ending; for logs.
func (r Reply) String() string {
	b := appendReply(nil, r)
	b = b[:len(b)-2]
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// appendReply appends r in wire form. Every line repeats the enhanced
// code (RFC 2034 §4), "-" marks all lines but the last (RFC 5321 §4.2.1),
// CR and LF inside a text become spaces so that no text can inject a line,
// and a text too long for one 512-octet line is wrapped at a space where
// there is one.
func appendReply(dst []byte, r Reply) []byte {
	lines := r.Lines
	if len(lines) == 0 {
		lines = []string{""}
	}
	prefix := 4 // "250-"
	if r.Enhanced != "" {
		prefix += len(r.Enhanced) + 1
	}
	room := maxReplyLine - 2 - prefix
	if room < 16 {
		room = 16 // an absurd enhanced code must not stop the reply
	}
	for i, text := range lines {
		for {
			piece, rest := wrapText(text, room)
			last := i == len(lines)-1 && rest == ""
			dst = strconv.AppendInt(dst, int64(r.Code), 10)
			if last {
				dst = append(dst, ' ')
			} else {
				dst = append(dst, '-')
			}
			if r.Enhanced != "" {
				dst = append(dst, r.Enhanced...)
				if piece != "" {
					dst = append(dst, ' ')
				}
			}
			for j := 0; j < len(piece); j++ {
				c := piece[j]
				if c == '\r' || c == '\n' {
					c = ' '
				}
				dst = append(dst, c)
			}
			if last && piece == "" && r.Enhanced == "" {
				dst = dst[:len(dst)-1] // "250", not "250 "
			}
			dst = append(dst, '\r', '\n')
			if rest == "" {
				break
			}
			text = rest
		}
	}
	return dst
}

// wrapText cuts text to at most room octets, at the last space that fits
// (the space is dropped), else at a UTF-8 character boundary.
func wrapText(text string, room int) (piece, rest string) {
	if len(text) <= room {
		return text, ""
	}
	for k := room; k > 0; k-- {
		if c := text[k]; c == ' ' || c == '\r' || c == '\n' {
			return text[:k], text[k+1:]
		}
	}
	k := room
	for k > 0 && !utf8.RuneStart(text[k]) {
		k--
	}
	if k == 0 {
		k = room
	}
	return text[:k], text[k:]
}

// ReplyWriter buffers replies until Flush, so that a pipelining client
// (RFC 2920) gets the replies to a group of commands in one write.
type ReplyWriter struct {
	bw      *bufio.Writer
	scratch []byte
}

// NewReplyWriter returns a ReplyWriter writing to w.
func NewReplyWriter(w io.Writer) *ReplyWriter {
	return &ReplyWriter{bw: bufio.NewWriterSize(w, 4096)}
}

// Write adds r to the buffer. Its error comes from the connection, when the
// buffer filled and had to be written out.
func (w *ReplyWriter) Write(r Reply) error {
	w.scratch = appendReply(w.scratch[:0], r)
	_, err := w.bw.Write(w.scratch)
	if cap(w.scratch) > 64<<10 {
		w.scratch = nil // a huge EXPN reply must not pin its memory
	}
	return err
}

// Flush writes the buffered replies to the connection.
func (w *ReplyWriter) Flush() error { return w.bw.Flush() }

// Buffered is the number of octets waiting for Flush.
func (w *ReplyWriter) Buffered() int { return w.bw.Buffered() }

// Reset discards anything buffered and writes to dst from now on; used
// after STARTTLS replaces the connection (RFC 3207 §4.2).
func (w *ReplyWriter) Reset(dst io.Writer) { w.bw.Reset(dst) }
