package protocol

import (
	"bytes"
	"io"
)

// LineEndingChecker passes BDAT chunks (RFC 3030) to a writer. BDAT content
// is not dot-stuffed and has no terminator, but its line endings are held
// to the same rule as DATA, across chunk boundaries: a CR at the end of one
// chunk and an LF at the start of the next make a CRLF.
type LineEndingChecker struct {
	d         dataWriter
	normalize bool
	lastCR    bool
}

// NewLineEndingChecker returns a checker writing to dst. normalizeBareLF
// and maxSize mean what DataOptions' fields do.
func NewLineEndingChecker(dst io.Writer, normalizeBareLF bool, maxSize int64) *LineEndingChecker {
	return &LineEndingChecker{d: dataWriter{dst: dst, max: maxSize}, normalize: normalizeBareLF}
}

// Write takes the next part of the content. Bad content is only recorded,
// never an error, so the chunk is read to its end; the error is a
// *WriteError from dst, after which the session must still read and
// discard the rest of the chunk to stay in step.
func (c *LineEndingChecker) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.lastCR && p[0] != '\n' {
		c.d.bare()
	}
	i, run := 0, 0
	for {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			if i < len(p)-1 && bytes.IndexByte(p[i:len(p)-1], '\r') >= 0 {
				c.d.bare()
			}
			break
		}
		lf := i + j
		isCRLF := lf > 0 && p[lf-1] == '\r' || lf == 0 && c.lastCR
		end := lf
		if isCRLF && lf > i {
			end = lf - 1
		}
		if bytes.IndexByte(p[i:end], '\r') >= 0 {
			c.d.bare()
		}
		if !isCRLF {
			if c.normalize {
				c.d.write(p[run:lf])
				c.d.write(crlf)
				run = lf + 1
			} else {
				c.d.bare()
			}
		}
		i = lf + 1
	}
	c.lastCR = p[len(p)-1] == '\r'
	c.d.write(p[run:])
	if c.d.err != nil {
		return len(p), &WriteError{c.d.err}
	}
	return len(p), nil
}

// Finish reports on the whole content, after the LAST chunk; a CR at the
// very end is a bare CR.
func (c *LineEndingChecker) Finish() DataResult {
	if c.lastCR {
		c.d.bare()
		c.lastCR = false
	}
	return c.d.res
}
