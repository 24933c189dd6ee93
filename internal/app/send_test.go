package app

import "testing"

// A message written with LF line ends is sent with CRLF; CRLF and a last
// line without an end stay as they are.
func TestToCRLF(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "",
		"no newline":                 "no newline",
		"Subject: a\n\nbody\n":       "Subject: a\r\n\r\nbody\r\n",
		"Subject: a\r\n\r\nbody\r\n": "Subject: a\r\n\r\nbody\r\n",
		"mixed\r\nends\nlast":        "mixed\r\nends\r\nlast",
	} {
		if got := string(toCRLF([]byte(in))); got != want {
			t.Errorf("toCRLF(%q) = %q, want %q", in, got, want)
		}
	}
	if !isASCII([]byte("plain")) || isASCII([]byte("日本")) {
		t.Error("isASCII")
	}
}
