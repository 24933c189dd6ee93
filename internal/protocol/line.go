package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Line limits, in octets including the CRLF.
const (
	// MaxCommandLine is RFC 5321 §4.5.3.1.4's 512 plus what extensions
	// add to MAIL and RCPT (docs/spec.md §2).
	MaxCommandLine = 2048
	// MaxAuthLine bounds an AUTH response line (RFC 4954 §4).
	MaxAuthLine = 12288
)

var (
	// ErrLineTooLong: the line was longer than the limit. The rest of it,
	// up to the CRLF (or EOF), has been read and discarded, so the next
	// ReadLine returns the next command.
	ErrLineTooLong = errors.New("protocol: line too long")
	// ErrBareLineEnding: the line held a bare CR or a bare LF. It has been
	// read through the real CRLF and is not split at the bare LF: a bare LF
	// inside a command is never taken as the end of one (docs/spec.md §2).
	ErrBareLineEnding = errors.New("protocol: bare CR or LF in line")
)

// ReadLine reads one line ended by CRLF (RFC 5321 §2.3.8) and returns it
// without the CRLF. Only CR LF ends a line; a line with a bare CR or LF is
// read through the next CRLF and reported as ErrBareLineEnding. A line of
// more than max octets, CRLF included, is read through its CRLF and
// reported as ErrLineTooLong (which wins over ErrBareLineEnding).
//
// The returned slice aliases r's buffer (or, for a line longer than r's
// buffer, a slice allocated for it) and is valid only until the next read
// from r. A bufio.Reader at least max octets large never allocates.
//
// At a clean end of input before any octet of a line it returns io.EOF; at
// the end of input inside a line, io.ErrUnexpectedEOF; other read errors
// (timeouts) are returned as they are.
func ReadLine(r *bufio.Reader, max int) ([]byte, error) {
	chunk, err := r.ReadSlice('\n')
	if err == nil {
		n := len(chunk)
		if n >= 2 && chunk[n-2] == '\r' {
			if n > max {
				return nil, ErrLineTooLong
			}
			body := chunk[:n-2]
			if bytes.IndexByte(body, '\r') >= 0 {
				return nil, ErrBareLineEnding
			}
			return body, nil
		}
	}
	return readLineSlow(r, chunk, err, max)
}

// readLineSlow handles what does not fit the common case: a line longer
// than r's buffer, a bare line ending, the end of input.
func readLineSlow(r *bufio.Reader, chunk []byte, err error, max int) ([]byte, error) {
	var (
		buf    []byte // the line so far, while it is short and clean
		total  int    // octets read for this line
		bare   bool
		lastCR bool // the previous chunk ended in CR
	)
	for {
		if lastCR && len(chunk) > 0 && chunk[0] != '\n' {
			bare = true
		}
		n := len(chunk)
		total += n
		switch err {
		case nil: // chunk ends in LF
			crlf := (n >= 2 && chunk[n-2] == '\r') || (n == 1 && lastCR)
			inner := chunk[:n-1]
			if crlf && n >= 2 {
				inner = chunk[:n-2]
			}
			if bytes.IndexByte(inner, '\r') >= 0 {
				bare = true
			}
			if !crlf {
				bare = true
				lastCR = false
				break
			}
			switch {
			case total > max:
				return nil, ErrLineTooLong
			case bare:
				return nil, ErrBareLineEnding
			}
			if buf == nil {
				return inner, nil
			}
			buf = append(buf, chunk...)
			return buf[:len(buf)-2], nil
		case bufio.ErrBufferFull: // no LF yet
			if bytes.IndexByte(chunk[:n-1], '\r') >= 0 {
				bare = true
			}
			lastCR = chunk[n-1] == '\r'
		default:
			if err == io.EOF {
				if total == 0 {
					return nil, io.EOF
				}
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		// The chunk is not the whole line: keep a copy while the line may
		// still be returned, since the next read overwrites r's buffer.
		if !bare && total <= max {
			buf = append(buf, chunk...)
		} else {
			buf = nil
		}
		chunk, err = r.ReadSlice('\n')
	}
}
