package compose

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzExecute merges arbitrary field values into headers, display names,
// text and HTML, for a UTF-8 and an ISO-2022-JP recipient. Whatever the
// values, the output is well-formed (CRLF, ≤ 998, 7-bit), no merged value
// starts a header of its own, and the text decodes back to exactly what
// was merged (after the documented ISO-2022-JP equivalents).
func FuzzExecute(f *testing.F) {
	for _, s := range [][2]string{
		{"山田 太郎", "こんにちは"},
		{"Taro\r\nBcc: x@evil.example", "line\r\nbreaks\rhere"},
		{`"quoted, name" \ <x>`, "<script>alert(1)</script>"},
		{"😀①髙ｶﾞ〜", "¥1,000 − ‖ —"},
		{strings.Repeat("長", 300), strings.Repeat("x", 2000)},
		{"=?UTF-8?B?Zm9v?=", "--=_hky_0102030405060708_a"},
		{"", ""},
	} {
		f.Add(s[0], s[1])
	}
	tm, err := ParseTemplate([]byte("From: {{.name}} <news@e.jp>\nTo: {{.name}} <{{.email}}>\nSubject: {{.name}}\n\n{{.body}}"),
		Options{HTML: []byte("<p>{{.body}}</p>"), Hostname: "h.e.jp", CharsetByDomain: MobileCarrierCharsets()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, body string) {
		if !utf8.ValidString(name) || !utf8.ValidString(body) {
			t.Skip() // the TSV reader hands over UTF-8 only
		}
		for _, email := range []string{"r@example.com", "r@docomo.ne.jp"} {
			out, err := tm.Execute("c", 1, email, map[string]string{"name": name, "body": body})
			if err != nil {
				if strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 && r != '\r' && r != '\n' && r != '\t' || r == 0x7f }) {
					continue // control characters in a header are refused
				}
				t.Fatalf("%s: %v", email, err)
			}
			checkWire(t, out.Data, false)
			hdr, _, _ := bytes.Cut(out.Data, []byte("\r\n\r\n"))
			for _, line := range bytes.Split(hdr, []byte("\r\n")) {
				if bytes.HasPrefix(bytes.ToLower(line), []byte("bcc:")) {
					t.Fatalf("a merged value started a header: %q", line)
				}
			}
			d := decodeMessage(t, out.Data)
			fold := func(s string) string { return s }
			if out.Charset == ISO2022JP {
				fold = jisFold
			}
			clean, _ := cleanHeaderText(name)
			if got := d.get("Subject"); got != fold(clean) {
				t.Fatalf("%s: Subject %q, want %q", email, got, fold(clean))
			}
			want := normalizeNewlines(body)
			if !strings.HasSuffix(want, "\n") {
				want += "\n"
			}
			if got := d.part("text/plain").text; got != fold(want) {
				t.Fatalf("%s: text %q, want %q", email, got, fold(want))
			}
		}
	})
}

// FuzzParseTemplate feeds arbitrary templates: no panic, and a template
// that parses gives well-formed messages when every field it names is
// there.
func FuzzParseTemplate(f *testing.F) {
	for _, name := range []string{"testdata/newsletter.eml", "testdata/carrier.eml"} {
		f.Add(readFile(f, name))
	}
	f.Add([]byte("From: a@e.jp\nTo: {{.n}}, \"x\" <{{.email}}>\nSubject: =?ISO-2022-JP?B?GyRCJDMbKEI=?=\n\n{{if .v}}{{.n}}{{end}}"))
	f.Fuzz(func(t *testing.T, eml []byte) {
		tm, err := ParseTemplate(eml, Options{Hostname: "h.e.jp", ImagesDir: "testdata/images", CharsetByDomain: MobileCarrierCharsets()})
		if err != nil {
			return
		}
		fields := map[string]string{}
		for _, k := range tm.Fields() {
			fields[k] = "値 " + k
		}
		for _, email := range []string{"r@example.com", "r@docomo.ne.jp"} {
			out, err := tm.Execute("c", 1, email, fields)
			if err != nil {
				continue // a template may merge into something invalid (an address, a URL)
			}
			checkWire(t, out.Data, out.SMTPUTF8)
			decodeMessage(t, out.Data)
		}
	})
}
