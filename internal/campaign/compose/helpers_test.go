package compose

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/japanese"

	"github.com/hikyaku/hikyaku/internal/protocol"
)

var fixedNow = func() time.Time { return time.Date(2025, 5, 1, 9, 0, 0, 0, time.FixedZone("JST", 9*3600)) }

// counting makes Message-IDs and boundaries repeatable for golden files.
func counting() func([]byte) {
	n := byte(0)
	return func(b []byte) {
		for i := range b {
			n++
			b[i] = n
		}
	}
}

func mustParse(t testing.TB, eml []byte, opt Options) *Template {
	t.Helper()
	if opt.Hostname == "" {
		opt.Hostname = "mta.example.co.jp"
	}
	if opt.Now == nil {
		opt.Now = fixedNow
	}
	tm, err := ParseTemplate(eml, opt)
	if err != nil {
		t.Fatalf("ParseTemplate: %v", err)
	}
	tm.random = counting()
	return tm
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// part is one decoded leaf of a message.
type part struct {
	mediaType string
	charset   string
	cte       string
	header    map[string][]string
	text      string // decoded to UTF-8 for text parts, raw for others
}

// decoded is a message read back by an independent path: net/mail,
// mime/multipart and x/text, none of which the composer uses to write.
type decoded struct {
	header mail.Header
	parts  []part
}

func (d decoded) get(name string) string {
	v, err := (&mime.WordDecoder{CharsetReader: jpCharsetReader}).DecodeHeader(d.header.Get(name))
	if err != nil {
		panic(err)
	}
	return v
}

func (d decoded) part(mediaType string) *part {
	for i := range d.parts {
		if d.parts[i].mediaType == mediaType {
			return &d.parts[i]
		}
	}
	return nil
}

func jpCharsetReader(charset string, r io.Reader) (io.Reader, error) {
	return wordDecoder.CharsetReader(charset, r)
}

func decodeMessage(t testing.TB, data []byte) decoded {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("net/mail cannot read the output: %v", err)
	}
	d := decoded{header: m.Header}
	body, _ := io.ReadAll(m.Body)
	walk(t, &d, map[string][]string(m.Header), body)
	return d
}

func walk(t testing.TB, d *decoded, h map[string][]string, body []byte) {
	t.Helper()
	get := func(k string) string {
		if v := h[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	mt, params, err := mime.ParseMediaType(get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", get("Content-Type"), err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("multipart: %v", err)
			}
			b, _ := io.ReadAll(p)
			walk(t, d, p.Header, b)
		}
	}
	cte := get("Content-Transfer-Encoding")
	var raw []byte
	switch cte {
	case "quoted-printable":
		raw, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	case "base64":
		raw, err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(body)))
	case "7bit":
		raw = body
	default:
		t.Fatalf("unexpected transfer encoding %q", cte)
	}
	if err != nil {
		t.Fatalf("%s body: %v", cte, err)
	}
	p := part{mediaType: mt, charset: params["charset"], cte: cte, header: h, text: string(raw)}
	if strings.HasPrefix(mt, "text/") {
		if p.charset == ISO2022JP {
			u, err := japanese.ISO2022JP.NewDecoder().Bytes(raw)
			if err != nil {
				t.Fatalf("ISO-2022-JP body: %v", err)
			}
			raw = u
		}
		p.text = strings.ReplaceAll(string(raw), "\r\n", "\n")
	}
	d.parts = append(d.parts, p)
}

// checkWire checks what every output must be: CRLF only, lines within
// 998 octets, header lines within 78 when they can be, 7-bit.
func checkWire(t testing.TB, data []byte, smtputf8 bool) {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\n")) ||
		bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\r")) {
		t.Errorf("bare CR or LF in output")
	}
	if !bytes.HasSuffix(data, []byte("\r\n")) {
		t.Errorf("output does not end in CRLF")
	}
	inHeader := true
	for i, line := range strings.Split(string(data), "\r\n") {
		if line == "" {
			inHeader = false
		}
		if len(line) > 998 {
			t.Errorf("line %d is %d octets", i+1, len(line))
		}
		// Over 78 only when there was nowhere to fold: one token (after
		// the field name on a first line).
		tokens := len(strings.Fields(line))
		if line != "" && line[0] != ' ' {
			tokens--
		}
		if inHeader && len(line) > 78 && tokens > 1 {
			t.Errorf("header line %d is %d characters: %q", i+1, len(line), line)
		}
		if !smtputf8 && !protocol.IsASCII(line) {
			t.Errorf("line %d is not 7-bit: %q", i+1, line)
		}
		if strings.Contains(line, "=?") {
			for _, w := range strings.Fields(line) {
				if strings.HasPrefix(w, "=?") && len(strings.TrimSuffix(w, ",")) > 75 {
					t.Errorf("encoded-word of %d characters: %s", len(w), w)
				}
			}
		}
	}
}

// pythonCheck reads each message with Python's email package (policy
// default) and returns what it printed, one line per message: defects,
// Subject, From, To, and each text part's content. "" when python3 is
// missing.
func pythonCheck(t *testing.T, msgs ...[]byte) []string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	dir := t.TempDir()
	var args []string
	for i, m := range msgs {
		p := dir + "/" + string(rune('a'+i)) + ".eml"
		if err := os.WriteFile(p, m, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	script := `
import sys, json, email, email.policy
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        m = email.message_from_binary_file(f, policy=email.policy.default)
    defects = [type(d).__name__ for p in m.walk() for d in p.defects]
    for name in ('Subject', 'From', 'To'):
        h = m[name]
        if h is not None:
            defects += [type(d).__name__ for d in h.defects if type(d).__name__ != 'InvalidHeaderDefect' or '..' not in str(h)]
    texts = [p.get_content() for p in m.walk() if p.get_content_maintype() == 'text']
    to = [[a.display_name, a.addr_spec] for a in m['To'].addresses]
    print(json.dumps({'defects': defects, 'subject': str(m['Subject']), 'from': str(m['From']), 'to': to, 'texts': texts}, ensure_ascii=False))
`
	cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}
