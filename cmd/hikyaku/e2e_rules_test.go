package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hikyaku/hikyaku/internal/campaign/rules"
)

// runRules runs `hikyaku campaign rules ARGS` and returns stdout, stderr
// and the exit status.
func runRules(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(hikyakuBin(t), append([]string{"campaign", "rules"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// `campaign rules` prints the rules in effect as a rules file, first line
// naming their source: the built-in ones, then data_dir/reply-rules.txt
// once an administrator puts one there, then the file campaign.reply_rules
// names.
func TestE2ERulesInEffect(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "c.toml")
	os.MkdirAll(data, 0o755)
	os.WriteFile(cfg, []byte(fmt.Sprintf("hostname = \"mx.example.test\"\ndata_dir = %q\n", data)), 0o644)

	out, stderr, code := runRules(t, "--config", cfg)
	first, _, _ := strings.Cut(out, "\n")
	if code != 0 || !strings.HasPrefix(first, "# ") || !strings.Contains(first, rules.DefaultName) {
		t.Fatalf("exit %d, first line %q, want the built-in rules named\n%s", code, first, stderr)
	}
	printed, err := rules.Parse(strings.NewReader(out), "printed")
	if err != nil || printed.Len() != rules.Default().Len() {
		t.Fatalf("printed rules do not parse back to the %d built-in ones: %v\n%s", rules.Default().Len(), err, out)
	}

	own := filepath.Join(data, rules.FileName)
	os.WriteFile(own, []byte("# mine\n850 550 example.jp /refused/\n"), 0o644)
	out, _, code = runRules(t, "--config", cfg)
	if code != 0 || !strings.Contains(out, "from "+own) || !strings.Contains(out, "/refused/") || strings.Contains(out, "tried to reach") {
		t.Errorf("with %s, exit %d:\n%s", own, code, out)
	}

	named := filepath.Join(dir, "named.txt")
	os.WriteFile(named, []byte("801 5xx * /gone/\n801 5xx * /away/\n"), 0o644)
	os.WriteFile(cfg, []byte(fmt.Sprintf("hostname = \"mx.example.test\"\ndata_dir = %q\n[campaign]\nreply_rules = %q\n", data, named)), 0o644)
	out, _, code = runRules(t, "--config", cfg)
	if code != 0 || !strings.HasPrefix(out, "# 2 reply rules in effect, from "+named) {
		t.Errorf("campaign.reply_rules, exit %d:\n%s", code, out)
	}

	// A broken file in use is an error, not a silent fallback.
	os.WriteFile(named, []byte("801 5xx * /(/\n"), 0o644)
	if _, stderr, code := runRules(t, "--config", cfg); code != 1 || !strings.Contains(stderr, named+":1: bad regexp") {
		t.Errorf("broken rules in use: exit %d, stderr %q", code, stderr)
	}

	out, _, code = runRules(t, "--defaults")
	if code != 0 || out != rules.DefaultText() {
		t.Errorf("--defaults: exit %d, want default.txt verbatim", code)
	}
}

// --check names every bad line with its number and exits 1; a good file
// gets its count.
func TestE2ERulesCheck(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("# rules\n801 5xx * /ok/\n802 5xx * /x/\n\n850 5xx *.docomo.ne.jp /x/\n801 5xx * /(/\n"), 0o644)
	out, stderr, code := runRules(t, "--check", bad)
	if code != 1 || out != "" {
		t.Errorf("bad file: exit %d, stdout %q; want 1 and nothing", code, out)
	}
	for _, want := range []string{bad + ":3: result", bad + ":5: domain", bad + ":6: bad regexp", "not a valid rules file"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}

	good := filepath.Join(dir, "good.txt")
	os.WriteFile(good, []byte(rules.DefaultText()), 0o644)
	out, _, code = runRules(t, "--check", good)
	if want := fmt.Sprintf("%s: %d rules OK\n", good, rules.Default().Len()); code != 0 || out != want {
		t.Errorf("good file: exit %d, %q, want %q", code, out, want)
	}

	if _, stderr, code := runRules(t, "--check", filepath.Join(dir, "missing.txt")); code != 1 || !strings.Contains(stderr, "missing.txt") {
		t.Errorf("missing file: exit %d, %q", code, stderr)
	}
	if _, _, code := runRules(t, "extra"); code != 2 {
		t.Errorf("stray argument: exit %d, want 2", code)
	}
}
