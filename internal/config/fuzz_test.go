package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// FuzzLoad feeds arbitrary files to the loader: it must never panic, and
// every failure must be a one-line *codes.SystemError with a parse, key or value code
// and a line inside the file.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(acceptanceTOML))
	f.Add(Example())
	f.Add([]byte("smtp = { listen = [\":25\"], max_errors = 3 }\n"))
	f.Add([]byte("[smtp]\nmax_message_size = \"25 potatoes\"\n"))
	f.Add([]byte("[[smtp]]\n[hostname]\nsmtp.foo.bar = 1\n"))
	f.Add([]byte("[relay]\nnetworks = [\n \"10.0.0.0/8\",\n 25,\n]\n"))
	f.Add([]byte("a = 2024-01-01T00:00:00Z\nb = inf\nc = [[1], {x = 1}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := load("f.toml", data)
		if err == nil {
			if c.Validate() != nil {
				t.Fatalf("loaded a configuration that does not validate: %+v", c)
			}
			return
		}
		var e *codes.SystemError
		if !errors.As(err, &e) {
			t.Fatalf("%T is not *codes.SystemError: %v", err, err)
		}
		if e.Code != CodeCannotRead && e.Code != CodeUnknownKey && e.Code != CodeBadValue {
			t.Fatalf("code %d: %v", e.Code, err)
		}
		if lines := strings.Count(string(data), "\n") + 1; e.Line < 1 || e.Line > lines {
			t.Fatalf("line %d outside a %d-line file: %v", e.Line, lines, err)
		}
		if strings.ContainsAny(err.Error(), "\r\n") {
			t.Fatalf("error is not one line: %q", err.Error())
		}
	})
}

// FuzzParseSize checks that whatever ParseSize accepts is a non-negative
// size that prints and parses back to itself; likewise durations.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"25MiB", "10 mb", "4096", "9999999999GiB", "-1", "5d", "1d12h", "1h30m", "5d-1h", "106751d23h47m17s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseSize(s); err == nil {
			if v < 0 {
				t.Fatalf("ParseSize(%q) = %d", s, v)
			}
			if back, err := ParseSize(v.String()); err != nil || back != v {
				t.Fatalf("ParseSize(%q) = %d prints as %q, which reads back as %d, %v", s, v, v.String(), back, err)
			}
		}
		if d, err := ParseDuration(s); err == nil {
			if d < 0 {
				t.Fatalf("ParseDuration(%q) = %v", s, d.D())
			}
			if back, err := ParseDuration(d.String()); err != nil || back != d {
				t.Fatalf("ParseDuration(%q) = %v prints as %q, which reads back as %v, %v", s, d.D(), d.String(), back.D(), err)
			}
		}
	})
}
