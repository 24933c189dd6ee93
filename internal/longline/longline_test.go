package longline

import (
	"bytes"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// msg turns a readable fixture with "\n" line ends into CRLF form.
func msg(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

// words is n octets of space-separated words: foldable text.
func words(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("word")
		b.WriteByte(byte('a' + i%26))
	}
	return b.String()[:n]
}

// solid is n octets with no whitespace: unfoldable, and in a body a line
// only re-encoding can break.
func solid(n int) string { return strings.Repeat("x", n) }

func unfold(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n "), []byte(" ")) }

func TestNeedsFix(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want bool
		why  string
	}{
		{"empty", "", false, "nothing to fix"},
		{"exactly 998", solid(998) + "\r\n", false, "998 octets plus CRLF is the RFC 5322 §2.1.1 maximum"},
		{"999", solid(999) + "\r\n", true, "one octet over"},
		{"last line without CRLF", "a\r\n" + solid(999), true, "the final line counts even unterminated"},
		{"bare LF is not a line end", strings.Repeat(solid(500)+"\n", 3), true, "only CRLF ends an SMTP line (RFC 5321 §2.3.8)"},
		{"many short lines", strings.Repeat(solid(997)+"\r\n", 50), false, "length is per line, not per message"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := NeedsFix([]byte(c.in), 998); got != c.want {
				t.Errorf("NeedsFix = %v, want %v (%s)", got, c.want, c.why)
			}
		})
	}
	big := bytes.Repeat([]byte(solid(900)+"\r\n"), 1000)
	if n := testing.AllocsPerRun(10, func() { NeedsFix(big, 998) }); n != 0 {
		t.Errorf("NeedsFix allocates %v times; it is the fast path for every relayed message", n)
	}
}

func TestFixNoChange(t *testing.T) {
	in := msg("Subject: short\nMIME-Version: 1.0\n\nhello\n")
	r, err := Fix(in, 998)
	if err != nil {
		t.Fatal(err)
	}
	if r.Changed || &r.Data[0] != &in[0] || len(r.Data) != len(in) || len(r.Notes) != 0 {
		t.Errorf("a message with no long line must come back as the same slice, unchanged: %+v", r)
	}
	if _, err := Fix(in, 50); err == nil {
		t.Error("a limit below MinLine must be refused: the encoders write 76-character lines")
	}
}

func TestFix(t *testing.T) {
	dkim := "DKIM-Signature: v=1; a=rsa-sha256; d=example.jp; s=s1; bh=x; b=y\n"
	cases := []struct {
		name      string
		in        []byte
		reencoded int
		refolded  int
		notes     []string // substrings, in order
		unchanged []string // substrings of the input that must survive byte for byte
		check     func(t *testing.T, out []byte)
		why       string
	}{
		{
			name:     "long subject refolded at spaces",
			in:       msg("Subject: " + words(2500) + "\nFrom: a@example.jp\n\nbody\n"),
			refolded: 1, notes: []string{"refolded header Subject"},
			unchanged: []string{"\r\n\r\nbody\r\n"},
			check: func(t *testing.T, out []byte) {
				if !bytes.Equal(unfold(out), msg("Subject: "+words(2500)+"\nFrom: a@example.jp\n\nbody\n")) {
					t.Error("unfolding the refolded header must give back the original field")
				}
			},
			why: "headers are only refolded at existing whitespace (docs/spec.md §2)",
		},
		{
			name:  "unfoldable header left and noted",
			in:    msg("X-Token: " + solid(1200) + "\nSubject: hi\n\nbody\n"),
			notes: []string{"left header X-Token"},
			why:   "a header with no whitespace cannot be folded without changing it",
		},
		{
			name:     "encoded-word not split",
			in:       msg("Subject: " + strings.Repeat("=?UTF-8?Q?a_b?= ", 61) + "=?UTF-8?Q?a b c d e f?= " + strings.Repeat("=?UTF-8?Q?c?= ", 30) + "\n\nbody\n"),
			refolded: 1,
			check: func(t *testing.T, out []byte) {
				if !bytes.Contains(out, []byte("\r\n =?UTF-8?Q?a b c d e f?= ")) {
					t.Errorf("folded inside an encoded-word:\n%s", out)
				}
			},
			why: "RFC 2047: a fold inside a (broken) encoded-word would split it when another break exists",
		},
		{
			name:      "single part text re-encoded as quoted-printable",
			in:        msg("Subject: t\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nshort\n" + words(3000) + "  \n-- \nsig\n"),
			reencoded: 1, notes: []string{"re-encoded text/plain message body as quoted-printable"},
			unchanged: []string{"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"},
			why:       "a text body is re-encoded as quoted-printable and its CTE field replaced",
		},
		{
			name:      "plain message gets CTE and MIME-Version",
			in:        msg("Subject: t\n\n" + solid(1500) + "\n"),
			reencoded: 1,
			unchanged: []string{"Subject: t\r\nContent-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\n"},
			why:       "RFC 2045 §4: without MIME-Version readers would ignore the added CTE",
		},
		{
			name: "only the html part of an alternative",
			in: msg("Subject: t\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"b1\"\n\npreamble\n--b1\nContent-Type: text/plain\n\nshort text\n--b1\nContent-Type: text/html\n\n<p>" +
				solid(2000) + "</p>\n--b1--\nepilogue\n"),
			reencoded: 1, notes: []string{"re-encoded text/html part 2 as quoted-printable"},
			unchanged: []string{"preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nshort text\r\n--b1\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", "\r\n--b1--\r\nepilogue\r\n"},
			why:       "docs/spec.md §2: only the affected leaf is re-encoded; every other byte is kept",
		},
		{
			name: "nested part numbered like IMAP, DKIM noted",
			in: msg(dkim + "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: multipart/alternative; boundary=inner\n\n--inner\nContent-Type: text/plain\n\nhi\n--inner\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n" +
				words(1200) + "\n--inner--\n\n--outer\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0=\n--outer--\n"),
			reencoded: 1, notes: []string{"re-encoded text/html part 1.2 as quoted-printable (breaks an existing DKIM signature)"},
			unchanged: []string{"--outer\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--outer--\r\n"},
			why:       "the note names the part the way operators find it in a mail client, and warns about DKIM",
		},
		{
			name: "non-text leaf as base64",
			in: msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/json\n\n{\"k\":\"" +
				solid(1500) + "\"}\n--b--\n"),
			reencoded: 1, notes: []string{"re-encoded application/json part 1 as base64"},
			check: func(t *testing.T, out []byte) {
				if !bytes.Contains(out, []byte("Content-Type: application/json\r\nContent-Transfer-Encoding: base64\r\n\r\neyJrIjoi")) {
					t.Errorf("base64 body or its CTE field missing:\n%.300s", out)
				}
			},
			why: "anything but text/* is re-encoded as base64 (76-character lines)",
		},
		{
			name: "malformed base64 re-wrapped",
			in: msg("MIME-Version: 1.0\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\n" +
				strings.Repeat("QUJD", 400) + "\n"),
			reencoded: 1, notes: []string{"re-wrapped malformed base64"},
			why: "an encoder that forgot to wrap: decode and encode again",
		},
		{
			name: "malformed quoted-printable re-encoded",
			in: msg("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n" +
				strings.Repeat("caf=C3=A9 ", 200) + "\nend=\n\n"),
			reencoded: 1, notes: []string{"re-encoded malformed quoted-printable"},
			why: "quoted-printable without soft breaks is decoded and encoded again",
		},
		{
			name: "inside message/rfc822",
			in: msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsee attached\n--b\nContent-Type: message/rfc822\n\nSubject: inner\n\n" +
				solid(1100) + "\n--b--\n"),
			reencoded: 1, notes: []string{"re-encoded text/plain part 2.1 as quoted-printable"},
			unchanged: []string{"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Transfer-Encoding: quoted-printable\r\n"},
			why:       "RFC 2046 §5.2.1: a message/rfc822 part cannot be encoded; the repair goes inside it",
		},
		{
			name: "long preamble wrapped",
			in: msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n" + solid(1200) +
				"\n--b\nContent-Type: text/plain\n\nhi\n--b--\n"),
			notes:     []string{"wrapped long lines in the preamble of the top-level multipart/mixed"},
			unchanged: []string{"\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n"},
			why:       "readers ignore the preamble (RFC 2046 §5.1.1), so it may simply be wrapped",
		},
		{
			name: "unknown transfer encoding left",
			in: msg("MIME-Version: 1.0\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: x-uuencode\n\n" +
				solid(1200) + "\n"),
			notes: []string{"left application/octet-stream message body as it is: unknown Content-Transfer-Encoding \"x-uuencode\""},
			why:   "RFC 2045 §6.4: an unknown encoding cannot be re-encoded without changing the content",
		},
		{
			name: "boundary-like text does not become a delimiter",
			in: msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b-b\"\n\n--b-b\nContent-Type: text/plain\n\n" +
				strings.Repeat("x", 75) + "--b-b\n" + solid(1000) + "\n--b-b--\n"),
			reencoded: 1,
			why:       "RFC 2046 §5.1.1: a soft break right before \"--b-b\" must not start a line with the delimiter",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var traces []reencoding
			r, err := fix(c.in, 998, func(re reencoding) { traces = append(traces, re) })
			if err != nil {
				t.Fatal(err)
			}
			if r.ReencodedParts != c.reencoded || r.RefoldedHeaders != c.refolded {
				t.Errorf("re-encoded %d, refolded %d; want %d, %d (%s)\nnotes: %q", r.ReencodedParts, r.RefoldedHeaders, c.reencoded, c.refolded, c.why, r.Notes)
			}
			notes := strings.Join(r.Notes, "\n")
			for _, n := range c.notes {
				if !strings.Contains(notes, n) {
					t.Errorf("notes %q lack %q (%s)", r.Notes, n, c.why)
				}
			}
			for _, u := range c.unchanged {
				if !bytes.Contains(r.Data, []byte(u)) {
					t.Errorf("output lacks %q (%s)\n%.600s", u, c.why, r.Data)
				}
			}
			left := strings.Contains(notes, "left ")
			if NeedsFix(r.Data, 998) != left {
				t.Errorf("long lines remain: %v, noted as left: %v (%s)", NeedsFix(r.Data, 998), left, c.why)
			}
			if r.Changed == bytes.Equal(r.Data, c.in) {
				t.Errorf("Changed = %v but data equal = %v", r.Changed, bytes.Equal(r.Data, c.in))
			}
			if !bytes.HasSuffix(r.Data, []byte("\r\n")) {
				t.Error("the message must still end with CRLF")
			}
			for _, tr := range traces {
				checkTrace(t, tr)
			}
			compareLeaves(t, c.in, r.Data)
			if c.check != nil {
				c.check(t, r.Data)
			}
		})
	}
}

// compareLeaves checks, with the standard library's decoders, that every
// leaf of out decodes to what the same leaf of in does.
func compareLeaves(t *testing.T, in, out []byte) {
	t.Helper()
	want, err := readLeaves(in)
	if err != nil {
		t.Logf("input not readable by the test decoder: %v", err)
		return
	}
	got, err := readLeaves(out)
	if err != nil {
		t.Fatalf("output not readable by the test decoder: %v\n%.800s", err, out)
	}
	if len(got) != len(want) {
		t.Fatalf("output has %d leaves, input %d", len(got), len(want))
	}
	for i := range want {
		if got[i].path != want[i].path || got[i].ctype != want[i].ctype || !bytes.Equal(got[i].data, want[i].data) {
			t.Errorf("leaf %s (%s) decodes differently after Fix:\n got %.200q\nwant %.200q", want[i].path, want[i].ctype, got[i].data, want[i].data)
		}
	}
}

func checkTrace(t *testing.T, tr reencoding) {
	t.Helper()
	if longestLine(tr.Body) > encodedLine {
		t.Errorf("%s body has a line of %d characters; RFC 2045 allows 76", tr.CTE, longestLine(tr.Body))
	}
	if tr.Decoded == nil {
		return
	}
	got, err := decodeBody(tr.Body, tr.CTE)
	if err != nil {
		t.Fatalf("re-encoded %s body does not decode: %v", tr.CTE, err)
	}
	if !bytes.Equal(got, tr.Decoded) {
		t.Errorf("re-encoded %s body decodes to\n%.200q\nwant\n%.200q", tr.CTE, got, tr.Decoded)
	}
}

func TestEncodeQP(t *testing.T) {
	cases := []struct {
		name string
		in   string
		why  string
	}{
		{"trailing space before CRLF", "a \r\nb\t\r\n", "decoders drop trailing whitespace (RFC 2045 §6.7 rule 3)"},
		{"trailing space at end", "abc ", "the end of a multipart leaf is a line end too"},
		{"bare CR and LF", "a\rb\nc\r\r\nd", "only CRLF is a hard break; the rest must come back exactly"},
		{"equals and 8bit", "1=1 café 日本語\r\n", "'=' and octets over 126 are escaped"},
		{"dash at line start", "--boundary\r\n" + strings.Repeat("-", 300), "no encoded line may begin like a delimiter"},
		{"long spaces", strings.Repeat(" ", 500), "whitespace across soft breaks"},
		{"escape at the wrap point", strings.Repeat("é", 200), "a three-octet escape is never split by a soft break"},
		{"empty", "", "nothing in, nothing out"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			enc := encodeQP([]byte(c.in))
			if longestLine(enc) > encodedLine {
				t.Errorf("line of %d characters (%s)", longestLine(enc), c.why)
			}
			for _, line := range bytes.Split(enc, crlf) {
				if bytes.HasPrefix(line, []byte("-")) {
					t.Errorf("line starts with '-': %q (%s)", line, c.why)
				}
			}
			got, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(enc)))
			if err != nil || string(got) != c.in {
				t.Errorf("stdlib decode = %q, %v; want %q (%s)", got, err, c.in, c.why)
			}
			if string(decodeQP(enc)) != c.in {
				t.Errorf("decodeQP = %q, want %q", decodeQP(enc), c.in)
			}
		})
	}
}

func TestDecodeQPLenient(t *testing.T) {
	cases := []struct{ in, want, why string }{
		{"a=3db", "a=b", "lower-case hex is read"},
		{"a=zz", "a=zz", "a stray '=' stands for itself"},
		{"ab  \r\ncd", "ab\r\ncd", "trailing whitespace is dropped"},
		{"ab=  \r\ncd", "abcd", "a soft break with whitespace after the '='"},
		{"x=", "x", "a soft break at the very end"},
	}
	for _, c := range cases {
		if got := string(decodeQP([]byte(c.in))); got != c.want {
			t.Errorf("decodeQP(%q) = %q, want %q (%s)", c.in, got, c.want, c.why)
		}
	}
}
