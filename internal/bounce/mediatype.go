package bounce

import "strings"

// parseMediaTypeASCII is mime.ParseMediaType for what nearly every
// Content-Type is, ASCII with no RFC 2231 parameters (a '*' in a name):
// the same type, the same boundary and charset, an error (failed) where
// it fails, without its map and a string per quoted value. Otherwise ok
// is false and the caller asks mime.ParseMediaType (TestMediaTypeASCII
// holds the two together).
func parseMediaTypeASCII(v string) (mediatype string, p mediaParams, failed, ok bool) {
	if !isASCIIString(v) {
		return "", p, false, false
	}
	base, _, _ := strings.Cut(v, ";")
	mediatype = strings.TrimSpace(strings.ToLower(base))
	if !validMediaType(mediatype) {
		return "", p, true, true
	}
	var seen [16]struct{ key, value string }
	n := 0
	v = v[len(base):]
	for len(v) > 0 {
		v = trimLeftSpace(v)
		if len(v) == 0 {
			break
		}
		key, value, rest := consumeParam(v)
		if key == "" {
			if strings.TrimSpace(rest) == ";" {
				break // trailing semicolons are allowed
			}
			return mediatype, mediaParams{}, true, true
		}
		if strings.IndexByte(key, '*') >= 0 || n == len(seen) {
			return "", mediaParams{}, false, false
		}
		dup := false
		for _, s := range seen[:n] {
			if s.key == key {
				if s.value != value {
					return "", mediaParams{}, true, true
				}
				dup = true
			}
		}
		if !dup {
			seen[n].key, seen[n].value = key, value
			n++
		}
		switch key {
		case "boundary":
			p.boundary = value
		case "charset":
			p.charset = value
		}
		v = rest
	}
	return mediatype, p, false, true
}

// validMediaType is mime's checkMediaTypeDisposition passing.
func validMediaType(s string) bool {
	typ, rest := consumeToken(s)
	if typ == "" {
		return false
	}
	if rest == "" {
		return true
	}
	rest, ok := strings.CutPrefix(rest, "/")
	if !ok {
		return false
	}
	subtype, rest := consumeToken(rest)
	return subtype != "" && rest == ""
}

// consumeParam is mime's consumeMediaParam on ASCII.
func consumeParam(v string) (param, value, rest string) {
	rest = trimLeftSpace(v)
	rest, ok := strings.CutPrefix(rest, ";")
	if !ok {
		return "", "", v
	}
	rest = trimLeftSpace(rest)
	param, rest = consumeToken(rest)
	param = strings.ToLower(param)
	if param == "" {
		return "", "", v
	}
	rest = trimLeftSpace(rest)
	if rest, ok = strings.CutPrefix(rest, "="); !ok {
		return "", "", v
	}
	rest = trimLeftSpace(rest)
	value, rest2 := consumeParamValue(rest)
	if value == "" && rest2 == rest {
		return "", "", v
	}
	return param, value, rest2
}

// consumeParamValue is mime's consumeValue; a quoted string without
// escapes is a substring.
func consumeParamValue(v string) (value, rest string) {
	if v == "" {
		return "", ""
	}
	if v[0] != '"' {
		return consumeToken(v)
	}
	var b []byte // only once an escape is met
	for i := 1; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"':
			if b == nil {
				return v[1:i], v[i+1:]
			}
			return string(b), v[i+1:]
		case c == '\\' && i+1 < len(v) && isTSpecial(v[i+1]):
			if b == nil {
				b = append([]byte(nil), v[1:i]...)
			}
			b = append(b, v[i+1])
			i++
			continue
		case c == '\r' || c == '\n':
			return "", v
		}
		if b != nil {
			b = append(b, c)
		}
	}
	return "", v // no closing quote
}

func consumeToken(v string) (token, rest string) {
	for i := 0; i < len(v); i++ {
		if !isTokenChar(v[i]) {
			return v[:i], v[i:]
		}
	}
	return v, ""
}

// trimLeftSpace is strings.TrimLeftFunc(v, unicode.IsSpace) on ASCII.
func trimLeftSpace(v string) string {
	i := 0
	for i < len(v) && (v[i] == ' ' || v[i] >= '\t' && v[i] <= '\r') {
		i++
	}
	return v[i:]
}

func isTSpecial(c byte) bool { return strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 }

func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && !isTSpecial(c)
}
