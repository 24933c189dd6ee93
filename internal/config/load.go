package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// EnvConfig names the environment variable LoadEnv reads.
const EnvConfig = "HIKYAKU_CONFIG"

// maxFileSize bounds what Load reads: a configuration is a few kilobytes,
// and a path pointing at a log or a disk image should fail, not fill memory.
const maxFileSize = 1 << 20

// LoadEnv loads the file named by flagPath, else by $HIKYAKU_CONFIG, else
// returns the built-in defaults (File == ""), so that `hikyaku serve` works
// with no configuration at all.
func LoadEnv(flagPath string) (*Config, error) {
	if flagPath != "" {
		return Load(flagPath)
	}
	if p := os.Getenv(EnvConfig); p != "" {
		return Load(p)
	}
	c := Defaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Load reads the TOML file at path over Defaults() and validates the
// result. Every failure is a *codes.SystemError carrying the system code,
// the file, and where there is one the line and the dotted key.
func Load(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return load(path, data)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		code := CodeCannotRead
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			code = CodeCannotOpen
		}
		return nil, &codes.SystemError{Code: code, Err: err, File: path}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, &codes.SystemError{Code: CodeCannotRead, Err: err, File: path}
	}
	if len(data) > maxFileSize {
		return nil, &codes.SystemError{Code: CodeCannotRead, Detail: codes.DetailTooLarge.EN + ": more than 1 MiB", File: path}
	}
	return data, nil
}

func load(file string, data []byte) (*Config, error) {
	c := Defaults()
	lines, err := decode(file, data, &c)
	if err != nil {
		return nil, err
	}
	// local.domains defaults to the configured hostname, not the machine's.
	if _, set := lines["local.domains"]; !set {
		c.Local.Domains = defaultDomains(c.Hostname)
	}
	for i, d := range c.Local.Domains {
		c.Local.Domains[i] = strings.ToLower(d)
	}
	c.File = file
	if v := c.validate(); v != nil {
		return nil, v.system(file, lines)
	}
	return &c, nil
}

// decode fills c from the TOML document, recording the line of every key it
// sets so that Validate's errors can point at the line too.
func decode(file string, data []byte, c *Config) (map[string]int, error) {
	// go-toml's own decoder knows the TOML rules the bare parser leaves to
	// its caller (duplicate keys, redefined tables, invalid dates). A
	// document it refuses is not TOML: -5, whatever the keys are.
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		e := &codes.SystemError{Code: CodeCannotRead, Detail: oneLine(strings.TrimPrefix(err.Error(), "toml: ")), File: file, Line: 1}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			if row, _ := de.Position(); row > 0 {
				e.Line = row
			}
		}
		return nil, e
	}
	d := &decoder{file: file, lines: map[string]int{}}
	d.p.Reset(data)
	root := reflect.ValueOf(c).Elem()
	table, prefix := root, []string(nil)
	for d.p.NextExpression() {
		expr := d.p.Expression()
		switch expr.Kind {
		case unstable.Table, unstable.ArrayTable:
			parts, line := d.key(expr)
			v, err := d.table(root, nil, parts, line)
			if err != nil {
				return nil, err
			}
			if expr.Kind == unstable.ArrayTable {
				name := strings.Join(parts, ".")
				return nil, d.bad(name, line, "expected one table [%s], not an array of tables [[%s]]", name, name)
			}
			table, prefix = v, parts
		case unstable.KeyValue:
			if err := d.keyValue(table, prefix, expr); err != nil {
				return nil, err
			}
		}
	}
	if err := d.p.Error(); err != nil {
		// Unreachable after toml.Unmarshal accepted the same bytes; kept so
		// that a parser change cannot turn a bad file into a silent default.
		return nil, &codes.SystemError{Code: CodeCannotRead, Detail: oneLine(err.Error()), File: file, Line: 1}
	}
	return d.lines, nil
}

type decoder struct {
	file  string
	p     unstable.Parser
	lines map[string]int
}

// key returns the parts of an expression's (possibly dotted) key and the
// line it starts on.
func (d *decoder) key(expr *unstable.Node) ([]string, int) {
	var parts []string
	line := 0
	it := expr.Key()
	for it.Next() {
		n := it.Node()
		if line == 0 {
			line = d.p.Shape(n.Raw).Start.Line
		}
		parts = append(parts, string(n.Data))
	}
	return parts, line
}

// table walks from v down the struct fields named by parts, each of which
// must be a table.
func (d *decoder) table(v reflect.Value, prefix, parts []string, line int) (reflect.Value, error) {
	for i, part := range parts {
		name := dotted(prefix, parts[:i+1])
		f, ok := field(v, part)
		if !ok {
			return reflect.Value{}, d.unknown(name, line)
		}
		if f.Kind() != reflect.Struct {
			return reflect.Value{}, d.bad(name, line, "expected %s, not a table", article(keyType(f.Type())))
		}
		v = f
	}
	return v, nil
}

func (d *decoder) keyValue(v reflect.Value, prefix []string, expr *unstable.Node) error {
	parts, line := d.key(expr)
	parent, err := d.table(v, prefix, parts[:len(parts)-1], line)
	if err != nil {
		return err
	}
	full := append(append([]string(nil), prefix...), parts...)
	name := strings.Join(full, ".")
	f, ok := field(parent, parts[len(parts)-1])
	if !ok {
		return d.unknown(name, line)
	}
	val := expr.Value()
	if f.Kind() == reflect.Struct {
		if val.Kind != unstable.InlineTable {
			return d.bad(name, line, "expected a table, got %s", describe(val))
		}
		it := val.Children()
		for it.Next() {
			if kv := it.Node(); kv.Kind == unstable.KeyValue {
				if err := d.keyValue(f, full, kv); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := setValue(f, val); err != nil {
		return d.bad(name, line, "%s", err)
	}
	d.lines[name] = line
	return nil
}

func (d *decoder) unknown(name string, line int) *codes.SystemError {
	detail := strconv.Quote(name)
	if slices.ContainsFunc(fieldKeys(configType, ""), func(k fieldKey) bool { return k.name == name }) {
		// Only a quoted key ("smtp.listen" = ...) is one name with a dot in it.
		detail += ": " + codes.DetailQuotedKey.EN
	} else if s := suggest(name); s != "" {
		detail += fmt.Sprintf(": did you mean %q?", s)
	}
	return &codes.SystemError{Code: CodeUnknownKey, Detail: detail, File: d.file, Line: line}
}

func (d *decoder) bad(name string, line int, format string, args ...any) *codes.SystemError {
	return &codes.SystemError{Code: CodeBadValue, Detail: name + ": " + oneLine(fmt.Sprintf(format, args...)), File: d.file, Line: line}
}

func dotted(prefix, parts []string) string {
	return strings.Join(append(append([]string(nil), prefix...), parts...), ".")
}

var (
	sizeType     = reflect.TypeFor[Size]()
	durationType = reflect.TypeFor[Duration]()
	configType   = reflect.TypeFor[Config]()
)

// setValue stores one TOML value in a field. Each Go type a setting may have
// is one case here; keyType names the same types for the documentation.
func setValue(f reflect.Value, n *unstable.Node) error {
	switch f.Type() {
	case sizeType:
		switch n.Kind {
		case unstable.Integer:
			i, err := parseInt(n)
			if err != nil {
				return err
			}
			f.SetInt(i)
			return nil
		case unstable.String:
			s, err := ParseSize(string(n.Data))
			if err != nil {
				return err
			}
			f.SetInt(int64(s))
			return nil
		}
		return fmt.Errorf(`expected a size such as 1048576 or "25MiB", got %s`, describe(n))
	case durationType:
		if n.Kind != unstable.String {
			return fmt.Errorf(`expected a duration such as "5m" or "5d", got %s`, describe(n))
		}
		v, err := ParseDuration(string(n.Data))
		if err != nil {
			return err
		}
		f.SetInt(int64(v))
		return nil
	}
	if n.Kind != tomlKind[f.Kind()] {
		return fmt.Errorf("expected %s, got %s", article(keyType(f.Type())), describe(n))
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(string(n.Data))
	case reflect.Bool:
		f.SetBool(string(n.Data) == "true")
	case reflect.Int, reflect.Int64:
		i, err := parseInt(n)
		if err != nil {
			return err
		}
		if f.OverflowInt(i) {
			return fmt.Errorf("%d is out of range", i)
		}
		f.SetInt(i)
	case reflect.Slice:
		out := reflect.MakeSlice(f.Type(), 0, 4)
		it := n.Children()
		for i := 1; it.Next(); i++ {
			e := reflect.New(f.Type().Elem()).Elem()
			if err := setValue(e, it.Node()); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
			out = reflect.Append(out, e)
		}
		f.Set(out)
	}
	return nil
}

// tomlKind is the TOML value kind each Go kind is filled from.
var tomlKind = map[reflect.Kind]unstable.Kind{
	reflect.String: unstable.String, reflect.Bool: unstable.Bool,
	reflect.Int: unstable.Integer, reflect.Int64: unstable.Integer, reflect.Slice: unstable.Array,
}

// parseInt reads a TOML integer; go-toml has already checked its syntax
// (signs, underscores, 0x/0o/0b prefixes), all of which Go's base-0 parser
// reads the same way.
func parseInt(n *unstable.Node) (int64, error) {
	i, err := strconv.ParseInt(string(n.Data), 0, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not a 64-bit integer", n.Data)
	}
	return i, nil
}

// keyType names a field's Go type as Key.Type does; "" for a type the
// decoder cannot fill (a test keeps that list empty).
func keyType(t reflect.Type) string {
	switch {
	case t == sizeType:
		return TypeSize
	case t == durationType:
		return TypeDur
	case t.Kind() == reflect.String:
		return TypeString
	case t.Kind() == reflect.Bool:
		return TypeBool
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return TypeInt
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return TypeStrings
	}
	return ""
}

func article(typ string) string {
	if typ == TypeInt {
		return "an " + typ
	}
	return "a " + typ
}

// describe names what was found, with the value when it is short enough to
// be useful in a one-line error.
func describe(n *unstable.Node) string {
	switch n.Kind {
	case unstable.String:
		s := string(n.Data)
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return fmt.Sprintf("the string %q", s)
	case unstable.Integer, unstable.Float, unstable.Bool:
		kind := map[unstable.Kind]string{unstable.Integer: "integer", unstable.Float: "number", unstable.Bool: "boolean"}[n.Kind]
		return fmt.Sprintf("the %s %s", kind, n.Data)
	case unstable.Array:
		return "a list"
	case unstable.InlineTable:
		return "a table"
	}
	return "a date or time"
}

// field finds the struct field whose toml tag is name.
func field(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		if tagName(t.Field(i)) == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func tagName(sf reflect.StructField) string {
	name, _, _ := strings.Cut(sf.Tag.Get("toml"), ",")
	if !sf.IsExported() || name == "-" {
		return ""
	}
	return name
}

// fieldKey is a key the Config struct can hold, found by reflection.
type fieldKey struct {
	name  string // dotted
	typ   reflect.Type
	table bool
}

// fieldKeys lists every table and key of t in struct order.
func fieldKeys(t reflect.Type, prefix string) []fieldKey {
	var out []fieldKey
	for i := range t.NumField() {
		name := tagName(t.Field(i))
		if name == "" {
			continue
		}
		if prefix != "" {
			name = prefix + "." + name
		}
		ft := t.Field(i).Type
		out = append(out, fieldKey{name: name, typ: ft, table: ft.Kind() == reflect.Struct})
		if ft.Kind() == reflect.Struct {
			out = append(out, fieldKeys(ft, name)...)
		}
	}
	return out
}

// suggest finds what an unknown key probably meant: the same key in another
// table ("listen" at the top instead of under [smtp]), else a key within two
// typing mistakes of it.
func suggest(name string) string {
	leaf := name[strings.LastIndexByte(name, '.')+1:]
	best, bestD := "", 3
	for _, k := range fieldKeys(configType, "") {
		if k.name[strings.LastIndexByte(k.name, '.')+1:] == leaf {
			return k.name
		}
		if dist := distance(name, k.name, bestD); dist < bestD {
			best, bestD = k.name, dist
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b, or limit when it is at
// least that (the long keys a fuzzer writes need not be measured fully).
func distance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}
