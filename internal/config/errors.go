package config

import (
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

// Every failure Load and Validate return is a *codes.SystemError with one
// of the codes above, File the configuration file as given to Load ("" for
// a configuration built in code), Line the key's line (0 when none) and a
// Detail that starts with the dotted key for -6 and -7, so the command line
// prints it as it is:
//
//	-6 Unknown keyword in the configuration file: "smtp.listen_adress": did you mean "smtp.listen_address"? (hikyaku.toml line 4)
//	-7 Invalid value in the configuration file: smtp.max_message_size: "25 potatoes" is not a size (hikyaku.toml line 7)

// invalid is a value that validation refuses, before Load knows the line.
type invalid struct {
	key  string // dotted key ("smtp.max_recipients")
	msg  string // what is wrong
	also string // for a check across keys: the other key, whose line Load uses when key is not in the file
}

// system gives the failure with the line of its key in lines (the key's,
// else the other key's).
func (v *invalid) system(file string, lines map[string]int) *codes.SystemError {
	line := lines[v.key]
	if line == 0 {
		line = lines[v.also]
	}
	return &codes.SystemError{Code: CodeBadValue, Detail: v.key + ": " + v.msg, File: file, Line: line}
}

// oneLine keeps an error message to a single line: a message from a library
// may carry newlines, and every config error is printed as one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
