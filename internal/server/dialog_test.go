package server

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/config"
)

// TestDialogs runs every file in testdata/dialogs: one situation of
// docs/spec.md §2 each, as lines a client sends and the reply it must get
// (chasquid's t-12-minor_dialogs habit, docs/conventions.md habit 14). The format:
//
//	# why this case exists
//	set KEY VALUE        configure the server before it starts (dialogSettings, envSettings)
//	c -> TEXT            send TEXT and CRLF
//	c => "go string"     send exactly these bytes (Go escapes: \r \n \x00)
//	c <~ PREFIX          read one whole reply; its last line starts with PREFIX
//	c <* TEXT            ... and some line of it contains TEXT
//	c <! TEXT            ... and no line of it contains TEXT
//	c starttls           run the client's TLS handshake (after STARTTLS and 220)
//	c closed             the server has closed the connection
//	sleep DURATION
//
// In TEXT and PREFIX, b64("go string") stands for the base64 of the
// string, for AUTH exchanges that stay readable.
func TestDialogs(t *testing.T) {
	files, err := filepath.Glob("testdata/dialogs/*.dlg")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dialog files: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".dlg")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runDialog(t, f)
		})
	}
}

func runDialog(t *testing.T, file string) {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var sets [][2]string
	var opts envOptions
	for _, l := range lines {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), " "); ok && k == "set" {
			key, val, _ := strings.Cut(v, " ")
			sets = append(sets, [2]string{key, val})
		}
	}
	for _, kv := range sets {
		if f, ok := envSettings[kv[0]]; ok {
			if err := f(&opts, kv[1]); err != nil {
				t.Fatalf("%s: set %s: %v", file, kv[0], err)
			}
		}
	}
	env := newTestEnvOpts(t, opts, func(cfg *config.Config) {
		for _, kv := range sets {
			if _, ok := envSettings[kv[0]]; ok {
				continue
			}
			f, ok := dialogSettings[kv[0]]
			if !ok {
				t.Fatalf("%s: unknown setting %q", file, kv[0])
			}
			if err := f(cfg, kv[1]); err != nil {
				t.Fatalf("%s: set %s: %v", file, kv[0], err)
			}
		}
	})
	c := env.dial()
	var last []string
	for n, raw := range lines {
		where := file + ":" + strconv.Itoa(n+1)
		l, err := expandB64(strings.TrimRight(raw, "\r"))
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		switch {
		case strings.TrimSpace(l) == "", strings.HasPrefix(l, "#"), strings.HasPrefix(l, "set "):
		case strings.HasPrefix(l, "c -> "):
			c.send(l[5:] + "\r\n")
		case strings.HasPrefix(l, "c => "):
			s, err := strconv.Unquote(strings.TrimSpace(l[5:]))
			if err != nil {
				t.Fatalf("%s: bad Go string: %v", where, err)
			}
			c.send(s)
		case strings.HasPrefix(l, "c <~ "):
			want := l[5:]
			got, err := c.reply()
			if err != nil {
				t.Fatalf("%s: reading reply (want %q): %v (got %q)", where, want, err, got)
			}
			if !strings.HasPrefix(got[len(got)-1], want) {
				t.Fatalf("%s: got %q, want a reply starting %q", where, got, want)
			}
			last = got
		case strings.HasPrefix(l, "c <* "), strings.HasPrefix(l, "c <! "):
			want, found := l[5:], false
			for _, g := range last {
				found = found || strings.Contains(g, want)
			}
			if found != (l[2:4] == "<*") {
				t.Fatalf("%s: reply %q: %s %q", where, last, l[2:4], want)
			}
		case l == "c closed":
			c.expectClosed()
		case l == "c starttls":
			c.starttls()
		case strings.HasPrefix(l, "sleep "):
			d, err := time.ParseDuration(l[6:])
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			time.Sleep(d)
		default:
			t.Fatalf("%s: cannot read dialog line %q", where, l)
		}
	}
}

var b64Call = regexp.MustCompile(`b64\(("(?:[^"\\]|\\.)*")\)`)

// expandB64 replaces each b64("...") with the base64 of the string.
func expandB64(l string) (string, error) {
	var err error
	out := b64Call.ReplaceAllStringFunc(l, func(m string) string {
		s, e := strconv.Unquote(b64Call.FindStringSubmatch(m)[1])
		if e != nil {
			err = e
		}
		return base64.StdEncoding.EncodeToString([]byte(s))
	})
	return out, err
}
