package compose

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/hikyaku/hikyaku/internal/codes"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s; run go test -update and review the diff\n%s", path, got)
	}
}

func newsletterOptions() Options {
	return Options{
		ImagesDir:             filepath.Join("testdata", "images"),
		ListUnsubscribe:       "https://example.co.jp/u?c={{.campaign}}&r={{.row}}&e={{.email | urlquery}}",
		ListUnsubscribeMailto: "unsubscribe+{{.campaign}}-{{.row}}@example.co.jp",
		ReturnPathDomain:      "bounce.example.co.jp",
		VERPKey:               testVERPKey,
	}
}

// testVERPKey signs the VERP return paths of the tests.
var testVERPKey = []byte("0123456789abcdef0123456789abcdef")

// TestGoldenNewsletter: a UTF-8 multipart/alternative template with two
// inline images, one named by path and one by cid: with a non-ASCII file
// name, each read once and sent once although referenced more often.
func TestGoldenNewsletter(t *testing.T) {
	tm := mustParse(t, readFile(t, "testdata/newsletter.eml"), newsletterOptions())
	out, err := tm.Execute("may2025", 7, "hanako@example.com", map[string]string{"name": "花子 & <b>", "code": "A-17"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "newsletter.golden", out.Data)
	checkWire(t, out.Data, false)
	if out.Charset != UTF8 || out.Fallback != "" || out.ReturnPath != VERP("may2025", 7, "bounce.example.co.jp", testVERPKey) {
		t.Errorf("output %+v", out)
	}
	d := decodeMessage(t, out.Data)
	if got := d.get("Subject"); got != "花子 & <b>さん、5月のお知らせ / May newsletter" {
		t.Errorf("Subject decodes to %q", got)
	}
	text := d.part("text/plain")
	if text == nil || !strings.Contains(text.text, "花子 & <b> 様\n\nいつもご利用") || !strings.Contains(text.text, "r=7\n") {
		t.Fatalf("text part %+v", text)
	}
	html := d.part("text/html")
	if html == nil || !strings.Contains(html.text, "<p>花子 &amp; &lt;b&gt; 様</p>") {
		t.Fatalf("html part: the field must arrive escaped: %+v", html)
	}
	var imgs []part
	for _, p := range d.parts {
		if p.mediaType == "image/png" {
			imgs = append(imgs, p)
		}
	}
	if len(imgs) != 2 {
		t.Fatalf("%d image parts, want 2 (two files, logo.png referenced twice)", len(imgs))
	}
	for _, img := range imgs {
		cid := strings.Trim(img.header["Content-Id"][0], "<>")
		if !strings.Contains(html.text, `"cid:`+cid+`"`) && !strings.Contains(html.text, `'cid:`+cid+`'`) {
			t.Errorf("Content-ID %s is not referenced from the HTML", cid)
		}
		if img.text != string(readFile(t, "testdata/images/logo.png")) {
			t.Errorf("image %s does not decode to the file", cid)
		}
	}
	if strings.Contains(html.text, "images/") {
		t.Errorf("an images/ reference was left in the HTML")
	}
}

// TestGoldenCarrier: a recipient at a feature-phone carrier gets
// ISO-2022-JP; decoded back with x/text it is the merged source text,
// with the JIS equivalents and half-width katakana widened.
func TestGoldenCarrier(t *testing.T) {
	src := readFile(t, "testdata/carrier.eml")
	tm := mustParse(t, src, Options{CharsetByDomain: MobileCarrierCharsets(), ReturnPathDomain: "bounce.example.co.jp", VERPKey: testVERPKey})
	fields := map[string]string{"name": "山田 太郎", "code": "ABC-123"}
	out, err := tm.Execute("sale", 3, "taro..yamada@docomo.ne.jp", fields)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "carrier.golden", out.Data)
	checkWire(t, out.Data, false)
	if out.Charset != ISO2022JP || out.Fallback != "" {
		t.Fatalf("charset %s fallback %q, want ISO-2022-JP for docomo.ne.jp", out.Charset, out.Fallback)
	}
	if !bytes.Contains(out.Data, []byte("\r\nTo: =?ISO-2022-JP?B?")) || !bytes.Contains(out.Data, []byte(" <taro..yamada@docomo.ne.jp>\r\n")) {
		t.Errorf("the carrier address must go out as written, unquoted")
	}
	d := decodeMessage(t, out.Data)
	text := d.part("text/plain")
	if text.cte != "7bit" || text.charset != ISO2022JP {
		t.Errorf("text part %s %s, want 7bit ISO-2022-JP", text.cte, text.charset)
	}
	_, body, _ := strings.Cut(string(src), "\n\n")
	body = strings.NewReplacer("{{.name}}", fields["name"], "{{.code}}", fields["code"]).Replace(body)
	if text.text != jisFold(body) {
		t.Errorf("text decodes to\n%s\nwant\n%s", text.text, jisFold(body))
	}
	for _, want := range []string{"10時～12時限定", "全品￥1,000引き", "クーポンコード", "≒∞★"} {
		if !strings.Contains(text.text, want) {
			t.Errorf("decoded text lacks %q (the equivalent the recipient sees)", want)
		}
	}
	if got, want := d.get("Subject"), "【山田 太郎様】10時～12時のセール ￥1,000引き クーポン"; got != want {
		t.Errorf("Subject decodes to %q, want %q", got, want)
	}
	// Every line of the body ends in ASCII mode (RFC 1468).
	_, raw, _ := bytes.Cut(out.Data, []byte("\r\n\r\n"))
	for _, line := range bytes.Split(raw, []byte("\r\n")) {
		if i := bytes.LastIndex(line, []byte("\x1b")); i >= 0 && !bytes.HasPrefix(line[i:], []byte("\x1b(B")) {
			t.Errorf("line %q does not end in ASCII mode", line)
		}
	}

	// The same template for a UTF-8 domain keeps the characters as typed.
	out, err = tm.Execute("sale", 4, "hanako@example.com", fields)
	if err != nil {
		t.Fatal(err)
	}
	d = decodeMessage(t, out.Data)
	if out.Charset != UTF8 || !strings.Contains(d.part("text/plain").text, "10時〜12時限定、全品¥1,000引き") {
		t.Errorf("UTF-8 recipient: %s %q", out.Charset, d.part("text/plain").text)
	}
}

// TestFallback: a character ISO-2022-JP lacks sends that recipient UTF-8
// and says why; it is never dropped or replaced.
func TestFallback(t *testing.T) {
	cases := []struct {
		name, field, where, char string
		why                      string
	}{
		{"emoji in subject", "😀", "Subject", "U+1F600", "carriers' emoji are not in JIS X 0208"},
		{"latin in body", "Zoë", "text body", "U+00EB", "a name with a diaeresis"},
		{"hangul", "김", "Subject", "U+AE40", "Korean names in a Japanese list"},
		{"nec special", "①", "text body", "U+2460", "NEC row 13 is Windows-only; a strict reader shows garbage"},
		{"ibm kanji", "髙橋", "Subject", "U+9AD9", "the 'ladder' taka of 髙橋 is an IBM extension, not JIS X 0208"},
		{"half-width voiced mark alone", "ﾞ", "text body", "", "widened to ゛, which JIS has: no fallback"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "From: info@example.co.jp\nSubject: {{.s}}さん\n\nこんにちは {{.b}}\n"
			tm := mustParse(t, []byte(src), Options{Charset: ISO2022JP})
			f := map[string]string{"s": "太郎", "b": "花子"}
			if c.where == "Subject" {
				f["s"] = c.field
			} else {
				f["b"] = c.field
			}
			out, err := tm.Execute("c", 1, "a@docomo.ne.jp", f)
			if err != nil {
				t.Fatal(err)
			}
			if c.char == "" {
				if out.Charset != ISO2022JP || out.Fallback != "" {
					t.Fatalf("charset %s fallback %q, want ISO-2022-JP (%s)", out.Charset, out.Fallback, c.why)
				}
				return
			}
			if out.Charset != UTF8 || !strings.Contains(out.Fallback, c.char) || !strings.Contains(out.Fallback, c.where) {
				t.Fatalf("charset %s fallback %q, want UTF-8 naming %s in %s (%s)", out.Charset, out.Fallback, c.char, c.where, c.why)
			}
			checkWire(t, out.Data, false)
			d := decodeMessage(t, out.Data)
			if d.get("Subject") != f["s"]+"さん" || d.part("text/plain").text != "こんにちは "+f["b"]+"\n" {
				t.Errorf("decoded %q / %q", d.get("Subject"), d.part("text/plain").text)
			}
		})
	}
}

// TestPython reads the outputs with Python's email package: no defects,
// and the same decoded text the Go reader sees.
func TestPython(t *testing.T) {
	news := mustParse(t, readFile(t, "testdata/newsletter.eml"), newsletterOptions())
	carrier := mustParse(t, readFile(t, "testdata/carrier.eml"), Options{CharsetByDomain: MobileCarrierCharsets()})
	var msgs [][]byte
	for _, run := range []struct {
		tm    *Template
		email string
		f     map[string]string
	}{
		{news, "hanako@example.com", map[string]string{"name": "花子", "code": "X"}},
		{carrier, "taro@ezweb.ne.jp", map[string]string{"name": "太郎", "code": "Y"}},
		{carrier, "taro@ezweb.ne.jp", map[string]string{"name": "太郎😀", "code": "Z"}}, // fallback
		{carrier, "jiro@example.com", map[string]string{"name": `O'Brien, "Jr"`, "code": strings.Repeat("長", 600)}},
	} {
		out, err := run.tm.Execute("c", 1, run.email, run.f)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, out.Data)
	}
	lines := pythonCheck(t, msgs...)
	if len(lines) != len(msgs) {
		t.Fatalf("python printed %q", lines)
	}
	for i, line := range lines {
		var got struct {
			Defects       []string
			Subject, From string
			To            [][2]string
			Texts         []string
		}
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("message %d: %v: %s", i, err, line)
		}
		if len(got.Defects) != 0 {
			t.Errorf("message %d: python finds defects %v", i, got.Defects)
		}
		d := decodeMessage(t, msgs[i])
		// Python's iso2022_jp reads JIS 1-1-33 as 〜 (U+301C), x/text as
		// ～ (U+FF5E): the same JIS character, so compare folded.
		got.Subject = jisFold(got.Subject)
		for j := range got.Texts {
			got.Texts[j] = jisFold(got.Texts[j])
		}
		if got.Subject != jisFold(d.get("Subject")) {
			t.Errorf("message %d: python reads Subject %q, Go %q", i, got.Subject, d.get("Subject"))
		}
		var texts []string
		for _, p := range d.parts {
			if strings.HasPrefix(p.mediaType, "text/") {
				texts = append(texts, jisFold(p.text))
			}
		}
		if !reflect.DeepEqual(got.Texts, texts) {
			t.Errorf("message %d: python reads texts %q, Go %q", i, got.Texts, texts)
		}
		if want := [2]string{`O'Brien, "Jr" 様`, "jiro@example.com"}; i == 3 && (len(got.To) != 1 || got.To[0] != want) {
			t.Errorf("message 3: To reads %q, want %q: a comma and quotes in a field stay one display name", got.To, want)
		}
	}
}

func TestImageErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644)
	os.WriteFile(filepath.Join(dir, "empty.png"), nil, 0o644)
	os.WriteFile(filepath.Join(filepath.Dir(dir), "outside.png"), readFile(t, "testdata/images/logo.png"), 0o644)
	file := filepath.Join(dir, "notes.txt")
	logo := readFile(t, "testdata/images/logo.png")
	// The folder as campaign.ReadImages hands it over: read once, by path.
	files := map[string][]byte{"notes.txt": []byte("hello"), "empty.png": nil, "sub/logo.png": logo}
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "logo.png"), logo, 0o644)
	cases := []struct {
		name   string
		html   string
		folder string
		memory bool // the images come from Options.Images, read beforehand
		code   int
		msg    string
		file   string // the operator's file the error names
		why    string
	}{
		{"folder missing", `<img src="images/a.png">`, filepath.Join(dir, "nope"), false, -13, "no such file", filepath.Join(dir, "nope"), "--images names a folder that is not there"},
		{"folder is a file", `<p>x</p>`, file, false, -13, "not a directory", file, "a folder given but unusable is -13 even if unused"},
		{"no folder given", `<img src="images/a.png">`, "", false, -13, "no images folder was given: images/a.png", "", "an images/ reference needs --images"},
		{"image missing", `<img src="cid:a.png">`, dir, false, -12, "does not have: no such file", filepath.Join(dir, "a.png"), "the referenced file is not in the folder"},
		{"not an image", `<img src="images/notes.txt">`, dir, false, -12, "not a PNG", file, "a text file cannot be an inline image"},
		{"empty image", `<img src="images/empty.png">`, dir, false, -12, "empty", filepath.Join(dir, "empty.png"), "an empty file is no image"},
		{"escapes folder", `<img src="images/../outside.png">`, dir, false, -12, "escapes", filepath.Join(filepath.Dir(dir), "outside.png"), "a reference must not read outside the folder"},
		// issue 13: the folder given but the image not in it is -12 naming
		// the operator's file, never a temporary copy, never "no folder".
		{"memory: image missing", `<img src="images/a.png">`, dir, true, -12, "the images folder does not have", filepath.Join(dir, "a.png"), "the HTML names a file the folder lacks"},
		{"memory: empty folder", `<img src="images/a.png">`, dir, true, -12, "the images folder does not have", filepath.Join(dir, "a.png"), "an empty folder was still given"},
		{"memory: not an image", `<img src="images/notes.txt">`, dir, true, -12, "not a PNG", file, "the same check as from the folder"},
		{"memory: empty image", `<img src="images/empty.png">`, dir, true, -12, "empty", filepath.Join(dir, "empty.png"), "the same check as from the folder"},
		{"memory: escapes folder", `<img src="images/../outside.png">`, dir, true, -12, "does not have", filepath.Join(filepath.Dir(dir), "outside.png"), "a name outside the folder is none of its files"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opt := Options{HTML: []byte(c.html), ImagesDir: c.folder, Hostname: "h.example"}
			if c.memory {
				opt.Images = files
				if c.name == "memory: empty folder" {
					opt.Images = map[string][]byte{}
				}
			}
			_, err := ParseTemplate([]byte("From: a@example.jp\n\ntext\n"), opt)
			var e *codes.SystemError
			if !errors.As(err, &e) || e.Code != c.code || !strings.Contains(e.Error(), c.msg) {
				t.Fatalf("err = %v, want code %d with %q (%s)", err, c.code, c.msg, c.why)
			}
			if e.File != c.file {
				t.Errorf("error names %q, want the operator's %q", e.File, c.file)
			}
			if !strings.HasPrefix(e.Error(), "-1") {
				t.Errorf("error text %q does not start with its code", e.Error())
			}
		})
	}
	// A name in a subfolder is found in memory as on disk.
	for _, memory := range []bool{false, true} {
		opt := Options{HTML: []byte(`<img src="images/sub/logo.png">`), ImagesDir: dir, Hostname: "h.example"}
		if memory {
			opt.Images = files
		}
		if _, err := ParseTemplate([]byte("From: a@example.jp\n\ntext\n"), opt); err != nil {
			t.Errorf("memory %v: images/sub/logo.png: %v", memory, err)
		}
	}
	_, err := ParseTemplate([]byte("From: a@example.jp\n\ntext\n"), Options{HTML: []byte(`<img src="images/{{.pic}}">`), ImagesDir: dir, Hostname: "h.example"})
	if err == nil || !strings.Contains(err.Error(), "merge field") {
		t.Errorf("a merged image name: %v", err)
	}
}

func TestListUnsubscribe(t *testing.T) {
	cases := []struct {
		name       string
		url, mail  string
		template   string
		want, post string
		why        string
	}{
		{"https and mailto", "https://e.jp/u?r={{.row}}", "u-{{.row}}@e.jp", "",
			"<https://e.jp/u?r=5>, <mailto:u-5@e.jp>", "List-Unsubscribe=One-Click", "RFC 8058: one-click needs the HTTPS URI"},
		{"http only", "http://e.jp/u", "", "", "<http://e.jp/u>", "", "RFC 8058 §3.1: no one-click over plain HTTP"},
		{"mailto only", "", "mailto:u@e.jp?subject=unsub", "", "<mailto:u@e.jp?subject=unsub>", "", "mail-only unsubscription has no POST"},
		{"template keeps its own", "", "", "List-Unsubscribe: <https://t.jp/{{.row}}>\n", "<https://t.jp/5>", "", "without options the template's header is merged as written"},
		{"options replace the template's", "https://o.jp/x", "", "List-Unsubscribe: <https://t.jp/>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n",
			"<https://o.jp/x>", "List-Unsubscribe=One-Click", "one List-Unsubscribe, not two"},
		{"none", "", "", "", "", "", "nothing configured, nothing written"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tm := mustParse(t, []byte("From: a@example.jp\n"+c.template+"\nx\n"), Options{ListUnsubscribe: c.url, ListUnsubscribeMailto: c.mail})
			out, err := tm.Execute("c", 5, "r@example.jp", nil)
			if err != nil {
				t.Fatal(err)
			}
			d := decodeMessage(t, out.Data)
			if got := d.header["List-Unsubscribe"]; len(got) > 1 || d.header.Get("List-Unsubscribe") != c.want || d.header.Get("List-Unsubscribe-Post") != c.post {
				t.Errorf("List-Unsubscribe %q Post %q, want %q %q (%s)", got, d.header.Get("List-Unsubscribe-Post"), c.want, c.post, c.why)
			}
		})
	}
	tm := mustParse(t, []byte("From: a@example.jp\n\nx\n"), Options{ListUnsubscribe: "https://e.jp/u?n={{.name}}"})
	if _, err := tm.Execute("c", 1, "r@example.jp", map[string]string{"name": "a b"}); err == nil || !strings.Contains(err.Error(), "urlquery") {
		t.Errorf("a space merged into the URL: %v", err)
	}
	// A token longer than a line can hold has nowhere to fold: an error,
	// not a message a server would refuse or truncate.
	if _, err := tm.Execute("c", 1, "r@example.jp", map[string]string{"name": strings.Repeat("x", 1000)}); err == nil || !strings.Contains(err.Error(), "998") {
		t.Errorf("a 1,000-octet URL: %v", err)
	}
}

func TestVERP(t *testing.T) {
	// The hashes are HMAC-SHA256 under testVERPKey (internal/verp): pinned,
	// so that a change of the form is noticed by every bounce in flight.
	cases := []struct {
		campaign string
		row      int
		want     string
		why      string
	}{
		{"may2025", 42, "bounce+may2025-42-5whyta7hdh@b.example.jp", "the plain case"},
		{"spring-sale", 0, "bounce+spring=2Dsale-0-5q5cz245cm@b.example.jp", "a '-' in the name must not be taken for the row separator"},
		{"a.b", 7, "bounce+a.b-7-azigted2dl@b.example.jp", "an inner dot is a valid dot-atom"},
		{".x.", 7, "bounce+=2Ex=2E-7-rv33u3pdhp@b.example.jp", "leading and trailing dots are not"},
		{"夏", 1, "bounce+=E5=A4=8F-1-dsvvd6ta34@b.example.jp", "a Japanese name becomes ASCII"},
		{"a+b@c", 2147483647, "bounce+a=2Bb=40c-2147483647-rmxblrfg5j@b.example.jp", "'+' and '@' cannot be in the name as written"},
		{"", 3, "bounce+-3-sn65iguomv@b.example.jp", "an empty name still round-trips"},
	}
	hashes := map[string]string{}
	for _, c := range cases {
		got := VERP(c.campaign, c.row, "b.example.jp", testVERPKey)
		at := strings.LastIndexByte(got, '@')
		dash := strings.LastIndexByte(got[:at], '-')
		h := got[dash+1 : at]
		if len(h) != 10 || strings.Trim(h, "abcdefghijklmnopqrstuvwxyz234567") != "" {
			t.Errorf("VERP(%q, %d) = %q: hash %q is not 10 base32 characters", c.campaign, c.row, got, h)
		}
		if got != c.want {
			t.Errorf("VERP(%q, %d) = %q, want %q (%s)", c.campaign, c.row, got, c.want, c.why)
		}
		if prev, ok := hashes[h]; ok {
			t.Errorf("%q and %q share the hash %s", prev, got, h)
		}
		hashes[h] = got
		for _, form := range []string{got, "<" + got + ">", strings.ToLower(got), strings.ToUpper(got[:at]) + got[at:]} {
			camp, row, ok := ParseVERP(form, testVERPKey)
			if !ok || camp != c.campaign || row != c.row {
				if (form == strings.ToLower(got) && camp == strings.ToLower(c.campaign) ||
					form == strings.ToUpper(got[:at])+got[at:] && camp == strings.ToUpper(c.campaign)) && ok && row == c.row {
					continue // a relay that folds case folds the name too
				}
				t.Errorf("ParseVERP(%q) = %q %d %v, want %q %d (%s)", form, camp, row, ok, c.campaign, c.row, c.why)
			}
		}
		// Signed by another key, or the row changed: refused.
		if _, _, ok := ParseVERP(got, []byte("another key, another key, 32 oct")); ok {
			t.Errorf("ParseVERP(%q) with another key verifies", got)
		}
		forged := strings.Replace(got, "-"+strconv.Itoa(c.row)+"-", "-"+strconv.Itoa(c.row+1)+"-", 1)
		if _, _, ok := ParseVERP(forged, testVERPKey); ok {
			t.Errorf("ParseVERP(%q), row changed, verifies", forged)
		}
	}
	for _, addr := range []string{
		"user@example.jp", "bounce@example.jp", "bounce+may-@e.jp", "bounce+may-x1@e.jp",
		"bounce+may@e.jp", "bounce+a=ZZ-1@e.jp", "bounce+a=4-1@e.jp", "bounce+a-99999999999@e.jp", "bounce+a-1",
		"bounce+may2025-42@b.example.jp", // the unsigned form of before
		"bounce+may2025-42-aaaaaaaaaa@b.example.jp",
	} {
		if c, r, ok := ParseVERP(addr, testVERPKey); ok {
			t.Errorf("ParseVERP(%q) = %q %d, want not a VERP address", addr, c, r)
		}
	}
	// Without a key a VERP template refuses to compose rather than send
	// return paths our intake would refuse.
	tm := mustParse(t, []byte("From: a@example.jp\nSubject: s\n\nhi\n"), Options{ReturnPathDomain: "b.example.jp", Hostname: "h.example.jp"})
	if _, err := tm.Execute("c", 1, "r@example.jp", nil); !errors.Is(err, errNoVERPKey) {
		t.Errorf("Execute without a key: %v", err)
	}
	tm.SetVERPKey(testVERPKey)
	if out, err := tm.Execute("c", 1, "r@example.jp", nil); err != nil || out.ReturnPath != VERP("c", 1, "b.example.jp", testVERPKey) {
		t.Errorf("Execute after SetVERPKey: %q %v", out.ReturnPath, err)
	}
}
