package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// errorText is how the top-level printer shows an error that is not a
// usage error. A system error (a *codes.SystemError anywhere in the
// chain: -4 … -13, -100 … -102) is shown with its code first, as docs/spec.md §1
// asks, followed by what the callers added around it; no package formats
// a code by hand for this.
func errorText(err error) string {
	var se *codes.SystemError
	if !errors.As(err, &se) {
		return err.Error()
	}
	text, inner := err.Error(), se.Error()
	switch {
	case text == inner:
		return text
	case strings.Contains(text, inner):
		around := strings.Trim(strings.Replace(text, inner, "", 1), ": ")
		if around == "" {
			return inner
		}
		return inner + " (" + around + ")"
	case strings.HasPrefix(text, strconv.Itoa(se.Code)+" "):
		return text
	default:
		// A wrapper that wrote its own text: the code still goes first.
		return strconv.Itoa(se.Code) + " " + text
	}
}
