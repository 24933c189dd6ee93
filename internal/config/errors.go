package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// The system codes of docs/spec.md §4.4 this package returns.
const (
	CodeCannotOpen = -4 // the file does not exist
	CodeCannotRead = -5 // the file cannot be read, or is not valid TOML
	CodeUnknownKey = -6 // a key or table that no setting has
	CodeBadValue   = -7 // a value of the wrong type, out of range or inconsistent
)

// Error is a configuration failure. Its text is one line that starts with
// the system code, so the command line can print it as it is:
//
//	-6 unknown keyword "smtp.listen_adress" (hikyaku.toml line 4)
//	-7 invalid value for smtp.max_message_size: "25 potatoes" is not a size (hikyaku.toml line 7)
type Error struct {
	Code int    // CodeCannotOpen .. CodeBadValue
	File string // as given to Load; "" for the built-in defaults
	Line int    // 1-based; 0 when no line applies
	Key  string // dotted key ("smtp.max_recipients"), "" for -4 and -5
	Msg  string // what is wrong; for -6 an optional "did you mean" hint

	err  error  // underlying error of -4/-5, for errors.Is(err, fs.ErrNotExist)
	also string // for a check across keys: the other key, whose line Load uses when Key is not in the file
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.Code))
	b.WriteByte(' ')
	switch e.Code {
	case CodeCannotOpen:
		fmt.Fprintf(&b, "cannot open configuration file %q: %s", e.File, e.Msg)
		return b.String()
	case CodeCannotRead:
		if e.Line > 0 {
			fmt.Fprintf(&b, "cannot parse configuration file %q line %d: %s", e.File, e.Line, e.Msg)
		} else {
			fmt.Fprintf(&b, "cannot read configuration file %q: %s", e.File, e.Msg)
		}
		return b.String()
	case CodeUnknownKey:
		fmt.Fprintf(&b, "unknown keyword %q", e.Key)
		if e.Msg != "" {
			b.WriteString(", " + e.Msg)
		}
	case CodeBadValue:
		fmt.Fprintf(&b, "invalid value for %s: %s", e.Key, e.Msg)
	default:
		msg := e.Msg
		if c, ok := codes.LookupCode(e.Code); ok && msg == "" {
			msg = c.EN
		}
		b.WriteString(msg)
	}
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, " (%s line %d)", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, " (%s)", e.File)
	}
	return b.String()
}

// Unwrap gives the operating-system error behind a -4 or -5.
func (e *Error) Unwrap() error { return e.err }

// oneLine keeps an error message to a single line: a message from a library
// may carry newlines, and every config error is printed as one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
