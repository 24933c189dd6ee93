package campaign

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hikyaku/hikyaku/internal/codes"
)

const imageTemplate = "From: news@example.jp\r\nSubject: x\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=B\r\n\r\n" +
	"--B\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\ntext\r\n" +
	"--B\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<p><img src=\"images/logo.png\"></p>\r\n--B--\r\n"

// issue 13: the image errors of a campaign name the operator's files in
// the --images folder, never the copy a run works from, and a folder
// given but lacking the image is -12 for that file, not -13 "no folder".
func TestSpecImageErrors(t *testing.T) {
	logo, err := os.ReadFile("compose/testdata/images/logo.png")
	if err != nil {
		t.Fatal(err)
	}
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "logo.png"), logo, 0o644); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "banner.png"), logo, 0o644); err != nil {
		t.Fatal(err)
	}
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "logo.png"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	cases := []struct {
		name string
		dir  string
		code int    // 0: compiles
		file string // the file the error names
		msg  string
	}{
		{"image there", full, 0, "", ""},
		{"image missing", other, -12, filepath.Join(other, "logo.png"), "the images folder does not have"},
		{"folder empty", empty, -12, filepath.Join(empty, "logo.png"), "the images folder does not have"},
		{"not an image", broken, -12, filepath.Join(broken, "logo.png"), "not a PNG"},
		{"no folder", "", -13, "", "no images folder was given: images/logo.png"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			imgs, err := ReadImages(c.dir)
			if err != nil {
				t.Fatal(err)
			}
			spec := Spec{Template: []byte(imageTemplate), Images: imgs, ImagesDir: c.dir, Hostname: "h.example"}
			// A worker reads the Spec back from the store: the same errors.
			for _, s := range []Spec{spec, roundTrip(t, spec)} {
				_, err = s.Compile()
				if c.code == 0 {
					if err != nil {
						t.Fatalf("Compile: %v", err)
					}
					continue
				}
				if code, _ := codes.SystemCode(err); code != c.code || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("Compile: %v, want %d with %q", err, c.code, c.msg)
				}
				if se := asSystem(err); se.File != c.file || strings.Contains(err.Error(), os.TempDir()+string(filepath.Separator)+"hikyaku-images-") {
					t.Errorf("error %q names %q, want the operator's %q", err, se.File, c.file)
				}
			}
		})
	}
}

func TestReadImagesErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	for _, c := range []struct {
		dir  string
		code int
		msg  string
	}{
		{filepath.Join(dir, "nope"), -13, "no such file or directory"},
		{notDir, -13, "not a folder"},
	} {
		_, err := ReadImages(c.dir)
		if code, _ := codes.SystemCode(err); code != c.code || !strings.Contains(err.Error(), c.msg) || asSystem(err).File != c.dir {
			t.Errorf("ReadImages(%s): %v, want %d naming the folder with %q", c.dir, err, c.code, c.msg)
		}
	}
}

// roundTrip is the Spec as a worker gets it: through the JSON the store
// keeps as the campaign's options.
func roundTrip(t *testing.T, s Spec) Spec {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out Spec
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func asSystem(err error) *codes.SystemError {
	var se *codes.SystemError
	if !errors.As(err, &se) {
		return &codes.SystemError{}
	}
	return se
}
