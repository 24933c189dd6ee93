package campaignctl

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/config"
)

func writeFiles(t *testing.T, files map[string]string) (string, *config.Config) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := filepath.Join(dir, "hikyaku.toml")
	if err := os.WriteFile(cfgPath, []byte("hostname = \"mx.example.test\"\ndata_dir = \""+filepath.Join(dir, "data")+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

const template = "From: News <news@example.test>\nTo: {{.name}} <{{.email}}>\nSubject: Hello {{.name}}\n\nDear {{.name}}, row {{.row}}.\n"

// A dry run composes every row and counts the invalid ones, without a
// store: nothing is created under data_dir.
func TestDryRun(t *testing.T) {
	dir, cfg := writeFiles(t, map[string]string{
		"list.tsv": "email\tname\na@example.jp\tTaro\nnot-an-address\tJiro\nb@example.jp\n",
		"msg.eml":  template,
	})
	var out bytes.Buffer
	o := RunOptions{List: filepath.Join(dir, "list.tsv"), Template: filepath.Join(dir, "msg.eml"), Rate: -1, DryRun: true}
	if err := Run(context.Background(), cfg, o, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "dry run: 3 rows, 1 messages composed (0 ISO-2022-JP, 0 fell back to UTF-8), 2 invalid rows (800)") ||
		!strings.Contains(out.String(), "line 3: 800 malformed address") || !strings.Contains(out.String(), "line 4: 800 wrong column count") {
		t.Errorf("dry run said:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a dry run made data_dir: %v", err)
	}
}

// A template naming a field the list lacks is refused before any row, as
// a -10 naming the list.
func TestRunMissingFields(t *testing.T) {
	dir, cfg := writeFiles(t, map[string]string{"list.tsv": "email\na@example.jp\n", "msg.eml": template})
	list := filepath.Join(dir, "list.tsv")
	err := Run(context.Background(), cfg, RunOptions{List: list, Template: filepath.Join(dir, "msg.eml"), Rate: -1, DryRun: true},
		&bytes.Buffer{}, &bytes.Buffer{})
	var se *codes.SystemError
	if !errors.As(err, &se) || se.Code != -10 || se.File != list || !strings.Contains(err.Error(), "name") {
		t.Errorf("got %v, want a -10 naming %s and the field", err, list)
	}
}
