package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// runCLI runs one command line in this process, as main does.
func runCLI(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// commandPaths lists every command of the tree, groups included, as the
// arguments that name it: a command added later is covered without
// editing the tests.
func commandPaths(t *testing.T) map[string]*cobra.Command {
	t.Helper()
	out := map[string]*cobra.Command{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		out[c.CommandPath()] = c
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRoot(&bytes.Buffer{}, &bytes.Buffer{}))
	if len(out) < 40 {
		t.Fatalf("the tree has %d commands; the walk lost some", len(out))
	}
	return out
}

func args(path string) []string { return strings.Fields(path)[1:] }

// Every command and group answers -h and --help with its usage on stdout
// and exit 0, and a flag it does not have with its usage on stderr and
// exit 2.
func TestHelpAndBadFlagEveryCommand(t *testing.T) {
	for path, c := range commandPaths(t) {
		t.Run(path, func(t *testing.T) {
			for _, h := range []string{"--help", "-h"} {
				out, errs, code := runCLI(append(args(path), h)...)
				if code != exitOK || errs != "" || !strings.Contains(out, "Usage:") || !strings.Contains(out, path) {
					t.Errorf("%s %s: exit %d, want 0 with the usage on stdout\nstdout: %s\nstderr: %s", path, h, code, out, errs)
				}
				if c.HasAvailableSubCommands() {
					for _, s := range c.Commands() {
						if s.IsAvailableCommand() && !strings.Contains(out, s.Name()) {
							t.Errorf("%s %s does not list %s", path, h, s.Name())
						}
					}
				}
			}
			out, errs, code := runCLI(append(args(path), "--no-such-flag")...)
			if code != exitUsage || out != "" || !strings.Contains(errs, "unknown flag: --no-such-flag") ||
				!strings.Contains(errs, "Usage:") || !strings.Contains(errs, path) {
				t.Errorf("%s --no-such-flag: exit %d, want 2 with the usage on stderr\nstdout: %s\nstderr: %s", path, code, out, errs)
			}
		})
	}
}

// Usage errors exit 2 with the command's usage on stderr: no command, an
// unknown one, a group without its command, a missing argument, a bad
// flag value.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "hikyaku needs a command"},
		{[]string{"nope"}, `unknown command "nope" for "hikyaku"`},
		{[]string{"campaign"}, "hikyaku campaign needs a command"},
		{[]string{"campaign", "reprot"}, `did you mean report?`},
		{[]string{"queue", "frobnicate"}, `unknown command "frobnicate" for "hikyaku queue"`},
		{[]string{"user", "add"}, "user add needs exactly one ADDRESS"},
		{[]string{"campaign", "status"}, "campaign status needs exactly one campaign NAME or ID"},
		{[]string{"campaign", "report", "--by", "color", "x"}, "--by must be"},
		{[]string{"campaign", "run", "--rate", "fast"}, `invalid argument "fast" for "--rate"`},
		{[]string{"explain"}, "explain needs at least one CODE"},
		{[]string{"explain", "--lang", "fr", "550"}, `--lang must be "en" or "ja"`},
		{[]string{"serve", "extra"}, "serve takes no arguments"},
		{[]string{"campaign", "suppress", "add", "no-at-sign"}, "is not a mail address"},
		{[]string{"help", "campaign", "nope"}, `unknown help topic "campaign nope"`},
	} {
		out, errs, code := runCLI(tc.args...)
		if code != exitUsage || out != "" || !strings.Contains(errs, tc.want) || !strings.Contains(errs, "Usage:") {
			t.Errorf("hikyaku %s: exit %d, want 2 and %q with the usage on stderr\nstdout: %s\nstderr: %s",
				strings.Join(tc.args, " "), code, tc.want, out, errs)
		}
	}
}

// explainJSON runs explain --json and gives the codes it explained.
func explainJSON(t *testing.T, args ...string) []string {
	t.Helper()
	out, errs, code := runCLI(args...)
	if code != exitOK {
		t.Fatalf("hikyaku %s: exit %d\n%s", strings.Join(args, " "), code, errs)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var d struct {
			Query string `json:"query"`
			Known bool   `json:"known"`
		}
		if err := json.Unmarshal([]byte(line), &d); err != nil || !d.Known {
			t.Fatalf("hikyaku %s: line %q: %v", strings.Join(args, " "), line, err)
		}
		got = append(got, d.Query)
	}
	return got
}

// Negative result codes are arguments, in order, wherever the flags stand,
// without "--"; -name flags of the standard flag package still work.
func TestExplainNegativeCodesAndFlagPlaces(t *testing.T) {
	want := "-500 250 5.7.1 -11"
	for _, a := range [][]string{
		{"explain", "--json", "-500", "250", "5.7.1", "-11"},
		{"explain", "-500", "250", "--json", "5.7.1", "-11"},
		{"explain", "-500", "250", "5.7.1", "-11", "--json"},
		{"explain", "-json", "-500", "250", "5.7.1", "-11"},
		{"--config", "", "explain", "-500", "250", "5.7.1", "-11", "--json=true"},
	} {
		if got := strings.Join(explainJSON(t, a...), " "); got != want {
			t.Errorf("hikyaku %s: explained %q, want %q", strings.Join(a, " "), got, want)
		}
	}
	out, errs, code := runCLI("explain", "-500", "--lang", "ja")
	if code != exitOK || !strings.HasPrefix(out, "-500 ") || strings.Contains(out, "\x00") {
		t.Errorf("explain -500 --lang ja: exit %d\n%s%s", code, out, errs)
	}
	// After "--" nothing is a flag, and a negative code is still a code.
	if got := strings.Join(explainJSON(t, "explain", "--json", "--", "-500"), " "); got != "-500" {
		t.Errorf("explain --json -- -500: %q", got)
	}
}

// help names a command as --help does.
func TestHelpCommand(t *testing.T) {
	out, errs, code := runCLI("help", "campaign", "run")
	if code != exitOK || !strings.Contains(out, "hikyaku campaign run --list LIST.tsv") {
		t.Errorf("help campaign run: exit %d\n%s%s", code, out, errs)
	}
	out, _, code = runCLI("__complete", "help", "camp")
	if code != exitOK || !strings.Contains(out, "campaign\t") {
		t.Errorf("__complete help camp: exit %d\n%s", code, out)
	}
}

func TestVersion(t *testing.T) {
	out, errs, code := runCLI("version")
	if code != exitOK || errs != "" {
		t.Fatalf("version: exit %d\n%s", code, errs)
	}
	for _, w := range []string{"hikyaku ", "\ncommit ", "\ngo " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("version does not say %q:\n%s", w, out)
		}
	}
}

// Without a VCS stamp (go build -buildvcs=false) the commit comes from
// main.commit, which a build sets with -ldflags -X.
func TestVersionCommitFallback(t *testing.T) {
	bi, _ := debug.ReadBuildInfo()
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			t.Skip("this build has a VCS stamp, which goes first")
		}
	}
	defer func(c string) { commit = c }(commit)
	commit = "0123abcd"
	if out, _, code := runCLI("version"); code != exitOK || !strings.Contains(out, "\ncommit 0123abcd\n") {
		t.Errorf("version with main.commit set: exit %d\n%s", code, out)
	}
}

// Each shell's completion script is generated from the tree and knows its
// commands.
func TestCompletion(t *testing.T) {
	for shell, marks := range map[string][]string{
		"bash": {"# bash completion V2 for hikyaku", "__start_hikyaku"},
		"zsh":  {"#compdef hikyaku", "_hikyaku"},
		"fish": {"# fish completion for hikyaku", "complete -c hikyaku"},
	} {
		out, errs, code := runCLI("completion", shell)
		if code != exitOK || errs != "" {
			t.Errorf("completion %s: exit %d\n%s", shell, code, errs)
			continue
		}
		for _, m := range marks {
			if !strings.Contains(out, m) {
				t.Errorf("completion %s lacks %q", shell, m)
			}
		}
	}
	// The completion engine the scripts call answers from the same tree.
	out, _, code := runCLI("__complete", "campaign", "r")
	if code != exitOK || !strings.Contains(out, "report\t") || !strings.Contains(out, "rules\t") || !strings.Contains(out, "run\t") ||
		strings.Contains(out, "status") {
		t.Errorf("__complete campaign r: exit %d\n%s", code, out)
	}
}

// man writes one page per available command, with the flags of --help.
func TestManPages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man1")
	if _, errs, code := runCLI("man", dir); code != exitOK {
		t.Fatalf("man: exit %d\n%s", code, errs)
	}
	for path, c := range commandPaths(t) {
		if !c.IsAvailableCommand() && c.HasParent() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, strings.ReplaceAll(path, " ", "-")+".1"))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		page := string(b)
		if !strings.Contains(page, `.TH "HIKYAKU"`) {
			t.Errorf("%s: no .TH header", path)
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if !strings.Contains(page, `\fB--`+f.Name+`\fP`) {
				t.Errorf("%s: the page does not document --%s", path, f.Name)
			}
		})
	}
}

// A system error is printed with its code first, however it was wrapped.
func TestErrorTextSystemErrorFirst(t *testing.T) {
	se := &codes.SystemError{Code: -8, Detail: "no such file", File: "list.tsv"}
	for _, err := range []error{se, fmt.Errorf("campaign spring: %w", se), fmt.Errorf("%w", se)} {
		got := errorText(err)
		if !strings.HasPrefix(got, "-8 ") || !strings.Contains(got, "list.tsv") {
			t.Errorf("errorText(%q) = %q, want the code first", err, got)
		}
		if strings.Contains(err.Error(), "campaign spring") && !strings.HasSuffix(got, "(campaign spring)") {
			t.Errorf("errorText(%q) = %q lost the context", err, got)
		}
	}
	if got := errorText(errors.New("plain")); got != "plain" {
		t.Errorf("a plain error: %q", got)
	}
	_, errs, code := runCLI("campaign", "run", "--config", filepath.Join(t.TempDir(), "missing.toml"), "--list", "l.tsv", "--template", "m.eml")
	if code != exitFailure || !regexp.MustCompile(`^hikyaku: -\d+ `).MatchString(errs) {
		t.Errorf("a missing configuration file: exit %d, want 1 with the code first\n%s", code, errs)
	}
}

// The built binary, as scripts call it: help on a group, a negative code,
// the version with the module's path.
func TestE2EBinaryHelpVersion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"campaign", "--help"}, "hikyaku campaign [command]"},
		{[]string{"queue", "-h"}, "hikyaku queue [command]"},
		{[]string{"explain", "-500"}, "-500 "},
		{[]string{"version"}, "module github.com/hikyaku/hikyaku\n"},
	} {
		out, errs, code := hkRun(t, tc.args...)
		if code != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("hikyaku %s: exit %d, want 0 and %q on stdout\n%s%s", strings.Join(tc.args, " "), code, tc.want, out, errs)
		}
	}
}
