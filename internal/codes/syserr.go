package codes

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
)

// SystemError is a failure of the run itself, with a system code of the
// table (-4 .. -13, -100 .. -102): the configuration, the recipient list,
// the images, the status database. It is the one error shape every package
// returns for such a failure, so that the command line prints every one
// the same way (code first, docs/spec.md §1) and a caller tells them apart by Code
// rather than by a type per package.
//
// Its English text is one line:
//
//	-10 TSV header cannot be parsed: no "email" column (list.tsv line 1)
//	-102 Status database update failed: database is locked
type SystemError struct {
	Code int // a system code of the table
	// Detail says what went wrong beyond the code's text; a fixed detail
	// (one of Details) has a Japanese text, a detail that carries a name or
	// a value is shown as it is.
	Detail string
	// File is the operator's file the failure applies to (the TSV list, the
	// configuration file, an image), never a copy hikyaku made; "" when no
	// file applies.
	File string
	Line int   // 1-based line in File; 0 when no line applies
	Err  error // the cause (an operating-system or driver error), or nil
}

// NewSystemError builds a SystemError. The detail is kept to one line,
// because a library's error text may carry newlines and the error is
// printed as one.
func NewSystemError(code int, detail string, err error) *SystemError {
	return &SystemError{Code: code, Detail: oneLine(detail), Err: err}
}

// At sets the operator's file and line the error applies to and returns e.
func (e *SystemError) At(file string, line int) *SystemError {
	e.File, e.Line = file, line
	return e
}

func (e *SystemError) Error() string { return e.Text("en") }

// Unwrap gives the cause, for errors.Is(err, fs.ErrNotExist) and the like.
func (e *SystemError) Unwrap() error { return e.Err }

// Text renders the error in lang ("ja" for Japanese, anything else for
// English): the code, its short meaning from the table, the detail (in
// Japanese where the table has the detail's text) and the cause, and the
// file and line it applies to.
func (e *SystemError) Text(lang string) string {
	ja := strings.EqualFold(lang, "ja")
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.Code))
	if c, ok := LookupCode(e.Code); ok {
		b.WriteByte(' ')
		if ja {
			b.WriteString(c.JA)
		} else {
			b.WriteString(c.EN)
		}
	}
	if e.Detail != "" {
		b.WriteString(": ")
		if ja {
			b.WriteString(DetailJA(e.Detail))
		} else {
			b.WriteString(e.Detail)
		}
	}
	if s := e.cause(); s != "" && !strings.Contains(e.Detail, s) {
		b.WriteString(": " + s)
	}
	switch {
	case e.File != "" && e.Line > 0:
		if ja {
			b.WriteString(" (" + e.File + " " + strconv.Itoa(e.Line) + "行目)")
		} else {
			b.WriteString(" (" + e.File + " line " + strconv.Itoa(e.Line) + ")")
		}
	case e.File != "":
		b.WriteString(" (" + e.File + ")")
	}
	return b.String()
}

// cause is the cause's text, without the path of an *fs.PathError when the
// error names its file itself: "no such file or directory (list.tsv)"
// rather than the path twice.
func (e *SystemError) cause() string {
	if e.Err == nil {
		return ""
	}
	var pe *fs.PathError
	if e.File != "" && errors.As(e.Err, &pe) {
		return oneLine(pe.Err.Error())
	}
	return oneLine(e.Err.Error())
}

// SystemCode gives the code of the SystemError in err's chain.
func SystemCode(err error) (int, bool) {
	var se *SystemError
	if errors.As(err, &se) {
		return se.Code, true
	}
	return 0, false
}

// IsSystem says err's chain holds a SystemError with that code.
func IsSystem(err error, code int) bool {
	c, ok := SystemCode(err)
	return ok && c == code
}

// DetailJA gives a detail's Japanese text: each part of it between ": "
// that is a fixed detail in the table translated, the rest (a key, a name,
// a value, which read the same in both languages) kept as it is.
func DetailJA(detail string) string {
	parts := strings.Split(detail, ": ")
	for i, p := range parts {
		if d, ok := detailIndex()[p]; ok {
			parts[i] = d.JA
		}
	}
	return strings.Join(parts, ": ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
