package smtpclient

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
)

// Reply limits. RFC 5321 §4.5.3.1.5 caps a reply line at 512 octets, but
// real servers send longer ones (long banners, long rejection texts), and
// refusing them would turn a readable refusal into a protocol error. A line
// over maxReplyLine, or a reply over maxReplyLines lines or maxReplyBytes
// octets, is a malformed reply.
const (
	maxReplyLine  = 4096
	maxReplyLines = 1000
	maxReplyBytes = 64 << 10
)

// reply is one parsed SMTP reply: the code, the enhanced status code of
// the first line (RFC 2034), and the text of every line without the code
// and without a repeated enhanced code.
type reply struct {
	code     int
	enhanced string
	lines    []string
}

func (r reply) text() string { return strings.Join(r.lines, "\n") }

// String is the reply as the remote sent it (one line per line, "\n"
// separated), for logs and texts that quote it.
func (r reply) String() string {
	var b strings.Builder
	for i, l := range r.lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%d", r.code)
		if r.enhanced != "" {
			b.WriteString(" " + r.enhanced)
		}
		if l != "" {
			b.WriteString(" " + l)
		}
	}
	return b.String()
}

// errMalformed marks a reply that is not SMTP: the connection cannot be
// trusted to stay in step after it, so it is treated as lost (602).
var errMalformed = errors.New("malformed reply")

type malformedError struct{ msg string }

func (e *malformedError) Error() string { return "malformed reply: " + e.msg }
func (e *malformedError) Unwrap() error { return errMalformed }

func malformed(format string, args ...any) error {
	return &malformedError{msg: fmt.Sprintf(format, args...)}
}

// readReply reads one reply, multi-line or not (RFC 5321 §4.2.1: "ddd-" on
// every line but the last, "ddd " or "ddd" on the last). A line may end in
// a bare LF: a reply is only read, never forwarded, so leniency costs
// nothing. Errors from the connection (EOF, reset, timeout) are returned as
// they are; anything else is a *malformedError.
func readReply(br *bufio.Reader) (reply, error) {
	var (
		r     reply
		total int
	)
	for {
		line, err := readReplyLine(br)
		if err != nil {
			return reply{}, err
		}
		total += len(line)
		code, last, text, err := splitReplyLine(line)
		if err != nil {
			return reply{}, err
		}
		if len(r.lines) == 0 {
			r.code = code
			r.enhanced, text = cutEnhanced(code, text)
		} else if code == r.code {
			// RFC 2034 §4 repeats the enhanced code on every line.
			if r.enhanced != "" {
				if e, rest := cutEnhanced(code, text); e == r.enhanced {
					text = rest
				}
			}
		}
		// A line with another code breaks RFC 5321 §4.2.1 but says
		// nothing worse than its text: the first line's code stands.
		r.lines = append(r.lines, text)
		if last {
			return r, nil
		}
		if len(r.lines) >= maxReplyLines || total > maxReplyBytes {
			return reply{}, malformed("reply longer than %d lines or %d octets", maxReplyLines, maxReplyBytes)
		}
	}
}

// readReplyLine reads one line up to maxReplyLine octets and returns it
// without its line ending. The returned string is a copy.
func readReplyLine(br *bufio.Reader) (string, error) {
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if long != nil {
				chunk = append(long, chunk...)
			}
			if len(chunk) > maxReplyLine {
				return "", malformed("reply line longer than %d octets", maxReplyLine)
			}
			chunk = chunk[:len(chunk)-1]
			if n := len(chunk); n > 0 && chunk[n-1] == '\r' {
				chunk = chunk[:n-1]
			}
			return string(chunk), nil
		case errors.Is(err, bufio.ErrBufferFull):
			long = append(long, chunk...)
			if len(long) > maxReplyLine {
				return "", malformed("reply line longer than %d octets", maxReplyLine)
			}
		default:
			return "", err
		}
	}
}

// splitReplyLine takes "250-text", "250 text" or "250" apart.
func splitReplyLine(line string) (code int, last bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", malformed("%q", clip(line))
	}
	for i := 0; i < 3; i++ {
		if line[i] < '0' || line[i] > '9' {
			return 0, false, "", malformed("%q", clip(line))
		}
	}
	// RFC 5321 §4.2: the first digit is 2-5 (1yz is never used in SMTP),
	// the second 0-5.
	if line[0] < '2' || line[0] > '5' || line[1] > '5' {
		return 0, false, "", malformed("no such reply code: %q", clip(line))
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if len(line) == 3 {
		return code, true, "", nil
	}
	switch line[3] {
	case ' ':
		return code, true, line[4:], nil
	case '-':
		return code, false, line[4:], nil
	}
	return 0, false, "", malformed("%q", clip(line))
}

// cutEnhanced takes an RFC 3463 status code ("5.1.1 ") off the front of
// text: class 2, 4 or 5, subject and detail of one to three digits. The
// class must agree with the reply code (RFC 2034 §4); a code that does not
// agree stays part of the text, where a reader still sees it.
func cutEnhanced(code int, text string) (enhanced, rest string) {
	end := strings.IndexByte(text, ' ')
	if end < 0 {
		end = len(text)
	}
	e := text[:end]
	if !validEnhanced(e) || int(e[0]-'0') != code/100 {
		return "", text
	}
	rest = text[end:]
	if rest != "" {
		rest = rest[1:]
	}
	return e, rest
}

func validEnhanced(e string) bool {
	if len(e) < 5 || (e[0] != '2' && e[0] != '4' && e[0] != '5') || e[1] != '.' {
		return false
	}
	parts := strings.Split(e[2:], ".")
	if len(parts) != 2 {
		return false
	}
	for _, p := range parts {
		if len(p) < 1 || len(p) > 3 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}

// clip shortens what is quoted from a bad reply in a result text.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
