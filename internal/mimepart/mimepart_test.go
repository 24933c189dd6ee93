package mimepart

import (
	"strings"
	"testing"
)

func TestRaw(t *testing.T) {
	body := "preamble\r\n--B\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--B\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n--B--\r\nepilogue\r\n"
	parts, err := Raw([]byte(body), "B")
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 {
		t.Fatalf("%d parts, want 2", len(parts))
	}
	if got := parts[0].Header.Get("Content-Transfer-Encoding"); got != "base64" || string(parts[0].Body) != "aGVsbG8=" {
		t.Errorf("part 1: %q %q, want the body still encoded", got, parts[0].Body)
	}
	if string(parts[1].Body) != "<p>hi</p>" {
		t.Errorf("part 2 body %q", parts[1].Body)
	}
	if _, err := Raw([]byte("--B\r\nContent-Type: text/plain\r\n\r\nno end"), "B"); err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Errorf("a body without its closing delimiter: err %v, want an EOF error", err)
	}
}
