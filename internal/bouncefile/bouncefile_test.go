package bouncefile

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hikyaku/hikyaku/internal/config"
)

var samples = filepath.Join("..", "bounce", "testdata", "samples")

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "hikyaku.toml")
	if err := os.WriteFile(path, []byte("data_dir = \""+filepath.Join(dir, "data")+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Parse prints one tab-separated line per recipient, goes on past an input
// it cannot read and then fails naming it; a mail that is no bounce is
// one -501 line.
func TestParse(t *testing.T) {
	cfg := testConfig(t)
	dir := t.TempDir()
	notBounce := filepath.Join(dir, "hello.eml")
	os.WriteFile(notBounce, []byte("From: a@example.jp\r\nSubject: hello\r\n\r\nJust a note.\r\n"), 0o644)
	host := filepath.Join(samples, "postfix-hostunknown.eml")
	missing := filepath.Join(dir, "missing.eml")
	var out, errs bytes.Buffer
	err := Parse(cfg, []string{host, missing, notBounce}, false, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 inputs could not be read: "+missing) || !strings.Contains(errs.String(), missing) {
		t.Errorf("err %v, stderr %q", err, errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	if f := strings.Split(lines[0], "\t"); len(f) != 8 || f[0] != host || f[1] != "yamato@nxdomain.example.com" || f[2] != "700" {
		t.Errorf("host unknown: %q", f)
	}
	if f := strings.Split(lines[1], "\t"); len(f) != 8 || f[0] != notBounce || f[1] != "-" || f[2] != "-501" || strings.Contains(lines[1], "\n") {
		t.Errorf("not a bounce: %q", f)
	}

	out.Reset()
	if err := Parse(cfg, []string{host}, true, &out, &errs); err != nil {
		t.Fatal(err)
	}
	var r struct {
		File, Kind, Recipient string
		Code                  int
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.File != host || r.Code != 700 || r.Recipient != "yamato@nxdomain.example.com" {
		t.Errorf("json: %+v %v\n%s", r, err, out.String())
	}
}
