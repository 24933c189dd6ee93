package repo

import (
	"bufio"
	"bytes"
	"errors"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/hikyaku/hikyaku"

// root is the checkout: two folders up from this package.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !bytes.Contains(b, []byte("module "+module+"\n")) {
		t.Fatalf("%s is not the %s checkout: %v", dir, module, err)
	}
	return dir
}

// skipDir says which folders hold no code or references of ours: git's
// own, hidden folders, and test data (mails, fuzz inputs, dialogues),
// which is data a test reads, not text a person follows.
func skipDir(name string) bool {
	return name == "testdata" || name == "node_modules" || (strings.HasPrefix(name, ".") && name != ".")
}

// goPackages lists the folders (relative, slash-separated) that hold Go
// files, with whether any of them is a non-test file.
func goPackages(t *testing.T, top string) map[string]bool {
	t.Helper()
	pkgs := map[string]bool{}
	err := filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != top && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".go") {
			return nil
		}
		rel, _ := filepath.Rel(top, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		pkgs[rel] = pkgs[rel] || !strings.HasSuffix(d.Name(), "_test.go")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

type mapEntry struct {
	layer int
	line  int
}

var mapRow = regexp.MustCompile("^\\| `([^`]+)` \\| ([0-9]+) \\|")

// packageMap reads the table under "## Package map" in docs/conventions.md.
func packageMap(t *testing.T, top string) map[string]mapEntry {
	t.Helper()
	f, err := os.Open(filepath.Join(top, "docs", "conventions.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]mapEntry{}
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Package map"
			continue
		}
		if !in {
			continue
		}
		if g := mapRow.FindStringSubmatch(line); g != nil {
			layer, _ := strconv.Atoi(g[2])
			if prev, dup := m[g[1]]; dup {
				t.Errorf("docs/conventions.md:%d: %s is in the map twice (first at line %d)", n, g[1], prev.line)
			}
			m[g[1]] = mapEntry{layer, n}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 {
		t.Fatal(`docs/conventions.md has no "## Package map" table`)
	}
	return m
}

// TestPackageMap: every package has an entry in docs/conventions.md, every
// entry is a package, and every import of a non-test file goes to a
// package of a lower layer, so the documented direction is the real one.
func TestPackageMap(t *testing.T) {
	top := root(t)
	pkgs := goPackages(t, top)
	m := packageMap(t, top)
	var names []string
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		if _, ok := m[p]; !ok {
			t.Errorf("package %s has no entry in docs/conventions.md's package map (add a row with its layer and what it owns)", p)
		}
	}
	for p, e := range m {
		if _, ok := pkgs[p]; !ok {
			t.Errorf("docs/conventions.md:%d: %s is in the package map but no such package exists", e.line, p)
		}
	}
	for _, p := range names {
		if !pkgs[p] {
			continue // test files only: nothing imports it, and its tests may import anything
		}
		from, ok := m[p]
		if !ok {
			continue
		}
		bp, err := build.Default.ImportDir(filepath.Join(top, filepath.FromSlash(p)), 0)
		if err != nil {
			var noGo *build.NoGoError
			if !errors.As(err, &noGo) {
				t.Errorf("%s: %v", p, err)
			}
			continue
		}
		for _, imp := range bp.Imports {
			dep, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			to, ok := m[dep]
			switch {
			case !ok:
				t.Errorf("%s imports %s, which has no entry in the package map", p, dep)
			case to.layer >= from.layer:
				t.Errorf("%s (layer %d) imports %s (layer %d): an import must go to a lower layer (docs/conventions.md, package map)", p, from.layer, dep, to.layer)
			}
		}
	}
}

// TestDocGo: every package's comment is in its doc.go, and only there, so
// a maintainer knows where to read (and fix) what a package owns.
func TestDocGo(t *testing.T) {
	top := root(t)
	for p, hasCode := range goPackages(t, top) {
		if !hasCode {
			continue
		}
		dir := filepath.Join(top, filepath.FromSlash(p))
		fset := token.NewFileSet()
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(fset, f, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			base := filepath.Base(f)
			switch {
			case base == "doc.go" && af.Doc == nil:
				t.Errorf("%s/doc.go has no package comment", p)
			case base == "doc.go":
				found = true
				text := af.Doc.Text()
				if af.Name.Name != "main" && !strings.HasPrefix(text, "Package "+af.Name.Name+" ") {
					t.Errorf("%s/doc.go: the comment should start %q", p, "Package "+af.Name.Name+" ")
				}
			case af.Doc != nil:
				t.Errorf("%s/%s has a package comment; it belongs in doc.go alone", p, base)
			}
		}
		if !found {
			t.Errorf("package %s has no doc.go with its package comment", p)
		}
	}
}

var (
	// A reference to the folder the project was started from, which a
	// clone does not have.
	outside = regexp.MustCompile(`\.\./shared|/work/shared`)
	// The specification and the style notes by the names they had there.
	oldName = regexp.MustCompile(`\bSPEC\b|\bSTYLE\b`)
	docPath = regexp.MustCompile(`(?:^|[^/\w.-])(docs/[A-Za-z0-9_.*/-]*[A-Za-z0-9_*/])`)
	specSec = regexp.MustCompile(`docs/spec\.md §([0-9]+(?:\.[0-9]+)?)`)
	habit   = regexp.MustCompile(`docs/conventions\.md,? habits? ([0-9]+)`)
	seedRef = regexp.MustCompile(`(?i)\bseeds?[ -]([0-9]{3})\b`)
	mdLink  = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// Paths of the repository named in its docs.
	repoPath = regexp.MustCompile("(?:^|[\\s`(])((?:internal|cmd|bench|scripts)/[A-Za-z0-9_./-]*[A-Za-z0-9_])")
)

// textFile says whether a file holds text a person reads: code, docs,
// scripts, configuration.
func textFile(rel string) bool {
	switch filepath.Ext(rel) {
	case ".go", ".md", ".sh", ".toml", ".pl", ".py", ".txt", ".tsv":
		return true
	case "":
		return strings.HasPrefix(rel, "scripts/") || strings.HasPrefix(rel, ".ci/")
	}
	return false
}

// specSections are the numbers of docs/spec.md's "## N." and "### N.N"
// headings.
func specSections(t *testing.T, top string) map[string]bool {
	b, err := os.ReadFile(filepath.Join(top, "docs", "spec.md"))
	if err != nil {
		t.Fatal(err)
	}
	secs := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if g := regexp.MustCompile(`^#{2,3} ([0-9]+(?:\.[0-9]+)?)\.? `).FindStringSubmatch(line); g != nil {
			secs[g[1]] = true
		}
	}
	return secs
}

// habits are the numbers of docs/conventions.md's numbered habits.
func habits(t *testing.T, top string) map[string]bool {
	b, err := os.ReadFile(filepath.Join(top, "docs", "conventions.md"))
	if err != nil {
		t.Fatal(err)
	}
	hs := map[string]bool{}
	for _, g := range regexp.MustCompile(`(?m)^([0-9]+)\. \*\*`).FindAllStringSubmatch(string(b), -1) {
		hs[g[1]] = true
	}
	return hs
}

// TestReferences: every reference in code, docs and scripts can be
// followed from a clone with nothing beside it.
func TestReferences(t *testing.T) {
	top := root(t)
	secs := specSections(t, top)
	hs := habits(t, top)
	exists := func(rel string) bool {
		if strings.ContainsAny(rel, "*?[") {
			m, _ := filepath.Glob(filepath.Join(top, filepath.FromSlash(rel)))
			return len(m) > 0
		}
		_, err := os.Stat(filepath.Join(top, filepath.FromSlash(rel)))
		return err == nil
	}
	err := filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, top+string(filepath.Separator)))
		if d.IsDir() {
			// internal/repo names the patterns it looks for; docs/seeds
			// is kept byte for byte as it came.
			if path != top && (skipDir(d.Name()) || rel == "internal/repo" || rel == "docs/seeds") {
				return filepath.SkipDir
			}
			return nil
		}
		if !textFile(rel) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil || bytes.IndexByte(b, 0) >= 0 {
			return err
		}
		markdown := strings.HasSuffix(rel, ".md")
		for n, line := range strings.Split(string(b), "\n") {
			at := func(format string, args ...any) {
				t.Helper()
				t.Errorf("%s:%d: "+format, append([]any{rel, n + 1}, args...)...)
			}
			if outside.MatchString(line) {
				at("points outside the repository: %q", outside.FindString(line))
			}
			if m := oldName.FindString(line); m != "" {
				at("%q names a document outside the repository: cite docs/spec.md §N or docs/conventions.md habit N", m)
			}
			for _, g := range docPath.FindAllStringSubmatch(line, -1) {
				if p := g[1]; !exists(strings.TrimSuffix(p, "/")) {
					at("%s does not exist", p)
				}
			}
			for _, g := range specSec.FindAllStringSubmatch(line, -1) {
				if !secs[g[1]] {
					at("docs/spec.md has no section %s", g[1])
				}
			}
			for _, g := range habit.FindAllStringSubmatch(line, -1) {
				if !hs[g[1]] {
					at("docs/conventions.md has no habit %s", g[1])
				}
			}
			for _, g := range seedRef.FindAllStringSubmatch(line, -1) {
				if m, _ := filepath.Glob(filepath.Join(top, "docs", "seeds", g[1]+"-*.txt")); len(m) != 1 {
					at("seed %s has no file docs/seeds/%s-*.txt", g[1], g[1])
				}
			}
			if !markdown {
				continue
			}
			for _, g := range mdLink.FindAllStringSubmatch(line, -1) {
				target, _, _ := strings.Cut(g[1], "#")
				if target == "" || strings.Contains(target, ":") {
					continue // an anchor, a URL, mailto:
				}
				if _, err := os.Stat(filepath.Join(filepath.Dir(path), filepath.FromSlash(target))); err != nil {
					at("link %s does not resolve", g[1])
				}
			}
			if !strings.HasPrefix(rel, "docs/") && rel != "README.md" {
				continue
			}
			for _, g := range repoPath.FindAllStringSubmatch(line, -1) {
				p := strings.TrimRight(g[1], ".")
				if !exists(p) {
					at("%s does not exist", p)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
