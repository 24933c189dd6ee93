package longline

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzFix checks Fix's promises on any input: it never panics; a message
// that needs no fix comes back byte-identical; a line left long is always
// named in a "left ..." note; every re-encoded leaf decodes, with the
// standard library, to the content it had; and when the standard library
// can read the input, it reads the same leaves from the output. The limit
// is kept small (78 + extra) so that short inputs already have long lines.
func FuzzFix(f *testing.F) {
	seeds := []string{
		"Subject: " + words(300) + "\n\nbody\n",
		"X-Long: " + solid(200) + "\n\n" + solid(200) + "\n",
		"MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b\n\npre " + words(120) + "\n--b\nContent-Type: text/plain\n\n" + words(200) + "\n--b\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n" + solid(150) + "=3D\n--b--\nepi\n",
		"Content-Type: multipart/mixed; boundary=\"o\"\n\n--o\nContent-Type: message/rfc822\n\nSubject: in\n\n" + solid(100) + "\n--o\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\n" + strings.Repeat("R0lG", 40) + "\n--o--\n",
		"Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: x\n\n" + solid(90) + "\n--d--\n",
		"Content-Type: text/plain\nContent-Transfer-Encoding: x-weird\n\n" + solid(100) + "\n",
		"Subject: =?UTF-8?B?" + strings.Repeat("5pel", 20) + "?= =?UTF-8?Q?a b?=" + words(40) + "\n\n",
	}
	for i, s := range seeds {
		f.Add(msg(s), uint8(i*7))
	}
	f.Add([]byte(solid(90)+"\n\n\r\n--\r\r\n"), uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, extra uint8) {
		max := MinLine + int(extra)
		orig := append([]byte(nil), in...)
		var traces []reencoding
		r, err := fix(in, max, func(re reencoding) { traces = append(traces, re) })
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(in, orig) {
			t.Fatal("Fix modified its input")
		}
		if !NeedsFix(in, max) {
			if r.Changed || !bytes.Equal(r.Data, in) || len(r.Notes) != 0 {
				t.Fatalf("a message needing no fix came back changed: %+v", r)
			}
			return
		}
		if r.Changed == bytes.Equal(r.Data, in) {
			t.Fatalf("Changed = %v, but output equal to input = %v", r.Changed, bytes.Equal(r.Data, in))
		}
		if NeedsFix(r.Data, max) && !strings.Contains(strings.Join(r.Notes, "\n"), "left ") {
			t.Fatalf("a line over %d remains with no note saying so: notes %q\n%q", max, r.Notes, r.Data)
		}
		for _, tr := range traces {
			checkTrace(t, tr)
		}
		if !bytes.Contains(in, []byte("\n")) || bareLineEnds(in) {
			return
		}
		want, err := readLeaves(in)
		if err != nil {
			return
		}
		got, err := readLeaves(r.Data)
		if err != nil {
			t.Fatalf("the standard library reads the input but not the output: %v\nin  %q\nout %q", err, in, r.Data)
		}
		if len(got) != len(want) {
			t.Fatalf("output has %d leaves, input %d\nin  %q\nout %q", len(got), len(want), in, r.Data)
		}
		for i := range want {
			if got[i].path != want[i].path || !bytes.Equal(got[i].data, want[i].data) {
				t.Fatalf("leaf %s decodes differently\n got %q\nwant %q\nin  %q\nout %q", want[i].path, got[i].data, want[i].data, in, r.Data)
			}
		}
	})
}

// bareLineEnds says whether b holds a CR or LF outside a CRLF pair, where
// the standard library's reading (LF ends a line) and SMTP's differ.
func bareLineEnds(b []byte) bool {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			return true
		}
	}
	return false
}
