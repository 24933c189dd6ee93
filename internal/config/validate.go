package config

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/protocol"
)

// Validate checks every value's range and the values against each other.
// It returns the first problem, in Keys() order, as a *codes.SystemError
// with code -7 and a detail that starts with the key; Load adds the file
// and line. It also serves configurations
// built in code (tests, the defaults).
func (c *Config) Validate() error {
	if v := c.validate(); v != nil {
		return v.system("", nil)
	}
	return nil
}

func (c *Config) validate() *invalid {
	if err := checkDomain(c.Hostname); err != nil {
		return bad("hostname", "%v", err)
	}
	if c.DataDir == "" {
		return bad("data_dir", "must not be empty")
	}
	if e := oneOf("log_level", c.LogLevel, "debug", "info", "warn", "error"); e != nil {
		return e
	}

	s := &c.SMTP
	if len(s.Listen)+len(s.SubmissionListen)+len(s.SubmissionsListen) == 0 {
		return bad("smtp.listen", "at least one address is needed")
	}
	var seen []string
	for _, l := range []struct {
		key   string
		addrs []string
	}{
		{"smtp.listen", s.Listen}, {"smtp.submission_listen", s.SubmissionListen}, {"smtp.submissions_listen", s.SubmissionsListen},
	} {
		for _, a := range l.addrs {
			if err := checkListen(a); err != nil {
				return bad(l.key, "%v", err)
			}
			if slices.Contains(seen, a) {
				return bad(l.key, "%q is listed twice among the SMTP listeners", a)
			}
			seen = append(seen, a)
		}
	}
	if v := atLeastOne([]intKey{
		{"smtp.max_recipients", s.MaxRecipients},
		{"smtp.max_received", s.MaxReceived},
		{"smtp.max_sessions", s.MaxSessions},
		{"smtp.max_sessions_per_ip", s.MaxSessionsPerIP},
		{"smtp.max_errors", s.MaxErrors},
	}); v != nil {
		return v
	}
	if s.MaxMessageSize <= 0 {
		return bad("smtp.max_message_size", "must be more than 0, not %d", s.MaxMessageSize)
	}
	if s.MaxSessionsPerIP > s.MaxSessions {
		e := bad("smtp.max_sessions_per_ip", "%d is more than smtp.max_sessions (%d)", s.MaxSessionsPerIP, s.MaxSessions)
		e.also = "smtp.max_sessions"
		return e
	}
	if s.CommandTimeout <= 0 {
		return bad("smtp.command_timeout", "must be more than 0, not %s", s.CommandTimeout)
	}
	if s.DataTimeout <= 0 {
		return bad("smtp.data_timeout", "must be more than 0, not %s", s.DataTimeout)
	}
	if e := oneOf("smtp.vrfy", s.VRFY, "privacy", "on", "off"); e != nil {
		return e
	}
	if e := oneOf("smtp.bare_lf", s.BareLF, "reject", "normalize"); e != nil {
		return e
	}
	if s.MinFreeSpace < 0 {
		return bad("smtp.min_free_space", "must not be negative, not %d", s.MinFreeSpace)
	}

	for _, d := range c.Local.Domains {
		if err := checkDomain(d); err != nil {
			return bad("local.domains", "%v", err)
		}
	}
	if e := oneOf("local.sync", c.Local.Sync, "syncfs", "fsync"); e != nil {
		return e
	}
	if c.Local.Quota < 0 {
		return bad("local.quota", "must not be negative, not %d", c.Local.Quota)
	}

	for _, n := range c.Relay.Networks {
		if _, err := parseNetwork(n); err != nil {
			return bad("relay.networks", "%v", err)
		}
	}

	if e := c.validateTLSAuth(); e != nil {
		return e
	}
	if h := c.HTTP.Listen; h != "" {
		if err := checkListen(h); err != nil {
			return bad("http.listen", "%v", err)
		}
		if slices.Contains(seen, h) {
			e := bad("http.listen", "%q is also an SMTP listener", h)
			e.also = "smtp.listen"
			return e
		}
	}
	if t := c.HTTP.Token; t != "" && len(t) < 16 {
		// A short secret on a listener beyond loopback is guessed.
		return bad("http.token", "is %d characters; at least 16", len(t))
	}
	if e := c.validatePolicy(); e != nil {
		return e
	}
	if e := c.validateDelivery(); e != nil {
		return e
	}
	if e := c.validateCampaign(); e != nil {
		return e
	}
	return c.validateBounce()
}

// validateBounce checks [bounce]: complaint addresses are local@domain.
func (c *Config) validateBounce() *invalid {
	b := c.Bounce
	for _, a := range b.ComplaintAddresses {
		local, dom, ok := protocol.SplitAddress(a)
		if !ok || local == "" || strings.ContainsAny(a, " \t<>\r\n") {
			return bad("bounce.complaint_addresses", "%q is not an address local@domain", a)
		}
		if err := checkDomain(dom); err != nil {
			return bad("bounce.complaint_addresses", "%q: %v", a, err)
		}
	}
	if b.Retry <= 0 {
		return bad("bounce.retry", "must be more than 0, not %s", b.Retry)
	}
	return nil
}

func (c *Config) validatePolicy() *invalid {
	for _, z := range c.Policy.DNSBLZones {
		if err := checkDomain(z); err != nil {
			return bad("policy.dnsbl_zones", "%v", err)
		}
	}
	if c.Policy.ConnectionsPerMinute < 0 {
		return bad("policy.connections_per_minute", "must not be negative, not %d", c.Policy.ConnectionsPerMinute)
	}
	if c.Policy.MessagesPerMinute < 0 {
		return bad("policy.messages_per_minute", "must not be negative, not %d", c.Policy.MessagesPerMinute)
	}
	for _, a := range []struct{ key, v string }{
		{"spf.fail", c.SPF.Fail}, {"spf.softfail", c.SPF.SoftFail},
		{"spf.temperror", c.SPF.TempError}, {"spf.permerror", c.SPF.PermError},
	} {
		if e := oneOf(a.key, a.v, "accept", "tempfail", "reject"); e != nil {
			return e
		}
	}
	if s := c.Filter.Socket; s != "" && !strings.HasPrefix(s, "unix:") && !strings.HasPrefix(s, "tcp:") {
		return bad("filter.socket", "%q must start with unix: or tcp:", s)
	}
	if c.Filter.Command != "" && c.Filter.Socket != "" {
		return bad("filter.socket", "set filter.command or filter.socket, not both")
	}
	if c.Filter.Timeout <= 0 {
		return bad("filter.timeout", "must be more than 0, not %s", c.Filter.Timeout)
	}
	return nil
}

func (c *Config) validateTLSAuth() *invalid {
	t, a := &c.TLS, &c.Auth
	if (t.CertFile == "") != (t.KeyFile == "") {
		if t.CertFile == "" {
			return bad("tls.cert_file", "key_file is set but cert_file is not; set both or neither")
		}
		return bad("tls.key_file", "cert_file is set but key_file is not; set both or neither")
	}
	if len(c.SMTP.SubmissionsListen) > 0 && !t.Enabled {
		e := bad("smtp.submissions_listen", "implicit TLS needs tls.enabled = true")
		e.also = "tls.enabled"
		return e
	}
	if len(c.SMTP.SubmissionListen) > 0 && !t.Enabled && !a.AllowPlaintext {
		e := bad("smtp.submission_listen", "with tls.enabled = false and auth.allow_plaintext = false nobody could ever authenticate here")
		e.also = "tls.enabled"
		return e
	}
	if a.SCRAMIterations < 4096 || a.SCRAMIterations > 10_000_000 {
		return bad("auth.scram_iterations", "must be from 4096 to 10000000, not %d", a.SCRAMIterations)
	}
	if a.MaxFailures < 0 {
		return bad("auth.max_failures", "must not be negative, not %d", a.MaxFailures)
	}
	if a.FailureWindow <= 0 {
		return bad("auth.failure_window", "must be more than 0, not %s", a.FailureWindow)
	}
	if a.FailureDelay < 0 {
		return bad("auth.failure_delay", "must not be negative, not %s", a.FailureDelay)
	}
	return nil
}

func (c *Config) validateDelivery() *invalid {
	d := &c.Delivery
	for _, srv := range d.DNSServers {
		host, _, err := net.SplitHostPort(srv)
		if err == nil {
			_, err = netip.ParseAddr(host)
		}
		if err != nil {
			return bad("delivery.dns_servers", "%q is not IP:port", srv)
		}
	}
	if d.SMTPPort < 1 || d.SMTPPort > 65535 {
		return bad("delivery.smtp_port", "must be from 1 to 65535, not %d", d.SMTPPort)
	}
	for _, n := range d.LoopAddresses {
		if _, err := parseNetwork(n); err != nil {
			return bad("delivery.loop_addresses", "%v", err)
		}
	}
	if d.HeloName != "" {
		if err := checkDomain(d.HeloName); err != nil {
			return bad("delivery.helo_name", "%v", err)
		}
	}
	if v := durations([]durKey{
		{"delivery.timeout", d.Timeout}, {"delivery.connect_timeout", d.ConnectTimeout},
		{"delivery.dot_timeout", d.DotTimeout}, {"delivery.lifetime", d.Lifetime},
		{"delivery.retry_min", d.RetryMin}, {"delivery.retry_max", d.RetryMax},
		{"delivery.idle_timeout", d.IdleTimeout},
	}, false); v != nil {
		return v
	}
	if v := retryRange("delivery", d.RetryMin, d.RetryMax); v != nil {
		return v
	}
	if v := durations([]durKey{
		{"delivery.greeting_timeout", d.GreetingTimeout}, {"delivery.helo_timeout", d.HeloTimeout},
		{"delivery.mail_timeout", d.MailTimeout}, {"delivery.rcpt_timeout", d.RcptTimeout},
		{"delivery.data_timeout", d.DataTimeout}, {"delivery.block_timeout", d.BlockTimeout},
		{"delivery.rset_timeout", d.RsetTimeout}, {"delivery.quit_timeout", d.QuitTimeout},
	}, true); v != nil {
		return v
	}
	if d.RatePerDomain < 0 {
		return bad("delivery.rate_per_domain", "must not be negative, not %d", d.RatePerDomain)
	}
	if d.DelayWarning < 0 {
		return bad("delivery.delay_warning", "must not be negative, not %s", d.DelayWarning)
	}
	if v := atLeastOne([]intKey{
		{"delivery.concurrency", d.Concurrency}, {"delivery.per_host", d.PerHost},
		{"delivery.messages_per_connection", d.MessagesPerConn},
	}); v != nil {
		return v
	}
	if e := oneOf("delivery.starttls", d.StartTLS, "opportunistic", "off"); e != nil {
		return e
	}
	for _, dom := range d.RequireTLS {
		if err := checkDomain(dom); err != nil {
			return bad("delivery.require_tls", "%v", err)
		}
	}
	return nil
}

// LoopNets returns delivery.loop_addresses parsed.
func (c *Config) LoopNets() []netip.Prefix {
	var out []netip.Prefix
	for _, n := range c.Delivery.LoopAddresses {
		if p, err := parseNetwork(n); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// intKey and durKey are settings with their keys, for one check over
// several.
type (
	intKey struct {
		key string
		v   int
	}
	durKey struct {
		key string
		v   Duration
	}
)

// atLeastOne refuses the first count below 1.
func atLeastOne(ns []intKey) *invalid {
	for _, n := range ns {
		if n.v < 1 {
			return bad(n.key, "must be at least 1, not %d", n.v)
		}
	}
	return nil
}

// durations refuses the first duration below 0, or at 0 unless zeroOK.
func durations(ds []durKey, zeroOK bool) *invalid {
	for _, d := range ds {
		switch {
		case zeroOK && d.v < 0:
			return bad(d.key, "must not be negative, not %s", d.v)
		case !zeroOK && d.v <= 0:
			return bad(d.key, "must be more than 0, not %s", d.v)
		}
	}
	return nil
}

// retryRange refuses a table's retry_max below its retry_min; the line is
// retry_min's when the file sets only that.
func retryRange(table string, min, max Duration) *invalid {
	if max >= min {
		return nil
	}
	e := bad(table+".retry_max", "%s is less than %s.retry_min (%s)", max, table, min)
	e.also = table + ".retry_min"
	return e
}

func bad(key, format string, args ...any) *invalid {
	return &invalid{key: key, msg: oneLine(fmt.Sprintf(format, args...))}
}

func oneOf(key, v string, allowed ...string) *invalid {
	if slices.Contains(allowed, v) {
		return nil
	}
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = fmt.Sprintf("%q", a)
	}
	return bad(key, "%q is not one of %s", v, joinOr(q))
}

func joinOr(q []string) string {
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// RelayNets returns relay.networks parsed. Entries Validate would refuse are
// left out, so an unvalidated configuration grants less, never more. The
// caller should Unmap() a client address first: "::ffff:127.0.0.1" is not
// in 127.0.0.0/8.
func (c *Config) RelayNets() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(c.Relay.Networks))
	for _, n := range c.Relay.Networks {
		if p, err := parseNetwork(n); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// Warnings lists settings that are valid but depart from an RFC or are
// risky, one line each, for `hikyaku serve` to log at start.
func (c *Config) Warnings() []string {
	var w []string
	if c.SMTP.MaxRecipients < 100 {
		w = append(w, fmt.Sprintf("smtp.max_recipients = %d is below the 100 that RFC 5321 §4.5.3.1.8 asks servers to accept", c.SMTP.MaxRecipients))
	}
	if c.SMTP.VRFY == "off" {
		w = append(w, `smtp.vrfy = "off" answers VRFY with 502; RFC 5321 §7.3 asks for 252`)
	}
	if c.Auth.AllowPlaintext {
		w = append(w, "auth.allow_plaintext = true: passwords may cross the network unencrypted")
	}
	for _, p := range c.RelayNets() {
		if p.Bits() == 0 {
			w = append(w, fmt.Sprintf("relay.networks holds %s: this server is an open relay", p))
		}
	}
	return w
}

func (c *Config) validateCampaign() *invalid {
	k := &c.Campaign
	if c.Store.DSN != "" && !strings.HasPrefix(c.Store.DSN, "sqlite:") && !strings.HasPrefix(c.Store.DSN, "mysql://") && !strings.Contains(c.Store.DSN, "@tcp(") {
		return bad("store.dsn", "is neither sqlite:PATH nor mysql://… nor user:password@tcp(host:port)/database")
	}
	if v := atLeastOne([]intKey{{"campaign.concurrency", k.Concurrency}, {"campaign.batch", k.Batch}}); v != nil {
		return v
	}
	if v := durations([]durKey{{"campaign.lease", k.Lease}, {"campaign.lifetime", k.Lifetime}, {"campaign.retry_min", k.RetryMin}, {"campaign.retry_max", k.RetryMax}}, false); v != nil {
		return v
	}
	if v := retryRange("campaign", k.RetryMin, k.RetryMax); v != nil {
		return v
	}
	if k.Rate < 0 {
		return bad("campaign.rate", "must not be negative, not %d", k.Rate)
	}
	if t, err := codes.ParseTenths(k.Threshold); err != nil || t <= 0 {
		return bad("campaign.threshold", "%q is not a positive decimal such as 1.0", k.Threshold)
	}
	if _, err := c.CampaignWeights(); err != nil {
		return bad("campaign.weights", "%v", err)
	}
	if k.StopWindow < 0 {
		return bad("campaign.stop_window", "must not be negative, not %d", k.StopWindow)
	}
	if k.StopPercent < 1 || k.StopPercent > 100 {
		return bad("campaign.stop_percent", "must be from 1 to 100, not %d", k.StopPercent)
	}
	if k.ReturnPathDomain != "" {
		if err := checkDomain(k.ReturnPathDomain); err != nil {
			return bad("campaign.return_path_domain", "%v", err)
		}
	}
	return oneOf("campaign.charset", strings.ToUpper(k.Charset), "UTF-8", "ISO-2022-JP")
}

// CampaignThreshold returns campaign.threshold in tenths (valid after
// Validate).
func (c *Config) CampaignThreshold() codes.Tenths {
	t, _ := codes.ParseTenths(c.Campaign.Threshold)
	return t
}

// CampaignWeights returns campaign.weights as code → weight.
func (c *Config) CampaignWeights() (map[int]codes.Tenths, error) {
	out := make(map[int]codes.Tenths, len(c.Campaign.Weights))
	for _, w := range c.Campaign.Weights {
		code, weight, ok := strings.Cut(w, "=")
		n, err := strconv.Atoi(strings.TrimSpace(code))
		if !ok || err != nil {
			return nil, fmt.Errorf("%q is not CODE=WEIGHT", w)
		}
		t, err := codes.ParseTenths(strings.TrimSpace(weight))
		if err != nil || t < 0 {
			return nil, fmt.Errorf("%q: weight is not a decimal such as 0.5", w)
		}
		out[n] = t
	}
	return out, nil
}
