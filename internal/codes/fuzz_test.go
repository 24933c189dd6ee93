package codes

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// FuzzDescribe feeds Describe arbitrary queries: it must never panic, must
// either explain or return an error wrapping ErrNotACode, and whatever it
// explains must render and marshal.
func FuzzDescribe(f *testing.F) {
	for _, s := range []string{
		"550", "5.7.1", "X.1.10", "623", "-11", "550 5.7.1", "421-4.7.0", "559", "5.9.99",
		"5xx", "x5x", "4.x.x", "５５０", "550 5.1.1 <a@b>: no", "", "-", "5.", "..", "x.x.x",
		"550\t5.7.1", "552 4.3.4", "-500", "999", "5.01.1", "550-",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		d, err := Describe(q)
		if err != nil {
			if !errors.Is(err, ErrNotACode) {
				t.Fatalf("Describe(%q): error %v does not wrap ErrNotACode", q, err)
			}
			return
		}
		if d.Code == "" || d.EN == "" || d.JA == "" {
			t.Fatalf("Describe(%q) = %+v: empty code or text", q, d)
		}
		if s := d.Text(""); !strings.HasPrefix(s, d.Code+"  ") {
			t.Fatalf("Describe(%q).Text starts %q", q, s)
		}
		if _, err := json.Marshal(d); err != nil {
			t.Fatalf("Describe(%q): marshal: %v", q, err)
		}
		if d.Known && d.Kind != KindEnhanced {
			n, err := strconv.Atoi(d.Code)
			if _, ok := LookupCode(n); err != nil || !ok {
				t.Fatalf("Describe(%q) says known code %s, the table disagrees", q, d.Code)
			}
		}
	})
}
