// Package config owns hikyaku's configuration: one TOML file, every key
// with a default and a line of documentation, read strictly. An unknown key,
// a bad value or an unreadable file is an error that names file, line and
// key, and carries the system code of SPEC §4.4 (-4, -5, -6, -7).
package config

import "time"

// Config is the whole configuration. Field tags name the TOML keys; the
// documentation and default of each key live in keys.go (the one place).
type Config struct {
	Hostname string `toml:"hostname"`
	DataDir  string `toml:"data_dir"`
	LogLevel string `toml:"log_level"`

	SMTP  SMTP  `toml:"smtp"`
	Local Local `toml:"local"`
	Relay Relay `toml:"relay"`
	HTTP  HTTP  `toml:"http"`

	// File is where the configuration came from ("" for embedded defaults).
	File string `toml:"-"`
}

// SMTP configures the receiver.
type SMTP struct {
	Listen           []string `toml:"listen"`
	MaxRecipients    int      `toml:"max_recipients"`
	MaxMessageSize   Size     `toml:"max_message_size"`
	MaxReceived      int      `toml:"max_received"`
	MaxSessions      int      `toml:"max_sessions"`
	MaxSessionsPerIP int      `toml:"max_sessions_per_ip"`
	MaxErrors        int      `toml:"max_errors"`
	CommandTimeout   Duration `toml:"command_timeout"`
	DataTimeout      Duration `toml:"data_timeout"`
	HeloOnce         bool     `toml:"helo_once"`
	VRFY             string   `toml:"vrfy"`    // "privacy" | "on" | "off"
	EXPN             bool     `toml:"expn"`    // list expansion
	BareLF           string   `toml:"bare_lf"` // "reject" | "normalize"
	MinFreeSpace     Size     `toml:"min_free_space"`
}

// Local configures local delivery.
type Local struct {
	Domains        []string `toml:"domains"`
	Quota          Size     `toml:"quota"` // per mailbox; 0 = unlimited
	QuotaPermanent bool     `toml:"quota_permanent"`
}

// Relay configures who may relay.
type Relay struct {
	Networks []string `toml:"networks"`
}

// HTTP configures the metrics listener.
type HTTP struct {
	Listen string `toml:"listen"` // "" disables
}

// Size is a byte count written as a number or with a unit ("25MiB", "10MB").
type Size int64

// Duration is a Go duration string ("5m", "120h").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
