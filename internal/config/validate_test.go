package config

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		why    string
		change func(c *Config)
		key    string // "" when valid
	}{
		{"defaults", "the defaults must always start", func(c *Config) {}, ""},
		{"empty data_dir", "the spool needs a place", func(c *Config) { c.DataDir = "" }, "data_dir"},
		{"no listener", "a receiver with no socket is a mistake", func(c *Config) { c.SMTP.Listen = nil }, "smtp.listen"},
		{"listener twice", "the second bind would fail at start", func(c *Config) { c.SMTP.Listen = []string{":25", ":25"} }, "smtp.listen"},
		{"max_recipients 1", "1 to 99 is allowed (with a warning)", func(c *Config) { c.SMTP.MaxRecipients = 1 }, ""},
		{"max_received 0", "every message would be a loop", func(c *Config) { c.SMTP.MaxReceived = 0 }, "smtp.max_received"},
		{"max_errors 0", "the first error would hang up", func(c *Config) { c.SMTP.MaxErrors = 0 }, "smtp.max_errors"},
		{"per-IP equal to total", "the bound is inclusive", func(c *Config) { c.SMTP.MaxSessionsPerIP = c.SMTP.MaxSessions }, ""},
		{"per-IP above total", "contradictory limits hint at a typo", func(c *Config) { c.SMTP.MaxSessionsPerIP = c.SMTP.MaxSessions + 1 }, "smtp.max_sessions_per_ip"},
		{"negative min_free_space", "no space is negative", func(c *Config) { c.SMTP.MinFreeSpace = -1 }, "smtp.min_free_space"},
		{"min_free_space 0", "0 turns the check off", func(c *Config) { c.SMTP.MinFreeSpace = 0 }, ""},
		{"negative data timeout", "set in code, not parsed", func(c *Config) { c.SMTP.DataTimeout = -1 }, "smtp.data_timeout"},
		{"vrfy off", "valid, with a warning", func(c *Config) { c.SMTP.VRFY = "off" }, ""},
		{"vrfy upper case", "values are exact", func(c *Config) { c.SMTP.VRFY = "On" }, "smtp.vrfy"},
		{"bare_lf normalize", "the documented deviation is allowed", func(c *Config) { c.SMTP.BareLF = "normalize" }, ""},
		{"bad network", "checked in code-built configs too", func(c *Config) { c.Relay.Networks = []string{"10/8"} }, "relay.networks"},
		{"open relay", "valid, with a warning", func(c *Config) { c.Relay.Networks = []string{"0.0.0.0/0"} }, ""},
		{"http off", `"" is allowed`, func(c *Config) { c.HTTP.Listen = "" }, ""},
		{"bad http", "checked like smtp.listen", func(c *Config) { c.HTTP.Listen = "8025" }, "http.listen"},
		{"bad local domain", "domains are host names", func(c *Config) { c.Local.Domains = []string{"[127.0.0.1]"} }, "local.domains"},
		{"negative quota", "no quota is negative", func(c *Config) { c.Local.Quota = -1 }, "local.quota"},
		{"submission only", "a submission-only server needs no MX listener", func(c *Config) { c.SMTP.Listen = nil; c.SMTP.SubmissionListen = []string{":587"} }, ""},
		{"same address on two listeners", "the second bind would fail at start",
			func(c *Config) { c.SMTP.SubmissionsListen = []string{"127.0.0.1:2525"} }, "smtp.submissions_listen"},
		{"http on a submission address", "two listeners on one socket",
			func(c *Config) { c.SMTP.SubmissionListen = []string{"127.0.0.1:8025"} }, "http.listen"},
		{"cert without key", "a certificate is useless without its key", func(c *Config) { c.TLS.CertFile = "c.pem" }, "tls.key_file"},
		{"key without cert", "and the other way round", func(c *Config) { c.TLS.KeyFile = "k.pem" }, "tls.cert_file"},
		{"implicit TLS without TLS", "port 465 is nothing but TLS",
			func(c *Config) { c.TLS.Enabled = false; c.SMTP.SubmissionsListen = []string{":465"} }, "smtp.submissions_listen"},
		{"submission without TLS", "nobody could authenticate",
			func(c *Config) { c.TLS.Enabled = false; c.SMTP.SubmissionListen = []string{":587"} }, "smtp.submission_listen"},
		{"submission in clear, allowed", "allow_plaintext makes it usable (tests on loopback)",
			func(c *Config) {
				c.TLS.Enabled = false
				c.Auth.AllowPlaintext = true
				c.SMTP.SubmissionListen = []string{":587"}
			}, ""},
		{"scram iterations low", "RFC 7677 §4 asks for at least 4096", func(c *Config) { c.Auth.SCRAMIterations = 1000 }, "auth.scram_iterations"},
		{"max_failures 0", "0 turns the throttle off", func(c *Config) { c.Auth.MaxFailures = 0 }, ""},
		{"failure window 0", "a window of nothing remembers nothing", func(c *Config) { c.Auth.FailureWindow = 0 }, "auth.failure_window"},
		{"negative failure delay", "set in code, not parsed", func(c *Config) { c.Auth.FailureDelay = -1 }, "auth.failure_delay"},
		{"first problem wins", "errors come in Keys() order: hostname before smtp",
			func(c *Config) { c.SMTP.VRFY = "x"; c.Hostname = "" }, "hostname"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			tc.change(&c)
			err := c.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatalf("got %v; want valid (%s)", err, tc.why)
				}
				return
			}
			e := asError(t, err)
			if e.Code != -7 || keyOf(e) != tc.key || e.File != "" || e.Line != 0 {
				t.Fatalf("got %+v; want -7 for %s with no file or line (%s)", e, tc.key, tc.why)
			}
		})
	}
}

func TestValidateNilError(t *testing.T) {
	// Validate must return a nil interface, not a nil *Error, or `err != nil`
	// would be true for a valid configuration.
	c := Defaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("got %#v", err)
	}
}

func TestRelayNets(t *testing.T) {
	c := Defaults()
	c.Relay.Networks = []string{"127.0.0.0/8", "192.0.2.9", "bogus", "10.9.9.9/8"}
	got := c.RelayNets()
	want := []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("192.0.2.9/32"),
		netip.MustParsePrefix("10.0.0.0/8"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v (invalid entries dropped, never widened)", got, want)
	}
	d := Defaults()
	if !d.RelayNets()[1].Contains(netip.MustParseAddr("::1")) {
		t.Error("default relay networks do not hold ::1")
	}
}

func TestWarnings(t *testing.T) {
	c := Defaults()
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("defaults warn: %q", w)
	}
	c.SMTP.MaxRecipients = 10
	c.SMTP.VRFY = "off"
	c.Relay.Networks = []string{"::/0"}
	w := c.Warnings()
	if len(w) != 3 || !strings.Contains(w[0], "4.5.3.1.8") || !strings.Contains(w[1], "§7.3") || !strings.Contains(w[2], "open relay") {
		t.Errorf("got %q; want max_recipients, vrfy and open-relay warnings", w)
	}
}

func TestErrorText(t *testing.T) {
	inDir(t)
	writeFile(t, "hikyaku.toml", "hostname = \"mx.example.test\"\n\"smtp.listen\" = []\n")
	_, err := Load("hikyaku.toml")
	e := asError(t, err)
	// The fixed part of a detail reads in Japanese; key and file stay.
	if want := `-6 設定ファイル不明キーワードエラー: "smtp.listen": 引用符で囲むと一つの名前になる。引用符なしで書くこと (hikyaku.toml 2行目)`; e.Text("ja") != want {
		t.Errorf("Japanese\n got %s\nwant %s", e.Text("ja"), want)
	}
	c := Defaults()
	c.SMTP.VRFY = "x"
	if want := `-7 Invalid value in the configuration file: smtp.vrfy: "x" is not one of "privacy", "on" or "off"`; fmt.Sprint(c.Validate()) != want {
		t.Errorf("got  %s\nwant %s", c.Validate(), want)
	}
}
