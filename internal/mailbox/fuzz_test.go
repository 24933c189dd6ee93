package mailbox

import (
	"bytes"
	"testing"
)

// FuzzWithoutReturnPath checks the header surgery on arbitrary input: it
// only ever removes bytes, never from the body, leaves no Return-Path
// field in the header section, and is idempotent.
func FuzzWithoutReturnPath(f *testing.F) {
	for _, s := range []string{
		"Return-Path: <a@b>\r\nA: 1\r\n\r\nbody\r\n",
		"A: 1\r\nReturn-Path:\r\n <a@b>\r\n\tmore\r\nB: 2\r\n\r\nReturn-Path: <kept>\r\n",
		"return-path : x\nA: 1\n\nb\n",
		" lead\r\nReturn-Path: x\r\n\r\n",
		"A: 1\r\nnot a field\r\nReturn-Path: x\r\n",
		"Return-Path: x",
		"\r\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		out := joinPieces(withoutReturnPath(msg))
		if len(out) > len(msg) {
			t.Fatalf("output longer than input")
		}
		// What is left is the input with some whole lines cut out: every
		// piece is a subslice, in order, so out is a subsequence; and the
		// body (from the header end on) is a common suffix.
		hdrEnd := headerEnd(msg)
		if !bytes.HasSuffix(out, msg[hdrEnd:]) {
			t.Fatalf("body changed:\nin  %q\nout %q", msg, out)
		}
		again := joinPieces(withoutReturnPath(out))
		if !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\nonce  %q\ntwice %q", out, again)
		}
		if !bytes.Contains(bytes.ToLower(msg), []byte("return-path")) && !bytes.Equal(out, msg) {
			t.Fatalf("changed a message without Return-Path:\nin  %q\nout %q", msg, out)
		}
	})
}

// headerEnd is an independent, simpler statement of where the header
// section ends: at the first empty line, the first line that is neither a
// field nor a continuation, or a continuation with no field before it.
func headerEnd(msg []byte) int {
	pos, field := 0, false
	for pos < len(msg) {
		line := msg[pos:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i+1]
		}
		trim := bytes.TrimRight(line, "\r\n")
		switch {
		case len(trim) == 0:
			return pos
		case line[0] == ' ' || line[0] == '\t':
			if !field {
				return pos
			}
		default:
			if _, ok := fieldName(line); !ok {
				return pos
			}
			field = true
		}
		pos += len(line)
	}
	return pos
}
