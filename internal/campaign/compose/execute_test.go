package compose

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestMissingField(t *testing.T) {
	cases := []struct {
		name, src string
		html      string
		fields    map[string]string
		want      string
		why       string
	}{
		{"subject", "From: a@e.jp\nSubject: {{.name}}\n\nx\n", "", nil, `missing merge field "name" (used in Subject)`, "the header that uses it is named"},
		{"body", "From: a@e.jp\n\n{{.code}}\n", "", map[string]string{"name": "x"}, `missing merge field "code" (used in text body)`, "a row without the column"},
		{"html", "From: a@e.jp\n\nx\n", "<p>{{.shop}}</p>", nil, `missing merge field "shop" (used in HTML body)`, "the HTML part too"},
		{"if", "From: a@e.jp\n\n{{if .vip}}VIP{{end}}\n", "", nil, `missing merge field "vip"`, "a condition reads the field as well"},
		{"index is optional", "From: a@e.jp\n\n[{{index . \"nick\"}}]\n", "", nil, "", "index gives \"\" for a missing field: the way to write an optional one"},
		{"builtins", "From: a@e.jp\nSubject: {{.campaign}} {{.row}} {{.email}}\n\nx\n", "", nil, "", "campaign, row and email are always there"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opt := Options{}
			if c.html != "" {
				opt.HTML = []byte(c.html)
			}
			tm := mustParse(t, []byte(c.src), opt)
			_, err := tm.Execute("c", 1, "r@e.jp", c.fields)
			if c.want == "" {
				if err != nil {
					t.Fatalf("%v (%s)", err, c.why)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q (%s)", err, c.want, c.why)
			}
		})
	}
	tm := mustParse(t, []byte("From: {{.shop}} <a@e.jp>\nSubject: {{.name}} {{.name}}\n\n{{.code}}\n"), Options{
		HTML: []byte("{{.color}}"), ListUnsubscribe: "https://e.jp/{{.token}}/{{.row}}"})
	if got, want := tm.Fields(), []string{"code", "color", "name", "shop", "token"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %q, want %q", got, want)
	}
}

func TestHeaderInjection(t *testing.T) {
	tm := mustParse(t, []byte("From: {{.shop}} <a@e.jp>\nSubject: Hello {{.name}}\nX-Ref: {{.name}}\n\nx\n"), Options{})
	evil := "Taro\r\nBcc: victim@evil.example\r\n\r\nbody"
	out, err := tm.Execute("c", 1, "r@e.jp", map[string]string{"name": evil, "shop": "Shop\nBcc: x@evil.example"})
	if err != nil {
		t.Fatal(err)
	}
	checkWire(t, out.Data, false)
	d := decodeMessage(t, out.Data)
	if len(d.header["Bcc"]) > 0 || bytes.Contains(out.Data, []byte("\nBcc:")) {
		t.Fatalf("a merged CRLF started a header:\n%s", out.Data)
	}
	if got := d.get("Subject"); got != "Hello Taro  Bcc: victim@evil.example    body" {
		t.Errorf("Subject %q: line breaks become spaces, nothing is lost", got)
	}
	if _, err := tm.Execute("c", 1, "r@e.jp", map[string]string{"name": "a\x00b", "shop": "s"}); err == nil {
		t.Errorf("a NUL in a header was accepted")
	}
}

func TestAddresses(t *testing.T) {
	cases := []struct {
		name   string
		header string
		fields map[string]string
		email  string
		want   string // the To or From line as written, unfolded
		utf8   bool
		why    string
	}{
		{"default to", "", nil, "taro.@ezweb.ne.jp", "To: taro.@ezweb.ne.jp", false, "the recipient, carrier local part as written"},
		{"idn recipient", "", nil, "user@例え.jp", "To: user@xn--r8jz45g.jp", false, "an A-label keeps the header ASCII"},
		{"utf8 local", "", nil, "山田@例え.jp", "To: 山田@例え.jp", true, "an EAI address cannot be made ASCII: SMTPUTF8"},
		{"quoted display", "To: \"{{.name}}\" <{{.email}}>\n", map[string]string{"name": "Yamada, Taro"}, "t@e.jp",
			`To: "Yamada, Taro" <t@e.jp>`, false, "a comma in a name needs the quotes back"},
		{"atom display", "To: {{.name}} <{{.email}}>\n", map[string]string{"name": "Taro Y. Yamada"}, "t@e.jp",
			`To: Taro Y. Yamada <t@e.jp>`, false, "atoms and dots go as they are"},
		{"quote inside", "To: {{.name}} <{{.email}}>\n", map[string]string{"name": `Taro "T" \ Y`}, "t@e.jp",
			`To: "Taro \"T\" \\ Y" <t@e.jp>`, false, "quotes and backslashes are escaped"},
		{"whole mailbox merged", "To: {{.to}}\n", map[string]string{"to": "Taro <t@e.jp>"}, "t@e.jp",
			`To: Taro <t@e.jp>`, false, "a field holding a whole mailbox"},
		{"two mailboxes", "To: {{.email}}, \"Office\" <office@e.jp>\n", nil, "t@e.jp",
			`To: t@e.jp, Office <office@e.jp>`, false, "a list: commas split mailboxes"},
		{"options from", "", nil, "t@e.jp", "From: =?UTF-8?B?44Gy44GN44KD44GP?= <news@e.jp>", false, "Options.From replaces the template's, name encoded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opt := Options{}
			if c.name == "options from" {
				opt.From = "ひきゃく <news@e.jp>"
			}
			tm := mustParse(t, []byte("From: a@e.jp\n"+c.header+"\nx\n"), opt)
			out, err := tm.Execute("c", 1, c.email, c.fields)
			if err != nil {
				t.Fatal(err)
			}
			hdr, _, _ := strings.Cut(string(out.Data), "\r\n\r\n")
			hdr = strings.ReplaceAll(hdr, "\r\n ", " ")
			if !strings.Contains(hdr+"\r\n", "\r\n"+c.want+"\r\n") && !strings.HasPrefix(hdr, c.want+"\r\n") {
				t.Errorf("header\n%s\nlacks %q (%s)", hdr, c.want, c.why)
			}
			if out.SMTPUTF8 != c.utf8 {
				t.Errorf("SMTPUTF8 = %v, want %v (%s)", out.SMTPUTF8, c.utf8, c.why)
			}
			checkWire(t, out.Data, c.utf8)
		})
	}
	tm := mustParse(t, []byte("From: a@e.jp\nTo: {{.name}} <{{.email}}>\n\nx\n"), Options{})
	if _, err := tm.Execute("c", 1, "not an address", map[string]string{"name": "x"}); err == nil || !strings.Contains(err.Error(), "header To") {
		t.Errorf("a bad merged address: %v", err)
	}
}

// TestLongLines: a paragraph of Japanese without line breaks is longer
// than 998 octets in every charset; it must arrive whole, not cut.
func TestLongLines(t *testing.T) {
	para := strings.Repeat("長い段落の文章です。", 120) // 1,200 characters
	for _, cs := range []string{UTF8, ISO2022JP} {
		tm := mustParse(t, []byte("From: a@e.jp\nSubject: "+strings.Repeat("件名", 100)+"\n\n{{.p}}\n"), Options{Charset: cs})
		out, err := tm.Execute("c", 1, "r@e.jp", map[string]string{"p": para})
		if err != nil {
			t.Fatal(err)
		}
		checkWire(t, out.Data, false)
		d := decodeMessage(t, out.Data)
		if p := d.part("text/plain"); p.text != para+"\n" || p.cte != "base64" {
			t.Errorf("%s: %s body does not decode to the paragraph", cs, p.cte)
		}
		if d.get("Subject") != strings.Repeat("件名", 100) {
			t.Errorf("%s: long Subject does not decode back", cs)
		}
	}
	// ASCII text with a long line: quoted-printable wraps it softly.
	tm := mustParse(t, []byte("From: a@e.jp\n\n{{.p}}\n"), Options{})
	long := strings.Repeat("x", 1500)
	out, err := tm.Execute("c", 1, "r@e.jp", map[string]string{"p": long})
	if err != nil {
		t.Fatal(err)
	}
	checkWire(t, out.Data, false)
	if p := decodeMessage(t, out.Data).part("text/plain"); p.cte != "quoted-printable" || p.text != long+"\n" {
		t.Errorf("long ASCII line went as %s", p.cte)
	}
}

func TestBodyEncodingChoice(t *testing.T) {
	cases := []struct {
		text, cte string
		why       string
	}{
		{"Hello\nworld", "7bit", "ASCII needs no encoding"},
		{"Hello Zoë, your order is ready. Thank you for shopping with us.", "quoted-printable", "mostly ASCII stays readable"},
		{"こんにちは、山田様。", "base64", "Japanese text is a third the size in base64"},
	}
	for _, c := range cases {
		cte, _, err := encodeBody(c.text, UTF8, "text")
		if err != nil || cte != c.cte {
			t.Errorf("%q → %s %v, want %s (%s)", c.text, cte, err, c.cte, c.why)
		}
	}
}

func TestUniqueMessageID(t *testing.T) {
	tm, err := ParseTemplate([]byte("From: a@e.jp\n\nx\n"), Options{Hostname: "mta.e.jp"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range 1000 {
		out, err := tm.Execute("camp", i%3, "r@e.jp", nil)
		if err != nil {
			t.Fatal(err)
		}
		if seen[out.MessageID] {
			t.Fatalf("Message-ID %s repeated", out.MessageID)
		}
		seen[out.MessageID] = true
		if !bytes.Contains(out.Data, []byte("\r\nMessage-ID: "+out.MessageID+"\r\n")) || !strings.HasPrefix(out.MessageID, fmt.Sprintf("<camp.%d.", i%3)) {
			t.Fatalf("Message-ID %s not in the message or not <campaign.row.random@host>", out.MessageID)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, src string
		opt       Options
		want      string
		why       string
	}{
		{"no from", "Subject: x\n\nbody\n", Options{}, "no From", "a message needs a From"},
		{"two froms", "From: a@e.jp\nFrom: b@e.jp\n\nx\n", Options{}, "more than one From", "which one?"},
		{"bad static address", "From: a@@e.jp\n\nx\n", Options{}, "address", "a typo in the template is caught before the first send"},
		{"shift_jis part", "From: a@e.jp\nContent-Type: text/plain; charset=shift_jis\n\nx\n", Options{}, "save the template as UTF-8", "the template must be UTF-8"},
		{"not utf-8", "From: a@e.jp\n\n\x82\xa0\n", Options{}, "not UTF-8", "raw Shift_JIS bytes"},
		{"mixed", "From: a@e.jp\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n", Options{}, "multipart/mixed", "attachments are not a campaign feature"},
		{"html only", "From: a@e.jp\nContent-Type: text/html\n\n<p>x</p>\n", Options{}, "text/html", "an HTML-only mail is scored as spam"},
		{"two html", "From: a@e.jp\nContent-Type: multipart/alternative; boundary=b\n\n--b\n\nx\n--b\nContent-Type: text/html\n\n<p>\n--b--\n", Options{HTML: []byte("<p>")}, "HTML part already", "two HTML sources"},
		{"bad charset option", "From: a@e.jp\n\nx\n", Options{Charset: "EUC-JP"}, "neither UTF-8 nor ISO-2022-JP", "only the two charsets of docs/spec.md §3"},
		{"template syntax", "From: a@e.jp\nSubject: {{.name\n\nx\n", Options{}, "Subject", "a broken action names its header"},
		{"bad unsubscribe", "From: a@e.jp\n\nx\n", Options{ListUnsubscribe: "ftp://e.jp/u"}, "not http(s)", "RFC 8058 wants an HTTP(S) URI"},
		{"header line", "From: a@e.jp\nnot a header\n\nx\n", Options{}, "not a header field", "a stray line in the header"},
		{"structured non-ascii", "From: a@e.jp\nIn-Reply-To: <日本@e.jp>\n\nx\n", Options{}, "structured field", "caught once at parse time, not once per recipient"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opt.Hostname = "h.e.jp"
			_, err := ParseTemplate([]byte(c.src), c.opt)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q (%s)", err, c.want, c.why)
			}
		})
	}
}

// TestTemplateForms: the same message from three template shapes.
func TestTemplateForms(t *testing.T) {
	forms := []struct {
		name string
		src  string
		opt  Options
	}{
		{"multipart qp", "From: a@e.jp\r\nSubject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?= {{.n}}\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E6=A7=98 {{.n}}\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+e3subn19PC9wPg==\r\n--b--\r\n", Options{}},
		{"text plus option", "From: a@e.jp\nSubject: こんにちは {{.n}}\n\n様 {{.n}}\n", Options{HTML: []byte("<p>{{.n}}</p>")}},
		{"bom and folded subject", "\xEF\xBB\xBFFrom: a@e.jp\nSubject: こんにちは\n {{.n}}\nMessage-ID: <old@x>\nDate: Mon, 1 Jan 2001 00:00:00 +0000\n\n様 {{.n}}\n", Options{HTML: []byte("<p>{{.n}}</p>")}},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			tm := mustParse(t, []byte(f.src), f.opt)
			out, err := tm.Execute("c", 1, "r@e.jp", map[string]string{"n": "<太郎>"})
			if err != nil {
				t.Fatal(err)
			}
			checkWire(t, out.Data, false)
			d := decodeMessage(t, out.Data)
			if d.get("Subject") != "こんにちは <太郎>" {
				t.Errorf("Subject %q", d.get("Subject"))
			}
			if d.part("text/plain").text != "様 <太郎>\n" || d.part("text/html").text != "<p>&lt;太郎&gt;</p>\n" {
				t.Errorf("parts %q / %q", d.part("text/plain").text, d.part("text/html").text)
			}
			if n := len(d.header["Message-Id"]); n != 1 || d.header.Get("Message-Id") == "<old@x>" || d.header.Get("Date") != "Thu, 01 May 2025 09:00:00 +0900" {
				t.Errorf("Message-ID %q Date %q: the template's own must be replaced", d.header["Message-Id"], d.header.Get("Date"))
			}
		})
	}
}

func TestCharsetByDomain(t *testing.T) {
	tm := mustParse(t, []byte("From: a@e.jp\n\nこんにちは\n"), Options{CharsetByDomain: map[string]string{"docomo.ne.jp": "iso-2022-jp", "Example.JP": "utf-8"}, Charset: "JIS"})
	for email, want := range map[string]string{
		"a@docomo.ne.jp":     ISO2022JP,
		"a@DoCoMo.ne.jp":     ISO2022JP, // domains compare without case
		"a@d.vodafone.ne.jp": ISO2022JP, // campaign default
		"a@example.jp":       UTF8,
		"a@sub.example.jp":   UTF8, // a parent domain matches
		"a@gmail.com":        ISO2022JP,
	} {
		out, err := tm.Execute("c", 1, email, nil)
		if err != nil || out.Charset != want {
			t.Errorf("%s: charset %s %v, want %s", email, out.Charset, err, want)
		}
	}
}

// TestConcurrent runs Execute from many goroutines, as the campaign
// sender will; run under -race.
func TestConcurrent(t *testing.T) {
	tm, err := ParseTemplate(readFile(t, "testdata/newsletter.eml"), Options{ImagesDir: "testdata/images", Hostname: "h.e.jp", CharsetByDomain: MobileCarrierCharsets()})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				email := fmt.Sprintf("u%d@docomo.ne.jp", i)
				if i%2 == 0 {
					email = fmt.Sprintf("u%d@example.com", i)
				}
				out, err := tm.Execute("c", g*100+i, email, map[string]string{"name": fmt.Sprint("名前", i), "code": "c"})
				if err != nil {
					t.Error(err)
					return
				}
				if d := decodeMessage(t, out.Data); !strings.Contains(d.part("text/plain").text, fmt.Sprint("名前", i, " 様")) {
					t.Errorf("row %d got another row's text", i)
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkExecute merges a 2 KiB template (Japanese text and HTML, one
// inline image, List-Unsubscribe, VERP) per recipient, for a UTF-8 and
// an ISO-2022-JP recipient.
func BenchmarkExecute(b *testing.B) {
	text := strings.Repeat("いつもご利用いただきありがとうございます。{{.name}}様へのお知らせです。\n", 10)
	html := "<html><body><img src=\"images/logo.png\">" + strings.Repeat("<p>{{.name}}様、今月のおすすめ商品のご案内です。</p>\n", 12) + "</body></html>"
	src := "From: ひきゃく <news@example.co.jp>\nSubject: {{.name}}様へ5月のお知らせ\n\n" + text
	tm, err := ParseTemplate([]byte(src), Options{HTML: []byte(html), ImagesDir: "testdata/images", Hostname: "h.e.jp",
		CharsetByDomain: MobileCarrierCharsets(), ListUnsubscribe: "https://e.jp/u?r={{.row}}", ReturnPathDomain: "b.e.jp", VERPKey: testVERPKey})
	if err != nil {
		b.Fatal(err)
	}
	fields := map[string]string{"name": "山田 太郎"}
	for _, email := range []string{"taro@example.com", "taro@docomo.ne.jp"} {
		b.Run(strings.TrimPrefix(email, "taro@"), func(b *testing.B) {
			b.Logf("template: %d octets", len(src)+len(html))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := tm.Execute("bench", i, email, fields); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
