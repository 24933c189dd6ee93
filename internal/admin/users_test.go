package admin

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hikyaku/hikyaku/internal/config"
)

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "hikyaku.toml")
	toml := "hostname = \"mx.example.test\"\ndata_dir = \"" + filepath.Join(dir, "data") + "\"\n[local]\ndomains = [\"example.test\"]\n"
	if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Users and aliases round-trip through users.toml: added, listed (a login
// only with a password), deleted.
func TestUsersAndAliases(t *testing.T) {
	cfg := testConfig(t)
	var out bytes.Buffer
	if err := AddUser(cfg, NewUser{Address: "Alice@example.test", Name: "Alice", Quota: "1MiB",
		PasswordFrom: strings.NewReader("s3cret\n")}, &out); err != nil {
		t.Fatal(err)
	}
	if err := AddUser(cfg, NewUser{Address: "bob@example.test"}, &out); err != nil {
		t.Fatal(err)
	}
	if err := AddUser(cfg, NewUser{Address: "carol@example.test", PasswordFrom: strings.NewReader("\n")}, &out); err == nil {
		t.Error("an empty password was taken")
	}
	if err := AddUser(cfg, NewUser{Address: "dave@example.test", Quota: "lots"}, &out); err == nil {
		t.Error("a bad quota was taken")
	}
	if err := AddAlias(cfg, "team@example.test", []string{"alice@example.test", "bob@example.test"}, true, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := ListUsers(cfg, &out); err != nil {
		t.Fatal(err)
	}
	if !regexpMatch(out.String(), `alice@example.test\s+Alice\s+yes\s+1048576`) || !regexpMatch(out.String(), `bob@example.test\s+no\s+default`) ||
		strings.Contains(out.String(), "carol") || strings.Contains(out.String(), "dave") {
		t.Errorf("user list:\n%s", out.String())
	}
	out.Reset()
	if err := ListAliases(cfg, &out); err != nil || !regexpMatch(out.String(), `team@example.test\s+true\s+alice@example.test, bob@example.test`) {
		t.Errorf("alias list: %v\n%s", err, out.String())
	}
	if err := DelUser(cfg, "bob@example.test", &out); err != nil {
		t.Fatal(err)
	}
	if err := DelAlias(cfg, "team@example.test", &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	ListUsers(cfg, &out)
	ListAliases(cfg, &out)
	if strings.Contains(out.String(), "bob@") || strings.Contains(out.String(), "team@") {
		t.Errorf("after del:\n%s", out.String())
	}
}

func regexpMatch(s, re string) bool { return regexp.MustCompile(re).MatchString(s) }
