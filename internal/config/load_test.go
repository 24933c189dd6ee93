package config

import (
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// inDir runs the test in a fresh directory so that errors name the file as
// "hikyaku.toml", exactly as a user who typed that path would see it.
func inDir(t *testing.T) {
	t.Helper()
	t.Chdir(t.TempDir())
}

func writeFile(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func asError(t *testing.T, err error) *codes.SystemError {
	t.Helper()
	var e *codes.SystemError
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *codes.SystemError", err, err)
	}
	return e
}

// keyOf is the dotted key a -6 or -7 names at the start of its detail.
func keyOf(e *codes.SystemError) string {
	key, _, _ := strings.Cut(e.Detail, ": ")
	switch e.Code {
	case CodeUnknownKey:
		k, err := strconv.Unquote(key)
		if err != nil {
			return "unquoted " + key
		}
		return k
	case CodeBadValue:
		return key
	}
	return ""
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		why  string
		file string
		code int
		line int
		key  string
		text string // exact Error(); "" to skip
		pfx  string // Error() prefix, when the rest is go-toml's wording
	}{
		{name: "unknown top-level key", why: "a typo must not silently leave the default in force",
			file: "hostname = \"mx.example.test\"\n\n\nlisten_adress = \"x\"\n",
			code: -6, line: 4, key: "listen_adress",
			text: `-6 Unknown keyword in the configuration file: "listen_adress" (hikyaku.toml line 4)`},
		{name: "unknown key in [smtp]", why: "keys inside a table are checked too and named with their table",
			file: "[smtp]\nlisten = [\"127.0.0.1:2525\"]\nmax_recipient = 5\n",
			code: -6, line: 3, key: "smtp.max_recipient",
			text: `-6 Unknown keyword in the configuration file: "smtp.max_recipient": did you mean "smtp.max_recipients"? (hikyaku.toml line 3)`},
		{name: "unknown table", why: "a misspelt table would otherwise drop every key under it",
			file: "hostname = \"mx.example.test\"\n[smtpd]\nlisten = []\n",
			code: -6, line: 2, key: "smtpd",
			text: `-6 Unknown keyword in the configuration file: "smtpd": did you mean "smtp"? (hikyaku.toml line 2)`},
		{name: "unknown sub-table", why: "tables nest; [smtp.tls] does not exist (yet)",
			file: "[smtp.tls]\ncert = \"x\"\n", code: -6, line: 1, key: "smtp.tls"},
		{name: "key in the wrong table", why: "listen at the top level belongs under [smtp]; the hint says so",
			file: "listen = [\"127.0.0.1:25\"]\n", code: -6, line: 1, key: "listen",
			text: `-6 Unknown keyword in the configuration file: "listen": did you mean "smtp.listen"? (hikyaku.toml line 1)`},
		{name: "unknown dotted key", why: "smtp.foo = 1 is the same key as foo under [smtp]",
			file: "smtp.foo = 1\n", code: -6, line: 1, key: "smtp.foo"},
		{name: "unknown key in inline table", why: "inline tables are walked like [table] sections",
			file: "hostname = \"mx.example.test\"\nsmtp = { max_errors = 3, bogus = 1 }\n", code: -6, line: 2, key: "smtp.bogus"},
		{name: "quoted dotted key", why: `"smtp.listen" in quotes is one key named with a dot, not smtp.listen`,
			file: "\"smtp.listen\" = [\":25\"]\n", code: -6, line: 1, key: "smtp.listen",
			text: `-6 Unknown keyword in the configuration file: "smtp.listen": which in quotes is one name; write it without quotes (hikyaku.toml line 1)`},
		{name: "wrong type: string for integer", why: "a quoted number is a string in TOML; say so instead of guessing",
			file: "[smtp]\nmax_recipients = \"100\"\n", code: -7, line: 2, key: "smtp.max_recipients",
			text: `-7 Invalid value in the configuration file: smtp.max_recipients: expected an integer, got the string "100" (hikyaku.toml line 2)`},
		{name: "wrong type: string for boolean", why: `"yes" is not true`,
			file: "[smtp]\nhelo_once = \"yes\"\n", code: -7, line: 2, key: "smtp.helo_once"},
		{name: "wrong type: string for list", why: "a single address must still be written as a list",
			file: "[smtp]\nlisten = \"127.0.0.1:25\"\n", code: -7, line: 2, key: "smtp.listen"},
		{name: "wrong type: list item", why: "each item of a list is checked, and numbered",
			file: "[relay]\nnetworks = [\"10.0.0.0/8\", 25]\n", code: -7, line: 2, key: "relay.networks",
			text: `-7 Invalid value in the configuration file: relay.networks: item 2: expected a string, got the integer 25 (hikyaku.toml line 2)`},
		{name: "wrong type: value for a table", why: "smtp is a table, not a number",
			file: "smtp = 5\n", code: -7, line: 1, key: "smtp"},
		{name: "wrong type: table for a value", why: "[hostname] opens a table where a string belongs",
			file: "[hostname]\n", code: -7, line: 1, key: "hostname"},
		{name: "array of tables", why: "[[smtp]] is a list of tables; there is one smtp table",
			file: "[[smtp]]\n", code: -7, line: 1, key: "smtp"},
		{name: "float for integer", why: "1.5 recipients means nothing",
			file: "[smtp]\nmax_errors = 1.5\n", code: -7, line: 2, key: "smtp.max_errors"},
		{name: "date for string", why: "TOML dates are values of their own type",
			file: "data_dir = 2024-01-01\n", code: -7, line: 1, key: "data_dir"},
		{name: "bad size", why: "an unknown unit is refused, not read as bytes",
			file: "hostname = \"mx.example.test\"\n\n[smtp]\nlisten = [\"127.0.0.1:2525\"]\nmax_recipients = 100\n# the limit\nmax_message_size = \"25 potatoes\"\n",
			code: -7, line: 7, key: "smtp.max_message_size",
			text: `-7 Invalid value in the configuration file: smtp.max_message_size: "25 potatoes" is not a size (hikyaku.toml line 7)`},
		{name: "negative size", why: "a negative integer parses but no size is negative",
			file: "[local]\nquota = -1\n", code: -7, line: 2, key: "local.quota"},
		{name: "zero message size", why: "a 0-byte limit would refuse every message",
			file: "[smtp]\nmax_message_size = 0\n", code: -7, line: 2, key: "smtp.max_message_size"},
		{name: "bad duration", why: "only Go units plus d are understood",
			file: "[smtp]\ncommand_timeout = \"5 minutes\"\n", code: -7, line: 2, key: "smtp.command_timeout",
			text: `-7 Invalid value in the configuration file: smtp.command_timeout: "5 minutes" is not a duration (hikyaku.toml line 2)`},
		{name: "duration as integer", why: "300 could be seconds or minutes; a unit is required",
			file: "[smtp]\ndata_timeout = 300\n", code: -7, line: 2, key: "smtp.data_timeout"},
		{name: "negative duration", why: "no timeout lies in the past",
			file: "[smtp]\ndata_timeout = \"-1m\"\n", code: -7, line: 2, key: "smtp.data_timeout"},
		{name: "zero duration", why: "a 0 timeout would drop every client at once",
			file: "[smtp]\ncommand_timeout = \"0s\"\n", code: -7, line: 2, key: "smtp.command_timeout"},
		{name: "bad network", why: "a /33 is no IPv4 network; relay control must not guess",
			file: "[relay]\nnetworks = [\n  \"127.0.0.0/8\",\n  \"10.0.0.0/33\",\n]\n", code: -7, line: 2, key: "relay.networks"},
		{name: "bad listen address", why: "host names are refused so that no resolver is asked",
			file: "[smtp]\nlisten = [\"localhost:2525\"]\n", code: -7, line: 2, key: "smtp.listen"},
		{name: "listen without port", why: "host:port is required",
			file: "[http]\nlisten = \"127.0.0.1\"\n", code: -7, line: 2, key: "http.listen"},
		{name: "bad vrfy", why: "only privacy, on and off have a meaning",
			file: "[smtp]\nvrfy = \"maybe\"\n", code: -7, line: 2, key: "smtp.vrfy",
			text: `-7 Invalid value in the configuration file: smtp.vrfy: "maybe" is not one of "privacy", "on" or "off" (hikyaku.toml line 2)`},
		{name: "bad bare_lf", why: "only reject and normalize have a meaning",
			file: "[smtp]\nbare_lf = \"accept\"\n", code: -7, line: 2, key: "smtp.bare_lf"},
		{name: "bad log level", why: "slog has four levels",
			file: "log_level = \"verbose\"\n", code: -7, line: 1, key: "log_level"},
		{name: "max_recipients below 1", why: "0 recipients would refuse every transaction",
			file: "[smtp]\nmax_recipients = 0\n", code: -7, line: 2, key: "smtp.max_recipients"},
		{name: "negative limit", why: "no limit is negative",
			file: "[smtp]\nmax_sessions = -1\n", code: -7, line: 2, key: "smtp.max_sessions"},
		{name: "per-IP limit above the total, total set", why: "a cross-key check names the key the file set",
			file: "hostname = \"mx.example.test\"\n[smtp]\nmax_sessions = 5\n", code: -7, line: 3, key: "smtp.max_sessions_per_ip",
			text: `-7 Invalid value in the configuration file: smtp.max_sessions_per_ip: 20 is more than smtp.max_sessions (5) (hikyaku.toml line 3)`},
		{name: "http on an smtp address", why: "two listeners on one socket cannot both start",
			file: "[smtp]\nlisten = [\"127.0.0.1:8025\"]\n[http]\nlisten = \"127.0.0.1:8025\"\n", code: -7, line: 4, key: "http.listen"},
		{name: "bad hostname", why: "the EHLO name must be a domain name",
			file: "hostname = \"mx_1.example.test\"\n", code: -7, line: 1, key: "hostname"},
		{name: "bad local domain", why: "every local domain is checked",
			file: "[local]\ndomains = [\"example.test\", \"bad domain\"]\n", code: -7, line: 2, key: "local.domains"},
		{name: "syntax error", why: "an unclosed table header is not TOML",
			file: "hostname = \"mx.example.test\"\n[smtp\nlisten = []\n", code: -5, line: 2,
			pfx: `-5 Configuration file cannot be read or parsed: `},
		{name: "duplicate key", why: "TOML forbids it; the parser alone does not notice",
			file: "hostname = \"a.test\"\nhostname = \"b.test\"\n", code: -5, line: 2,
			pfx: `-5 Configuration file cannot be read or parsed: `},
		{name: "table defined twice", why: "TOML forbids it as well",
			file: "[smtp]\nmax_errors = 3\n[local]\n[smtp]\nexpn = true\n", code: -5, line: 4},
		{name: "unterminated string", why: "the error points at the line the string starts on",
			file: "\n\nhostname = \"mx.example.test\n", code: -5, line: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inDir(t)
			writeFile(t, "hikyaku.toml", tc.file)
			c, err := Load("hikyaku.toml")
			if err == nil {
				t.Fatalf("loaded %+v; want error %d (%s)", c, tc.code, tc.why)
			}
			e := asError(t, err)
			if e.Code != tc.code || e.Line != tc.line || keyOf(e) != tc.key || e.File != "hikyaku.toml" {
				t.Errorf("got code %d line %d key %q file %q; want %d %d %q (%s)\n%v", e.Code, e.Line, keyOf(e), e.File, tc.code, tc.line, tc.key, tc.why, err)
			}
			msg := err.Error()
			if tc.text != "" && msg != tc.text {
				t.Errorf("text\n got %s\nwant %s", msg, tc.text)
			}
			if tc.pfx != "" && !strings.HasPrefix(msg, tc.pfx) {
				t.Errorf("text %q does not start with %q", msg, tc.pfx)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("text is more than one line: %q", msg)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	t.Run("missing file", func(t *testing.T) {
		inDir(t)
		_, err := Load("x.toml")
		e := asError(t, err)
		if e.Code != -4 || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("got %v (code %d); want -4 wrapping fs.ErrNotExist", err, e.Code)
		}
		if want := `-4 Configuration file cannot be opened: no such file or directory (x.toml)`; err.Error() != want {
			t.Errorf("got %q, want %q", err, want)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		inDir(t)
		writeFile(t, "plain", "")
		_, err := Load("plain/x.toml") // a file where a directory is expected: ENOTDIR
		if e := asError(t, err); e.Code != -4 {
			t.Errorf("got %v; want -4", err)
		}
	})
	t.Run("unreadable file", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("running as root, which reads a mode-000 file anyway; the -5 path is covered by the directory case")
		}
		inDir(t)
		writeFile(t, "x.toml", "hostname = \"a.test\"\n")
		if err := os.Chmod("x.toml", 0); err != nil {
			t.Fatal(err)
		}
		_, err := Load("x.toml")
		if e := asError(t, err); e.Code != -5 || e.Line != 0 {
			t.Errorf("got %v; want -5 without a line", err)
		}
		if want := `-5 Configuration file cannot be read or parsed: permission denied (x.toml)`; err.Error() != want {
			t.Errorf("got %q, want %q", err, want)
		}
	})
	t.Run("directory", func(t *testing.T) {
		inDir(t)
		if err := os.Mkdir("d.toml", 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := Load("d.toml")
		if e := asError(t, err); e.Code != -5 || e.Line != 0 {
			t.Errorf("got %v; want -5 without a line", err)
		}
	})
	t.Run("huge file", func(t *testing.T) {
		inDir(t)
		writeFile(t, "big.toml", strings.Repeat("# x\n", maxFileSize/4+1))
		_, err := Load("big.toml")
		if e := asError(t, err); e.Code != -5 {
			t.Errorf("got %v; want -5", err)
		}
	})
}

// The keys the acceptance suite of the issue writes.
const acceptanceTOML = `hostname = "mx.example.test"
data_dir = "/path/to/data"
[smtp]
listen = ["127.0.0.1:2525"]
max_recipients = 100
max_message_size = "25MiB"
max_received = 100
max_sessions_per_ip = 20
[local]
domains = ["example.test"]
[relay]
networks = ["127.0.0.0/8"]
`

func TestLoadAcceptanceKeys(t *testing.T) {
	inDir(t)
	writeFile(t, "hikyaku.toml", acceptanceTOML)
	c, err := Load("hikyaku.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.File = "hikyaku.toml"
	want.Hostname = "mx.example.test"
	want.DataDir = "/path/to/data"
	want.SMTP.MaxMessageSize = 25 << 20
	want.Local.Domains = []string{"example.test"}
	want.Relay.Networks = []string{"127.0.0.0/8"}
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("got  %+v\nwant %+v", *c, want)
	}
}

func TestLoadForms(t *testing.T) {
	cases := []struct {
		name  string
		why   string
		file  string
		check func(c *Config) bool
	}{
		{"empty file", "an empty file is all defaults", "",
			func(c *Config) bool { d := Defaults(); d.File = c.File; return reflect.DeepEqual(*c, d) }},
		{"dotted keys", "smtp.max_errors at the top is the same key as under [smtp]", "smtp.max_errors = 3\n",
			func(c *Config) bool { return c.SMTP.MaxErrors == 3 }},
		{"inline table", "smtp = { ... } is the same table", "smtp = { max_errors = 4, listen = [\":25\"] }\n",
			func(c *Config) bool { return c.SMTP.MaxErrors == 4 && c.SMTP.Listen[0] == ":25" }},
		{"integer size", "a bare integer is a byte count", "[smtp]\nmax_message_size = 1_048_576\n",
			func(c *Config) bool { return c.SMTP.MaxMessageSize == 1<<20 }},
		{"hex integer", "TOML integers may be written in hex", "[smtp]\nmax_errors = 0x10\n",
			func(c *Config) bool { return c.SMTP.MaxErrors == 16 }},
		{"size with space and case", "units are case-insensitive and may follow a space", "[local]\nquota = \"2 gib\"\n",
			func(c *Config) bool { return c.Local.Quota == 2<<30 }},
		{"duration in days", "5d is five days", "[smtp]\ndata_timeout = \"5d\"\n",
			func(c *Config) bool { return c.SMTP.DataTimeout.D() == 5*24*time.Hour }},
		{"domains follow hostname", "local.domains defaults to the configured hostname, lower-cased",
			"hostname = \"MX.Example.Test\"\n",
			func(c *Config) bool {
				return c.Hostname == "MX.Example.Test" && reflect.DeepEqual(c.Local.Domains, []string{"mx.example.test", "localhost"})
			}},
		{"domains lower-cased", "domains compare without case; consumers get them lower-case",
			"[local]\ndomains = [\"Example.TEST\"]\n",
			func(c *Config) bool { return reflect.DeepEqual(c.Local.Domains, []string{"example.test"}) }},
		{"empty lists", "no local domains and no relay networks is a valid pure-MX setup",
			"[local]\ndomains = []\n[relay]\nnetworks = []\n",
			func(c *Config) bool { return len(c.Local.Domains) == 0 && len(c.Relay.Networks) == 0 }},
		{"http off", `"" turns the HTTP listener off`, "[http]\nlisten = \"\"\n",
			func(c *Config) bool { return c.HTTP.Listen == "" }},
		{"CRLF line ends", "files edited on Windows load the same", "[smtp]\r\nmax_errors = 7\r\n",
			func(c *Config) bool { return c.SMTP.MaxErrors == 7 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inDir(t)
			writeFile(t, "hikyaku.toml", tc.file)
			c, err := Load("hikyaku.toml")
			if err != nil {
				t.Fatalf("%v (%s)", err, tc.why)
			}
			if !tc.check(c) {
				t.Errorf("unexpected config %+v (%s)", *c, tc.why)
			}
		})
	}
}

func TestLoadEnv(t *testing.T) {
	inDir(t)
	writeFile(t, "flag.toml", "[smtp]\nmax_errors = 1\n")
	writeFile(t, "env.toml", "[smtp]\nmax_errors = 2\n")

	t.Setenv(EnvConfig, "")
	c, err := LoadEnv("")
	if err != nil {
		t.Fatal(err)
	}
	if d := Defaults(); c.File != "" || !reflect.DeepEqual(*c, d) {
		t.Errorf("no flag, no env: got %+v, want the defaults", *c)
	}

	t.Setenv(EnvConfig, "env.toml")
	if c, err := LoadEnv(""); err != nil || c.SMTP.MaxErrors != 2 || c.File != "env.toml" {
		t.Errorf("env: got %+v, %v; want env.toml loaded", c, err)
	}
	if c, err := LoadEnv("flag.toml"); err != nil || c.SMTP.MaxErrors != 1 || c.File != "flag.toml" {
		t.Errorf("flag and env: got %+v, %v; want the flag to win", c, err)
	}
	t.Setenv(EnvConfig, "missing.toml")
	if _, err := LoadEnv(""); asError(t, err).Code != -4 {
		t.Errorf("env names a missing file: got %v, want -4", err)
	}
}

func TestDefaults(t *testing.T) {
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	host, err := os.Hostname()
	if err != nil || checkDomain(host) != nil {
		host = "localhost"
	}
	if d.Hostname != host {
		t.Errorf("hostname %q, want %q", d.Hostname, host)
	}
	if d.Local.Domains[0] != strings.ToLower(host) || d.Local.Domains[len(d.Local.Domains)-1] != "localhost" {
		t.Errorf("local.domains %q, want [hostname, localhost]", d.Local.Domains)
	}
	if d.SMTP.CommandTimeout.D() != 5*time.Minute || d.SMTP.MaxMessageSize != 25<<20 || d.SMTP.MinFreeSpace != 64<<20 {
		t.Errorf("defaults drifted: %+v", d.SMTP)
	}
	// Defaults returns fresh slices: a caller changing one must not change the next.
	d.SMTP.Listen[0] = "changed"
	if Defaults().SMTP.Listen[0] == "changed" {
		t.Error("Defaults shares slices between calls")
	}
}
