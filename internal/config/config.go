package config

import (
	"os"
	"strings"
	"time"
)

// Config is the whole configuration. Field tags name the TOML keys; each
// key's documentation lives in keys.go (the one place), its default in
// Defaults, its range check in Validate. A struct-typed field is a table.
type Config struct {
	Hostname string `toml:"hostname"`
	DataDir  string `toml:"data_dir"`
	LogLevel string `toml:"log_level"`

	SMTP  SMTP  `toml:"smtp"`
	Local Local `toml:"local"`
	Relay Relay `toml:"relay"`
	TLS   TLS   `toml:"tls"`
	Auth  Auth  `toml:"auth"`

	Policy Policy `toml:"policy"`
	SPF    SPF    `toml:"spf"`
	DKIM   DKIM   `toml:"dkim"`
	Filter Filter `toml:"filter"`

	HTTP HTTP `toml:"http"`

	Delivery Delivery `toml:"delivery"`
	Store    Store    `toml:"store"`
	Campaign Campaign `toml:"campaign"`
	Bounce   Bounce   `toml:"bounce"`

	// File is where the configuration came from ("" for embedded defaults).
	File string `toml:"-"`
}

// SMTP configures the receiver.
type SMTP struct {
	Listen            []string `toml:"listen"`
	SubmissionListen  []string `toml:"submission_listen"`  // 587 style: STARTTLS, then AUTH
	SubmissionsListen []string `toml:"submissions_listen"` // 465 style: implicit TLS (RFC 8314)
	MaxRecipients     int      `toml:"max_recipients"`
	MaxMessageSize    Size     `toml:"max_message_size"`
	MaxReceived       int      `toml:"max_received"`
	MaxSessions       int      `toml:"max_sessions"`
	MaxSessionsPerIP  int      `toml:"max_sessions_per_ip"`
	MaxErrors         int      `toml:"max_errors"`
	CommandTimeout    Duration `toml:"command_timeout"`
	DataTimeout       Duration `toml:"data_timeout"`
	HeloOnce          bool     `toml:"helo_once"`
	VRFY              string   `toml:"vrfy"`    // "privacy" | "on" | "off"
	EXPN              bool     `toml:"expn"`    // list expansion
	BareLF            string   `toml:"bare_lf"` // "reject" | "normalize"
	MinFreeSpace      Size     `toml:"min_free_space"`
}

// Local configures local delivery.
type Local struct {
	Domains        []string `toml:"domains"`
	Quota          Size     `toml:"quota"` // per mailbox; 0 = unlimited
	QuotaPermanent bool     `toml:"quota_permanent"`
	Sync           string   `toml:"sync"`
}

// Relay configures who may relay.
type Relay struct {
	Networks []string `toml:"networks"`
}

// TLS configures the receiver's certificate.
type TLS struct {
	Enabled  bool   `toml:"enabled"`
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// Policy configures deny/allow lists, DNSBLs and rate limits.
type Policy struct {
	ListsFile            string   `toml:"lists_file"`
	DNSBLZones           []string `toml:"dnsbl_zones"`
	ConnectionsPerMinute int      `toml:"connections_per_minute"`
	MessagesPerMinute    int      `toml:"messages_per_minute"`
}

// SPF configures the SPF check of MAIL FROM and what each result does.
type SPF struct {
	Check     bool   `toml:"check"`
	Fail      string `toml:"fail"`
	SoftFail  string `toml:"softfail"`
	TempError string `toml:"temperror"`
	PermError string `toml:"permerror"`
}

// DKIM configures verification of incoming signatures.
type DKIM struct {
	Verify bool `toml:"verify"`
}

// Filter configures the content-filter hook.
type Filter struct {
	Command  string   `toml:"command"`
	Socket   string   `toml:"socket"`
	Timeout  Duration `toml:"timeout"`
	FailOpen bool     `toml:"fail_open"`
}

// Auth configures SMTP AUTH and submission.
type Auth struct {
	OnMX            bool     `toml:"on_mx"`
	AllowPlaintext  bool     `toml:"allow_plaintext"`
	CRAMMD5         bool     `toml:"cram_md5"`
	SCRAMIterations int      `toml:"scram_iterations"`
	SenderMustMatch bool     `toml:"sender_must_match"`
	MaxFailures     int      `toml:"max_failures"`
	FailureWindow   Duration `toml:"failure_window"`
	FailureDelay    Duration `toml:"failure_delay"`
}

// HTTP configures the metrics listener.
type HTTP struct {
	Listen string `toml:"listen"` // "" disables
	// Admins and Token are the dashboard's logins when Listen is not a
	// loopback address (internal/web).
	Admins []string `toml:"admins"`
	Token  string   `toml:"token"`
}

// Delivery configures the delivery engine: the relay queue and `send`.
type Delivery struct {
	DNSServers         []string `toml:"dns_servers"`
	SMTPPort           int      `toml:"smtp_port"`
	LoopAddresses      []string `toml:"loop_addresses"`
	HeloName           string   `toml:"helo_name"`
	Timeout            Duration `toml:"timeout"`
	ConnectTimeout     Duration `toml:"connect_timeout"`
	GreetingTimeout    Duration `toml:"greeting_timeout"`
	HeloTimeout        Duration `toml:"helo_timeout"`
	MailTimeout        Duration `toml:"mail_timeout"`
	RcptTimeout        Duration `toml:"rcpt_timeout"`
	DataTimeout        Duration `toml:"data_timeout"`
	BlockTimeout       Duration `toml:"block_timeout"`
	DotTimeout         Duration `toml:"dot_timeout"`
	RsetTimeout        Duration `toml:"rset_timeout"`
	QuitTimeout        Duration `toml:"quit_timeout"`
	RatePerDomain      int      `toml:"rate_per_domain"`
	Lifetime           Duration `toml:"lifetime"`
	RetryMin           Duration `toml:"retry_min"`
	RetryMax           Duration `toml:"retry_max"`
	Concurrency        int      `toml:"concurrency"`
	PerHost            int      `toml:"per_host"`
	MessagesPerConn    int      `toml:"messages_per_connection"`
	IdleTimeout        Duration `toml:"idle_timeout"`
	StartTLS           string   `toml:"starttls"`
	RequireTLS         []string `toml:"require_tls"`
	ResendAfterDotLoss bool     `toml:"resend_after_dot_loss"`
	DelayWarning       Duration `toml:"delay_warning"`
}

// Store configures the status store of campaigns.
type Store struct {
	DSN string `toml:"dsn"` // "" = embedded SQLite under data_dir
}

// Campaign configures bulk campaigns (`hikyaku campaign run|worker`).
type Campaign struct {
	Concurrency           int      `toml:"concurrency"`
	Batch                 int      `toml:"batch"`
	Lease                 Duration `toml:"lease"`
	Lifetime              Duration `toml:"lifetime"`
	RetryMin              Duration `toml:"retry_min"`
	RetryMax              Duration `toml:"retry_max"`
	Rate                  int      `toml:"rate"`
	Threshold             string   `toml:"threshold"`
	Weights               []string `toml:"weights"`
	StopWindow            int      `toml:"stop_window"`
	StopPercent           int      `toml:"stop_percent"`
	ReplyRules            string   `toml:"reply_rules"`
	ReturnPathDomain      string   `toml:"return_path_domain"`
	ListUnsubscribe       string   `toml:"list_unsubscribe"`
	ListUnsubscribeMailto string   `toml:"list_unsubscribe_mailto"`
	Charset               string   `toml:"charset"`
	MobileISO2022JP       bool     `toml:"mobile_iso2022jp"`
	ResendInDoubt         bool     `toml:"resend_in_doubt"`
}

// Bounce configures the intake of bounces and complaints by serve and
// `hikyaku bounce import` (issue 12).
type Bounce struct {
	ComplaintAddresses []string `toml:"complaint_addresses"`
	Rules              string   `toml:"rules"`
	VERPSecretFile     string   `toml:"verp_secret_file"`
	Retry              Duration `toml:"retry"`
}

// Size is a byte count written as a number or with a unit ("25MiB", "10MB").
type Size int64

// Duration is a Go duration string ("5m", "120h"), optionally led by days
// ("5d", "1d12h").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Defaults returns the configuration used when no file is given, and the
// base a file is laid over. Keys() documents the same values; a test keeps
// the two in step.
func Defaults() Config {
	host := defaultHostname()
	return Config{
		Hostname: host,
		DataDir:  "./hikyaku-data",
		LogLevel: "info",
		SMTP: SMTP{
			Listen:            []string{"127.0.0.1:2525"},
			SubmissionListen:  []string{},
			SubmissionsListen: []string{},
			MaxRecipients:     100, // RFC 5321 §4.5.3.1.8: at least 100
			MaxMessageSize:    25 << 20,
			MaxReceived:       100, // RFC 5321 §6.3
			MaxSessions:       1000,
			MaxSessionsPerIP:  20,
			MaxErrors:         10,
			CommandTimeout:    Duration(5 * time.Minute), // RFC 5321 §4.5.3.2.7
			DataTimeout:       Duration(10 * time.Minute),
			VRFY:              "privacy", // RFC 5321 §7.3
			BareLF:            "reject",
			MinFreeSpace:      64 << 20,
		},
		Local: Local{Domains: defaultDomains(host), Sync: "syncfs"},
		Relay: Relay{Networks: []string{"127.0.0.0/8", "::1/128"}},
		TLS:   TLS{Enabled: true},
		Auth: Auth{
			OnMX:            true,
			SCRAMIterations: 16384, // 4 × RFC 7677 §4's minimum
			SenderMustMatch: true,
			MaxFailures:     5,
			FailureWindow:   Duration(10 * time.Minute),
			FailureDelay:    Duration(time.Second),
		},
		HTTP:   HTTP{Listen: "127.0.0.1:8025", Admins: []string{}},
		Policy: Policy{DNSBLZones: []string{}},
		SPF:    SPF{Check: true, Fail: "reject", SoftFail: "accept", TempError: "tempfail", PermError: "reject"},
		DKIM:   DKIM{Verify: true},
		Filter: Filter{Timeout: Duration(time.Minute)},
		Delivery: Delivery{
			DNSServers:      []string{},
			LoopAddresses:   []string{},
			RequireTLS:      []string{},
			SMTPPort:        25,
			Timeout:         Duration(5 * time.Minute),  // RFC 5321 §4.5.3.2
			ConnectTimeout:  Duration(30 * time.Second), // Postfix smtp_connect_timeout
			DotTimeout:      Duration(10 * time.Minute), // RFC 5321 §4.5.3.2.6
			Lifetime:        Duration(120 * time.Hour),  // RFC 5321 §4.5.4.1: 4-5 days
			RetryMin:        Duration(5 * time.Minute),
			RetryMax:        Duration(time.Hour),
			Concurrency:     100,
			PerHost:         10,
			MessagesPerConn: 100,
			IdleTimeout:     Duration(5 * time.Second),
			StartTLS:        "opportunistic",
		},
		Campaign: Campaign{
			Concurrency:     50,
			Batch:           100,
			Lease:           Duration(10 * time.Minute),
			Lifetime:        Duration(24 * time.Hour),
			RetryMin:        Duration(5 * time.Minute),
			RetryMax:        Duration(time.Hour),
			Threshold:       "1.0",
			Weights:         []string{},
			StopWindow:      200,
			StopPercent:     50,
			Charset:         "UTF-8",
			MobileISO2022JP: true,
		},
		Bounce: Bounce{
			ComplaintAddresses: []string{},
			Retry:              Duration(time.Minute),
		},
	}
}

// defaultHostname is the machine's name when it is one a peer can be told
// in EHLO and Received, else "localhost" so that the defaults always pass
// Validate and `hikyaku serve` starts on any machine.
func defaultHostname() string {
	h, err := os.Hostname()
	if err != nil || checkDomain(h) != nil {
		return "localhost"
	}
	return h
}

// defaultDomains is local.domains when the file does not set it: the
// server's own name and localhost, as Postfix's mydestination.
func defaultDomains(host string) []string {
	host = strings.ToLower(host)
	if host == "localhost" {
		return []string{"localhost"}
	}
	return []string{host, "localhost"}
}
