package codes

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestSystemErrorText(t *testing.T) {
	_, openErr := os.Open("/nonexistent-hikyaku/list.tsv")
	cases := []struct {
		err    *SystemError
		en, ja string
	}{
		{NewSystemError(-10, DetailNoEmailColumn.EN, nil).At("list.tsv", 1),
			`-10 TSV header cannot be parsed: no "email" column (list.tsv line 1)`,
			"-10 TSVファイルヘッダパースエラー: email 列がない (list.tsv 1行目)"},
		// The path is not printed twice: File names it.
		{NewSystemError(-8, "", openErr).At("list.tsv", 0),
			"-8 Recipient TSV file cannot be opened: no such file or directory (list.tsv)",
			"-8 TSVファイルオープンエラー: no such file or directory (list.tsv)"},
		// "name: fixed" translates the fixed part only.
		{NewSystemError(-6, `"smtp.listen": `+DetailQuotedKey.EN, nil).At("h.toml", 4),
			`-6 Unknown keyword in the configuration file: "smtp.listen": which in quotes is one name; write it without quotes (h.toml line 4)`,
			`-6 設定ファイル不明キーワードエラー: "smtp.listen": 引用符で囲むと一つの名前になる。引用符なしで書くこと (h.toml 4行目)`},
		// A detail with a value is kept as it is in both languages; a
		// cause already in the detail is not repeated; newlines go.
		{NewSystemError(-102, "insert failed:\n  database is locked", errors.New("database is locked")),
			"-102 Status database update failed: insert failed: database is locked",
			"-102 状態データベースを更新できなかった: insert failed: database is locked"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.en {
			t.Errorf("Error()\n got %q\nwant %q", got, c.en)
		}
		if got := c.err.Text("ja"); got != c.ja {
			t.Errorf("Text(ja)\n got %q\nwant %q", got, c.ja)
		}
	}
}

func TestSystemErrorChain(t *testing.T) {
	_, openErr := os.Open("/nonexistent-hikyaku/x")
	err := fmt.Errorf("loading: %w", NewSystemError(-4, "", openErr))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("Unwrap does not reach the cause")
	}
	if code, ok := SystemCode(err); !ok || code != -4 {
		t.Errorf("SystemCode = %d, %v", code, ok)
	}
	if !IsSystem(err, -4) || IsSystem(err, -5) || IsSystem(errors.New("x"), -4) {
		t.Error("IsSystem")
	}
}

// Every fixed detail has a Japanese text that is Japanese.
func TestDetailsJapanese(t *testing.T) {
	for _, d := range Details() {
		if d.EN == "" || !hasJapanese(d.JA) {
			t.Errorf("detail %q: Japanese text %q", d.EN, d.JA)
		}
		if strings.Contains(d.EN, ": ") {
			t.Errorf("detail %q: a fixed detail holds no \": \", which DetailJA splits at", d.EN)
		}
	}
}

// Every Detail variable of details.go is in the table, or its Japanese
// text would never be found.
func TestDetailsListed(t *testing.T) {
	listed := map[string]bool{}
	for _, d := range Details() {
		listed[d.EN] = true
	}
	declared := declaredLiterals(t, "details.go", "Detail")
	for name, en := range declared {
		if !listed[en] {
			t.Errorf("%s (%q) is not in allDetails", name, en)
		}
	}
	if len(declared) == 0 || len(declared) != len(Details()) {
		t.Errorf("%d Detail variables, %d listed", len(declared), len(Details()))
	}
}

// declaredLiterals maps every variable of file whose value is a typ
// literal to the literal's first field, a string: the key the table's
// list is checked by.
func declaredLiterals(t *testing.T, file, typ string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, v := range vs.Values {
			cl, ok := v.(*ast.CompositeLit)
			if !ok {
				continue
			}
			if id, ok := cl.Type.(*ast.Ident); !ok || id.Name != typ || len(cl.Elts) == 0 {
				continue
			}
			lit, ok := cl.Elts[0].(*ast.BasicLit)
			if !ok {
				t.Fatalf("%s: %s's first field is not a literal", file, vs.Names[i].Name)
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatalf("%s: %s's first field is not a string literal", file, vs.Names[i].Name)
			}
			out[vs.Names[i].Name] = s
		}
		return true
	})
	return out
}
