package compose

import (
	"reflect"
	"testing"
)

// A comma or '<' inside quotes, angle brackets or a template action is
// text, not structure.
func TestSplitTop(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{`a@x, b@y`, []string{"a@x", " b@y"}},
		{`"Yamada, Taro" <t@x>, b@y`, []string{`"Yamada, Taro" <t@x>`, " b@y"}},
		{`"a\", b" <t@x>`, []string{`"a\", b" <t@x>`}},
		{`<"odd,local"@x>, b@y`, []string{`<"odd,local"@x>`, " b@y"}},
		{`{{index . "a,b"}} <t@x>, c@y`, []string{`{{index . "a,b"}} <t@x>`, " c@y"}},
		{``, []string{""}},
	}
	for _, c := range cases {
		if got := splitTop(c.in, ','); !reflect.DeepEqual(got, c.want) {
			t.Errorf("splitTop(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for in, want := range map[string]int{
		`Taro <t@x>`:          5,
		`"<not this>" <t@x>`:  13,
		`{{"<"}} <t@x>`:       8,
		`"a\"<" <t@x>`:        7,
		`no angle`:            -1,
		`"unterminated <t@x>`: -1,
	} {
		if got := lastTop(in, '<'); got != want {
			t.Errorf("lastTop(%q) = %d, want %d", in, got, want)
		}
	}
}
