package bounce

import "bytes"

// qpBuffer is the line buffer of mime/quotedprintable's Reader (a default
// bufio.Reader): a longer line ends its decoding there.
const qpBuffer = 4096

// decodeQP decodes a quoted-printable body in one pass into one buffer,
// octet for octet what io.ReadAll(quotedprintable.NewReader(...)) gives,
// and whether that stopped with an error: its leniencies ("=\n" soft
// breaks, a literal '=' not followed by two hex digits, octets >= 0x80),
// and where it stops (an unescaped control octet, "=" before CR or LF,
// a line longer than its buffer). The reader and its growing ReadAll
// buffer cost a tenth of Read; TestDecodeQP holds the two together.
func decodeQP(b []byte) ([]byte, bool) { return decodeQPTo(make([]byte, 0, len(b)), b) }

// decodeQPTo is decodeQP appending to out.
func decodeQPTo(out, b []byte) ([]byte, bool) {
	for len(b) > 0 {
		// One ReadSlice('\n') of the buffered reader.
		var line []byte
		eof, full := false, false
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i < qpBuffer {
			line, b = b[:i+1], b[i+1:]
		} else if len(b) >= qpBuffer {
			line, b, full = b[:qpBuffer], b[qpBuffer:], true
		} else {
			line, b, eof = b, nil, true
		}
		hasLF := len(line) > 0 && line[len(line)-1] == '\n'
		hasCR := hasLF && len(line) > 1 && line[len(line)-2] == '\r'
		whole := line
		end := len(line)
		for end > 0 && (line[end-1] == '\n' || line[end-1] == '\r' || line[end-1] == ' ' || line[end-1] == '\t') {
			end--
		}
		line = line[:end]
		failed := full
		var tail []byte
		if end > 0 && line[end-1] == '=' {
			rest := bytes.TrimLeft(whole[end:], " \t")
			line = line[:end-1]
			if !bytes.HasPrefix(rest, []byte("\n")) && !bytes.HasPrefix(rest, []byte("\r\n")) && !(len(rest) == 0 && len(line) > 0 && eof) {
				failed = true
			}
		} else if hasLF {
			if hasCR {
				tail = []byte("\r\n")
			} else {
				tail = []byte("\n")
			}
		}
		// The line's octets, then its kept line end, as the reader gives them.
		for part := 0; part < 2; part++ {
			l := line
			if part == 1 {
				l = tail
			}
			for i := 0; i < len(l); i++ {
				c := l[i]
				switch {
				case c == '=':
					if h, ok := hexByte(l[i+1:]); ok {
						c = h
						i += 2
					} else if i+1 < len(l) && l[i+1] != '\r' && l[i+1] != '\n' {
						c = '='
					} else {
						// A kept line never ends in '=' (a soft break), so
						// the reader sees the same octet after it.
						return out, true
					}
				case c == '\t' || c == '\r' || c == '\n' || c >= 0x80:
				case c < ' ' || c > '~':
					return out, true
				}
				out = append(out, c)
			}
		}
		if failed {
			return out, true
		}
	}
	return out, false
}

func hexByte(v []byte) (byte, bool) {
	if len(v) < 2 {
		return 0, false
	}
	hi, ok1 := fromHex(v[0])
	lo, ok2 := fromHex(v[1])
	return hi<<4 | lo, ok1 && ok2
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
