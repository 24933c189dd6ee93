package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Explain gives one entry per code, in order, a blank line between them,
// and reports the codes it cannot explain on stderr without stopping.
func TestExplain(t *testing.T) {
	var out, errs bytes.Buffer
	err := Explain([]string{"550", "-500", "999999", "5.7.1"}, "en", false, &out, &errs)
	if !errors.Is(err, ErrUnexplained) || !strings.Contains(errs.String(), "999999") {
		t.Errorf("err %v, stderr %q", err, errs.String())
	}
	entries := strings.Split(out.String(), "\n\n")
	if len(entries) != 3 || !strings.HasPrefix(entries[0], "550 ") || !strings.HasPrefix(entries[1], "-500 ") ||
		!strings.HasPrefix(entries[2], "5.7.1 ") {
		t.Errorf("entries %q", entries)
	}
	out.Reset()
	if err := Explain([]string{"-11"}, "", true, &out, &errs); err != nil {
		t.Fatal(err)
	}
	var d struct{ Code, EN, JA string }
	if err := json.Unmarshal(out.Bytes(), &d); err != nil || d.Code != "-11" || d.EN == "" || d.JA == "" {
		t.Errorf("json: %+v %v\n%s", d, err, out.String())
	}
}
