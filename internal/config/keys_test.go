package config

import (
	"bytes"
	"flag"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/config.md and docs/hikyaku.example.toml from Keys()")

const (
	docPath     = "../../docs/config.md"
	examplePath = "../../docs/hikyaku.example.toml"
)

// TestKeysMatchFields is what keeps Keys() the one place: a Config field
// without an entry, an entry without a field, or a Type that does not match
// the field fails here.
func TestKeysMatchFields(t *testing.T) {
	var fields []fieldKey
	for _, f := range fieldKeys(configType, "") {
		if !f.table {
			fields = append(fields, f)
		}
	}
	byName := map[string]Key{}
	for _, k := range Keys() {
		if _, dup := byName[k.Name]; dup {
			t.Errorf("Keys() lists %s twice", k.Name)
		}
		byName[k.Name] = k
	}
	for _, f := range fields {
		k, ok := byName[f.name]
		if !ok {
			t.Errorf("field %s has no Keys() entry", f.name)
			continue
		}
		if typ := keyType(f.typ); typ == "" || typ != k.Type {
			t.Errorf("%s: Keys() says %q, field is %s (%q); setValue must fill every field type", f.name, k.Type, f.typ, typ)
		}
	}
	names := map[string]bool{}
	for _, f := range fields {
		names[f.name] = true
	}
	for _, k := range Keys() {
		if !names[k.Name] {
			t.Errorf("Keys() entry %s names no Config field", k.Name)
		}
	}
	if len(fields) == len(Keys()) {
		for i, f := range fields {
			if Keys()[i].Name != f.name {
				t.Errorf("Keys()[%d] is %s, struct order has %s; keep the file order", i, Keys()[i].Name, f.name)
				break
			}
		}
	}
}

// TestEveryFieldTagged catches an exported field added without a toml tag,
// which the decoder would silently never fill.
func TestEveryFieldTagged(t *testing.T) {
	var walk func(rt reflect.Type)
	walk = func(rt reflect.Type) {
		for i := range rt.NumField() {
			sf := rt.Field(i)
			if sf.IsExported() && sf.Tag.Get("toml") == "" {
				t.Errorf("%s.%s has no toml tag (use `toml:\"-\"` for fields not in the file)", rt.Name(), sf.Name)
			}
			if sf.Type.Kind() == reflect.Struct && sf.Tag.Get("toml") != "-" {
				walk(sf.Type)
			}
		}
	}
	walk(configType)
}

// fieldByName returns the field of c a dotted key names.
func fieldByName(c *Config, name string) reflect.Value {
	v := reflect.ValueOf(c).Elem()
	for _, part := range strings.Split(name, ".") {
		f, ok := field(v, part)
		if !ok {
			return reflect.Value{}
		}
		v = f
	}
	return v
}

// TestKeysDefaultsMatch parses each documented default and compares it with
// Defaults(), so the documentation cannot drift from the code.
func TestKeysDefaultsMatch(t *testing.T) {
	def := Defaults()
	for _, k := range Keys() {
		t.Run(k.Name, func(t *testing.T) {
			if strings.HasPrefix(k.Default, "(") {
				// Depends on the machine; TestDefaults checks it. The example
				// value must still be a value of the right type.
				if k.Example == "" {
					t.Fatal("a descriptive Default needs an Example for the example file")
				}
				var c Config
				if _, err := decode("t.toml", []byte(k.Name+" = "+k.Example+"\n"), &c); err != nil {
					t.Fatalf("Example %s does not decode: %v", k.Example, err)
				}
				return
			}
			if k.Example != "" {
				t.Fatalf("Example is only for descriptive defaults; Default %s is a value", k.Default)
			}
			var c Config
			if _, err := decode("t.toml", []byte(k.Name+" = "+k.Default+"\n"), &c); err != nil {
				t.Fatalf("Default %s does not decode: %v", k.Default, err)
			}
			got, want := fieldByName(&c, k.Name).Interface(), fieldByName(&def, k.Name).Interface()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Keys() says the default is %s (%v), Defaults() has %v", k.Default, got, want)
			}
		})
	}
}

func TestKeysDocs(t *testing.T) {
	for _, k := range Keys() {
		if k.Doc == "" || !strings.HasSuffix(k.Doc, ".") || strings.ContainsAny(k.Doc, "\n|") {
			t.Errorf("%s: Doc must be one or more sentences on one line, without '|': %q", k.Name, k.Doc)
		}
	}
}

func markdown() []byte {
	var b strings.Builder
	b.WriteString(`# Configuration

<!-- Generated from Keys() in internal/config/keys.go. Change the keys there and run
     go test ./internal/config -run 'TestConfigDocUpToDate|TestExampleUpToDate' -update -->

hikyaku reads one TOML file: the one given with ` + "`--config FILE`" + `, else the one named
by ` + "`$HIKYAKU_CONFIG`" + `, else none at all, in which case every key has the default
below (` + "`hikyaku serve`" + ` then listens on 127.0.0.1:2525 and keeps its data in
./hikyaku-data). [hikyaku.example.toml](hikyaku.example.toml) lists every key,
commented out at its default.

The file is read strictly. A problem stops the program with one line that
starts with a system code (docs/spec.md §4.4) and names the file, the line and the key:

| code | when | example |
|---|---|---|
| -4 | the file does not exist | ` + "`" + `-4 Configuration file cannot be opened: no such file or directory (x.toml)` + "`" + ` |
| -5 | the file cannot be read, or is not TOML (duplicate keys and tables included) | ` + "`" + `-5 Configuration file cannot be read or parsed: expected '=' after key (x.toml line 3)` + "`" + ` |
| -6 | a key or table that is not listed below | ` + "`" + `-6 Unknown keyword in the configuration file: "smtp.max_recipient": did you mean "smtp.max_recipients"? (hikyaku.toml line 4)` + "`" + ` |
| -7 | a value of the wrong type, out of range, or at odds with another key | ` + "`" + `-7 Invalid value in the configuration file: smtp.max_message_size: "25 potatoes" is not a size (hikyaku.toml line 7)` + "`" + ` |

## Value types

- **size**: a byte count, either an integer (` + "`26214400`" + `) or a string of
  whole digits with a unit: B, KB, KiB, MB, MiB, GB or GiB, in any case, with
  or without a space (` + "`\"25MiB\"`, `\"10 mb\"`" + `). KB, MB and GB are powers of
  1000; KiB, MiB and GiB powers of 1024. "M" alone is refused as ambiguous.
- **duration**: a string in Go's syntax (` + "`\"90s\"`, `\"5m\"`, `\"1h30m\"`" + `) that may
  start with whole days (` + "`\"5d\"`, `\"1d12h\"`" + `). Never negative.
- **list of strings**: ` + "`[\"a\", \"b\"]`" + `; one item still needs the brackets.
- Any key may also be written dotted at the top (` + "`smtp.max_errors = 5`" + `) or in
  an inline table (` + "`smtp = { max_errors = 5 }`" + `).
`)
	table := "-"
	for _, k := range Keys() {
		t, leaf := splitKey(k.Name)
		if t != table {
			table = t
			if t == "" {
				b.WriteString("\n## Top level\n\n")
			} else {
				b.WriteString("\n## [" + t + "]\n\n")
			}
			b.WriteString("| key | type | default | meaning |\n|---|---|---|---|\n")
		}
		def := k.Default
		if !strings.HasPrefix(def, "(") {
			def = "`" + def + "`"
		}
		b.WriteString("| `" + leaf + "` | " + k.Type + " | " + def + " | " + k.Doc + " |\n")
	}
	return []byte(b.String())
}

// checkGenerated compares a generated file with what is committed, or
// rewrites it under -update.
func checkGenerated(t *testing.T, path string, want []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/config -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with Keys(); run go test ./internal/config -run 'TestConfigDocUpToDate|TestExampleUpToDate' -update", path)
	}
}

func TestConfigDocUpToDate(t *testing.T) {
	checkGenerated(t, docPath, markdown())
}

func TestExampleUpToDate(t *testing.T) {
	checkGenerated(t, examplePath, Example())
}

// TestExampleLoads loads the example file as shipped (everything commented
// out: the defaults) and with every key line enabled (the documented
// defaults, spelt out), and both must be valid.
func TestExampleLoads(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := load("hikyaku.example.toml", data)
	if err != nil {
		t.Fatalf("example as shipped: %v", err)
	}
	want := Defaults()
	want.File = c.File
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("example as shipped is not the defaults:\n got %+v\nwant %+v", *c, want)
	}

	keyLine := regexp.MustCompile(`(?m)^#([a-z0-9_]+ = )`)
	enabled := keyLine.ReplaceAll(data, []byte("$1"))
	if n := len(keyLine.FindAll(data, -1)); n != len(Keys()) {
		t.Errorf("example has %d key lines, Keys() has %d", n, len(Keys()))
	}
	c, err = load("hikyaku.example.toml", enabled)
	if err != nil {
		t.Fatalf("example with every key enabled: %v", err)
	}
	want.Hostname = "mx.example.test"
	want.Local.Domains = []string{"example.test", "localhost"}
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("example with every key enabled is not the defaults:\n got %+v\nwant %+v", *c, want)
	}
}
