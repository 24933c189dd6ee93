package protocol

import (
	"bufio"
	"bytes"
	"io"
)

// DataOptions set how ReadData treats the content.
type DataOptions struct {
	// MaxSize bounds the content in octets; 0 means no limit. Over it,
	// ReadData stops writing to dst, keeps reading to the terminator and
	// reports TooBig (RFC 1870 §6.3: the reply comes after the dot).
	MaxSize int64
	// NormalizeBareLF stores a bare LF as CRLF (Postfix 3.9's choice, a
	// documented deviation from RFC 5321 §2.3.8). Otherwise, and always
	// for a bare CR, a bare line ending sets BareLineEnding and writing
	// stops.
	NormalizeBareLF bool
}

// DataResult is what ReadData saw.
type DataResult struct {
	// Size is the length of the content in octets: unstuffed, with CRLF
	// line endings, and counted in full even past MaxSize. When neither
	// flag is set it is exactly what was written to dst; when one is,
	// dst holds an unspecified prefix and must be thrown away.
	Size           int64
	TooBig         bool
	BareLineEnding bool
}

// WriteError reports that dst failed. ReadData still read through the
// terminator, so the session is in step with the client and may answer
// 451 instead of hanging up.
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return "protocol: writing message: " + e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

var crlf = []byte("\r\n")

// ReadData reads the content of DATA after the 354 reply, up to and
// including the terminating CRLF "." CRLF, removes the dot-stuffing
// (RFC 5321 §4.5.2) and writes the content, CRLF line endings included, to
// dst. A "." line as the very first line is an empty message.
//
// Only the real CR LF "." CR LF ends the message. LF.LF, CRLF.LF, LF.CRLF,
// CR.CR and their kin never do (SMTP smuggling, CVE-2023-51764/51765/
// 51766); they are content holding a bare CR or LF, which sets
// BareLineEnding. The rules, exactly:
//
//   - A line starts at the beginning of the content and after every CRLF;
//     with NormalizeBareLF also after a bare LF, which is written as CRLF.
//   - At a line start, ".\r\n" ends the message if the line began after a
//     real CRLF (or at the start); any other leading "." is removed.
//   - With NormalizeBareLF, a line that is a lone "." and touches a bare LF
//     on either side (LF.LF, CRLF.LF, LF.CRLF) sets BareLineEnding: it is
//     the shape of a smuggling attempt, and storing it as a "." line would
//     leave an end-of-data for a later, less careful hop (a program fed
//     through "sendmail" without -i, a relay that fails to dot-stuff) to
//     misread. So normalization never produces a lone "." line from a bare
//     LF; a lone "." line in stored content only ever comes from a client
//     that sent "..", as RFC 5321 intends.
//
// There is no line length limit (docs/spec.md §2). The error is only for reading
// (io.ErrUnexpectedEOF when the input ends before the terminator; a
// timeout from the connection as it is) or *WriteError when dst failed.
//
// ReadData scans r's buffer in place and writes runs of unchanged content
// in large slices; it allocates nothing.
func ReadData(r *bufio.Reader, dst io.Writer, opt DataOptions) (DataResult, error) {
	d := dataWriter{dst: dst, max: opt.MaxSize}
	lineStart, afterBareLF := true, false
	for {
		// Lookahead: at a line start the next three octets decide between
		// terminator, stuffing and content; in a line, a CR needs the octet
		// after it. Neither can wait for more than the client must still
		// send, since CRLF.CRLF is yet to come.
		need := 2
		if lineStart {
			need = 3
		}
		if _, err := r.Peek(need); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return d.res, err
		}
		w, _ := r.Peek(r.Buffered())
		i, run := 0, 0 // w[run:i] is content not yet written
		for i < len(w) {
			if lineStart {
				if len(w)-i < 3 {
					break
				}
				lineStart = false
				if w[i] == '.' {
					lone := w[i+1] == '\n' || w[i+1] == '\r' && w[i+2] == '\n'
					if lone && w[i+1] == '\r' && !afterBareLF {
						d.write(w[run:i])
						r.Discard(i + 3)
						return d.done()
					}
					if lone {
						d.bare()
					}
					d.write(w[run:i])
					i++
					run = i
				}
				afterBareLF = false
			}
			j := bytes.IndexByte(w[i:], '\n')
			if j < 0 {
				end := len(w)
				if w[end-1] == '\r' {
					end-- // decided by the next octet
				}
				if bytes.IndexByte(w[i:end], '\r') >= 0 {
					d.bare()
				}
				i = end
				break
			}
			lf := i + j
			if lf > i && w[lf-1] == '\r' {
				if bytes.IndexByte(w[i:lf-1], '\r') >= 0 {
					d.bare()
				}
				i = lf + 1
				lineStart = true
				continue
			}
			// A bare LF.
			if bytes.IndexByte(w[i:lf], '\r') >= 0 {
				d.bare()
			}
			i = lf + 1
			if !opt.NormalizeBareLF {
				d.bare()
				continue
			}
			d.write(w[run:lf])
			d.write(crlf)
			run = i
			lineStart, afterBareLF = true, true
		}
		d.write(w[run:i])
		r.Discard(i)
	}
}

// dataWriter counts the content and writes it while it is still wanted.
type dataWriter struct {
	dst     io.Writer
	max     int64
	res     DataResult
	stopped bool // too big, bare line ending, or dst failed
	err     error
}

func (d *dataWriter) write(b []byte) {
	if len(b) == 0 {
		return
	}
	d.res.Size += int64(len(b))
	if d.max > 0 && d.res.Size > d.max {
		d.res.TooBig = true
		d.stopped = true
	}
	if d.stopped {
		return
	}
	if _, err := d.dst.Write(b); err != nil {
		d.err = err
		d.stopped = true
	}
}

func (d *dataWriter) bare() {
	d.res.BareLineEnding = true
	d.stopped = true
}

func (d *dataWriter) done() (DataResult, error) {
	if d.err != nil {
		return d.res, &WriteError{d.err}
	}
	return d.res, nil
}
