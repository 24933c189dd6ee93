package config

// Key documents one configuration key. Keys() is the one place where every
// key is described; docs/config.md and docs/hikyaku.example.toml are
// rendered from it, and a test fails when a Config field has no entry here
// or an entry names no field.
type Key struct {
	Name    string // dotted: "smtp.max_recipients"
	Type    string // one of the type names in typeNames
	Default string // as written in TOML ("100", "\"25MiB\""), or "(...)" when it depends on the machine
	Doc     string // what it does, what the limits are, which RFC says so

	// Example is the value the example file shows when Default is not a
	// TOML value; "" means use Default.
	Example string
}

// Type names used in Key.Type, one per kind of Go field the decoder fills.
const (
	TypeString  = "string"
	TypeBool    = "boolean"
	TypeInt     = "integer"
	TypeSize    = "size"
	TypeDur     = "duration"
	TypeStrings = "list of strings"
)

// Keys returns every key in file order: top-level keys first, then each
// table in the order of the Config struct.
//
// To add a setting: add the field with its toml tag to the struct in
// config.go, its default to Defaults, an entry here, any range check to
// Validate, then run `go test ./internal/config -update` to refresh the docs.
func Keys() []Key { return append([]Key(nil), keys...) }

var keys = []Key{
	{Name: "hostname", Type: TypeString, Default: `(this machine's host name, else "localhost")`, Example: `"mx.example.test"`,
		Doc: `Name this server gives itself: in the 220 greeting, the EHLO reply and the Received fields it writes. ` +
			`An ASCII domain name (internationalized names as A-labels, "xn--..."). ` +
			`The default is "localhost" when the machine's name is unset or not a valid domain name.`},
	{Name: "data_dir", Type: TypeString, Default: `"./hikyaku-data"`,
		Doc: `Directory holding the spool, the queue and the embedded status store. A relative path is taken from the working directory.`},
	{Name: "log_level", Type: TypeString, Default: `"info"`,
		Doc: `Least severe level written to the debug log: "debug", "info", "warn" or "error".`},

	{Name: "smtp.listen", Type: TypeStrings, Default: `["127.0.0.1:2525"]`,
		Doc: `Addresses the SMTP receiver listens on, each host:port. The host is an IP address ("[::1]:25") or empty for every address (":25"); host names are refused so that no resolver is asked. Port 0 picks a free port.`},
	{Name: "smtp.submission_listen", Type: TypeStrings, Default: "[]",
		Doc: `Message submission listeners (RFC 6409, port 587 style), host:port as for smtp.listen. Clients must use STARTTLS (530 5.7.0 until they do, unless auth.allow_plaintext) and AUTH (530 5.7.0 authentication required) before MAIL; an authenticated user may send to any domain, as its own address only (auth.sender_must_match); Date and Message-ID are added when missing (RFC 6409 §8). Needs tls.enabled or auth.allow_plaintext.`},
	{Name: "smtp.submissions_listen", Type: TypeStrings, Default: "[]",
		Doc: `Submission listeners with implicit TLS (RFC 8314 §3.3, port 465 style): the TLS handshake comes first, then the same rules as smtp.submission_listen. Needs tls.enabled.`},
	{Name: "smtp.max_recipients", Type: TypeInt, Default: "100",
		Doc: `Recipients accepted in one transaction; the next RCPT is answered 452 4.5.3 and the client sends the rest in a new transaction (RFC 5321 §4.5.3.1.10). ` +
			`RFC 5321 §4.5.3.1.8 asks servers to accept at least 100: values from 1 to 99 are allowed, for testing and for hosts that want fewer, and are reported as a warning at start.`},
	{Name: "smtp.max_message_size", Type: TypeSize, Default: `"25MiB"`,
		Doc: `Largest message accepted, advertised in the EHLO reply as SIZE (RFC 1870). A larger declared SIZE or a larger message is refused with 552 5.3.4. Must be more than 0.`},
	{Name: "smtp.max_received", Type: TypeInt, Default: "100",
		Doc: `Received header fields a message may carry; one more and it is refused with 554 5.4.6 as a mail loop (RFC 5321 §6.3). At least 1.`},
	{Name: "smtp.max_sessions", Type: TypeInt, Default: "1000",
		Doc: `SMTP sessions open at once; a connection beyond that is answered 421 4.7.0 and closed. At least 1.`},
	{Name: "smtp.max_sessions_per_ip", Type: TypeInt, Default: "20",
		Doc: `SMTP sessions open at once from one client IP address; beyond that, 421 4.7.0 and close. At least 1 and at most max_sessions.`},
	{Name: "smtp.max_errors", Type: TypeInt, Default: "10",
		Doc: `Failed commands (unknown, out of sequence, bad syntax) one session may send; the next error is answered 421 and the connection closed. At least 1.`},
	{Name: "smtp.command_timeout", Type: TypeDur, Default: `"5m"`,
		Doc: `How long the receiver waits for the next command line before answering 421 4.4.2 and closing. RFC 5321 §4.5.3.2.7 asks for at least 5 minutes. More than 0.`},
	{Name: "smtp.data_timeout", Type: TypeDur, Default: `"10m"`,
		Doc: `How long the receiver waits for more message content during DATA or BDAT before answering 421 4.4.2 and closing (the client waits 10 minutes for our reply to the final dot, RFC 5321 §4.5.3.2.6). More than 0.`},
	{Name: "smtp.helo_once", Type: TypeBool, Default: "false",
		Doc: `false: a second HELO/EHLO is accepted and resets the transaction (RFC 5321 §4.1.4). true: it is answered 503 5.5.1, as the seed-002 receiver does. The EHLO after STARTTLS is always accepted.`},
	{Name: "smtp.vrfy", Type: TypeString, Default: `"privacy"`,
		Doc: `"privacy": VRFY is answered 252 2.5.0, cannot verify but will accept (RFC 5321 §7.3). "on": 250 2.1.5 with the user's name and address, or 550 5.1.1. "off": 502 5.5.1 (seed-002 behaviour; RFC 5321 §7.3 asks for 252, so this is reported as a warning).`},
	{Name: "smtp.expn", Type: TypeBool, Default: "false",
		Doc: `true: EXPN of a local list answers its members, one 250- line each, and 550 5.1.1 for an unknown list. false: 502 5.5.1. Off by default because it hands out addresses to whoever asks (RFC 5321 §7.3).`},
	{Name: "smtp.bare_lf", Type: TypeString, Default: `"reject"`,
		Doc: `What to do with a message whose content holds a bare CR or LF. "reject": answer 554 5.6.0 after the final dot and store nothing. "normalize": store bare LF as CRLF (Postfix 3.9's choice, a deviation from RFC 5321 §2.3.8). Either way only CRLF.CRLF ends DATA, which stops SMTP smuggling.`},
	{Name: "smtp.min_free_space", Type: TypeSize, Default: `"64MiB"`,
		Doc: `Space on the data_dir file system kept free. A MAIL whose SIZE would leave less than this, or any message while less than this is free, is answered 452 4.3.1 (RFC 1870). 0 turns the check off.`},

	{Name: "local.domains", Type: TypeStrings, Default: `(hostname and "localhost")`, Example: `["example.test", "localhost"]`,
		Doc: `Domains whose mail is delivered to local mailboxes, compared without regard to case. Mail to other domains is relayed only for relay.networks clients and refused with 550 5.7.1 otherwise. [] means no local delivery.`},
	{Name: "local.quota", Type: TypeSize, Default: "0",
		Doc: `Largest total size of one mailbox; a message that would go over it is answered 452 4.2.2, or 552 5.2.2 with quota_permanent. 0 means no limit.`},
	{Name: "local.quota_permanent", Type: TypeBool, Default: "false",
		Doc: `true: a mailbox over quota is a permanent failure (552 5.2.2) instead of a transient one (452 4.2.2), so senders bounce at once instead of retrying.`},

	{Name: "local.sync", Type: TypeString, Default: `"syncfs"`,
		Doc: `How a batch of Maildir deliveries is made durable before its spool record is dropped. "syncfs": one syncfs(2) for the batch, fastest when data_dir's file system serves mostly hikyaku (measured about 15-20% more messages per second than "fsync" under smtp-source load). "fsync": one fsync per file, run in parallel; better when other busy programs share the file system, since syncfs also flushes their data.`},

	{Name: "relay.networks", Type: TypeStrings, Default: `["127.0.0.0/8", "::1/128"]`,
		Doc: `Client networks allowed to relay to any domain: CIDR prefixes ("192.0.2.0/24") or single IP addresses. Everyone else may only send to local domains. A prefix that covers every address ("0.0.0.0/0", "::/0") makes an open relay and is reported as a warning.`},

	{Name: "tls.enabled", Type: TypeBool, Default: "true",
		Doc: `true: STARTTLS is offered on smtp.listen and smtp.submission_listen (RFC 3207) and smtp.submissions_listen may be used. With no cert_file, a self-signed certificate for hostname is made on first start in data_dir/tls/ and reused; it is logged as a warning, since clients that check certificates refuse it. TLS 1.2 and 1.3 only, with Go's default cipher suites. false: STARTTLS is answered 502 5.5.1.`},
	{Name: "tls.cert_file", Type: TypeString, Default: `""`,
		Doc: `PEM file with the certificate chain, leaf first (for example Let's Encrypt's fullchain.pem). Read at start and again on SIGHUP; a file that cannot be read at SIGHUP is logged and the certificate in use is kept. A relative path is taken from the working directory. Set with key_file, or neither.`},
	{Name: "tls.key_file", Type: TypeString, Default: `""`,
		Doc: `PEM file with the certificate's private key (PKCS #1, PKCS #8 or SEC 1). Set with cert_file, or neither.`},

	{Name: "auth.on_mx", Type: TypeBool, Default: "true",
		Doc: `true: AUTH is also offered on smtp.listen (after STARTTLS), so local users can submit there; mail from unauthenticated clients is treated as before. false: AUTH on smtp.listen is answered 503 5.5.1; only the submission listeners authenticate.`},
	{Name: "auth.allow_plaintext", Type: TypeBool, Default: "false",
		Doc: `false: AUTH is offered only on a TLS connection; before STARTTLS it is answered 538 5.7.11 on smtp.listen (RFC 4954 §4) and 530 5.7.0 on the submission listener. true: AUTH is offered and accepted in clear too, passwords readable on the wire (for tests on loopback only; reported as a warning).`},
	{Name: "auth.cram_md5", Type: TypeBool, Default: "false",
		Doc: `true: CRAM-MD5 (RFC 2195) is offered, and "hikyaku user add/passwd" store each new password's HMAC-MD5 states beside its argon2id hash. The trade-off: CRAM-MD5 keeps the password off the wire without TLS, but those states are equivalent to the password for CRAM-MD5, so whoever reads users.toml can log in with it (though not recover the password or use PLAIN). Users whose password was set while this was false cannot use CRAM-MD5 until it is set again. false: AUTH CRAM-MD5 is answered 534 5.7.9. SCRAM-SHA-256 gives the same protection without that weakness.`},
	{Name: "auth.scram_iterations", Type: TypeInt, Default: "16384",
		Doc: `PBKDF2 iterations of the SCRAM-SHA-256 keys stored for passwords set from now on (RFC 7677 §4: at least 4096). The client does this work at each SCRAM login; a thief of users.toml does it per guess. From 4096 to 10000000.`},
	{Name: "auth.sender_must_match", Type: TypeBool, Default: "true",
		Doc: `true: an authenticated client may use as MAIL FROM only the user's own address (with any +tag), an alias that leads to the user's mailbox, or the null sender <>; anything else is 553 5.7.1. false: any sender.`},
	{Name: "auth.max_failures", Type: TypeInt, Default: "5",
		Doc: `Failed AUTH attempts allowed within failure_window. A client network (an IPv4 address, an IPv6 /64) past it gets 454 4.7.0 for every AUTH until the window ends; a user past it is not locked out, but its attempts from anywhere are answered one at a time with a doubling delay. A success clears both. Failed attempts count toward smtp.max_errors. 0 turns the limit off.`},
	{Name: "auth.failure_window", Type: TypeDur, Default: `"10m"`,
		Doc: `How long failed AUTH attempts are remembered, from the first one. More than 0.`},
	{Name: "auth.failure_delay", Type: TypeDur, Default: `"1s"`,
		Doc: `How long every failed AUTH waits before its 535, doubling for each failure past max_failures (at most 32 times this). 0 for no delay.`},

	{Name: "policy.lists_file", Type: TypeString, Default: `""`,
		Doc: `File of deny/allow rules for clients, HELO names, senders and recipients, one per line ("deny client 192.0.2.0/24", "allow sender @example.com", "deny helo *.example.net"); reloaded when it changes. "" means data_dir/policy.txt when that file exists. A denied client gets 554 5.7.1 instead of the greeting; a denied HELO, sender or recipient 550 5.7.1.`},
	{Name: "policy.dnsbl_zones", Type: TypeStrings, Default: "[]",
		Doc: `DNS block lists asked about each client not in relay.networks (e.g. ["zen.spamhaus.org"]); a listed client gets 554 5.7.1 instead of the greeting. A lookup failure accepts the client.`},
	{Name: "policy.connections_per_minute", Type: TypeInt, Default: "0",
		Doc: `Connections one client address (IPv6: its /64) may open per minute; more get 421 4.7.0. 0 means no limit.`},
	{Name: "policy.messages_per_minute", Type: TypeInt, Default: "0",
		Doc: `Transactions (MAIL commands) one client address may start per minute; more get 451 4.7.0. 0 means no limit.`},
	{Name: "spf.check", Type: TypeBool, Default: "true",
		Doc: `Check MAIL FROM (or the HELO name for a null sender) with SPF (RFC 7208) for clients that are neither authenticated nor in relay.networks, and record the result in Received-SPF and Authentication-Results.`},
	{Name: "spf.fail", Type: TypeString, Default: `"reject"`,
		Doc: `What an SPF "fail" does: "reject" (550 5.7.23, RFC 7372), "tempfail" (451 4.7.24) or "accept" (only recorded).`},
	{Name: "spf.softfail", Type: TypeString, Default: `"accept"`,
		Doc: `What an SPF "softfail" does: "accept", "tempfail" or "reject".`},
	{Name: "spf.temperror", Type: TypeString, Default: `"tempfail"`,
		Doc: `What an SPF "temperror" (DNS trouble) does: "tempfail" (451 4.7.24), "accept" or "reject".`},
	{Name: "spf.permerror", Type: TypeString, Default: `"reject"`,
		Doc: `What an SPF "permerror" (a broken record) does: "reject" (550 5.7.24), "tempfail" or "accept".`},
	{Name: "dkim.verify", Type: TypeBool, Default: "true",
		Doc: `Verify the DKIM signatures of incoming mail (RFC 6376) and record the results in Authentication-Results (RFC 8601). Outgoing mail is signed with the keys made by "hikyaku dkim keygen".`},
	{Name: "filter.command", Type: TypeString, Default: `""`,
		Doc: `Content filter program: run with the message on standard input and the envelope in HIKYAKU_* variables; exit 0 accepts, 77 rejects (554 5.7.1), 75 defers (451 4.7.1). "" means none.`},
	{Name: "filter.socket", Type: TypeString, Default: `""`,
		Doc: `Content filter server speaking the HIKYAKU-FILTER/1 line protocol (internal/filter), as "unix:/path" or "tcp:127.0.0.1:port". "" means none.`},
	{Name: "filter.timeout", Type: TypeDur, Default: `"1m"`,
		Doc: `Time the content filter has for one message; after it the message is deferred (451) unless fail_open.`},
	{Name: "filter.fail_open", Type: TypeBool, Default: "false",
		Doc: `true: a filter that fails or times out accepts the message instead of deferring it.`},

	{Name: "http.listen", Type: TypeString, Default: `"127.0.0.1:8025"`,
		Doc: `Address of the HTTP listener for metrics and the dashboard, host:port as for smtp.listen and not one of the SMTP addresses. "" turns it off.`},
	{Name: "http.admins", Type: TypeStrings, Default: "[]",
		Doc: `Accounts of users.toml (addresses) that may log in to the dashboard with their password when http.listen is not a loopback address. On loopback nobody logs in.`},
	{Name: "http.token", Type: TypeString, Default: `""`,
		Doc: `A secret that logs in to the dashboard (in the password field, the account left empty) and authorizes scripts as "Authorization: Bearer TOKEN", when http.listen is not a loopback address; at least 16 characters. "" means none.`},

	{Name: "delivery.dns_servers", Type: TypeStrings, Default: "[]",
		Doc: `DNS servers the delivery engine asks, each IP:port. [] reads the nameservers of /etc/resolv.conf. Tests and benchmarks point this at the fake DNS on loopback.`},
	{Name: "delivery.smtp_port", Type: TypeInt, Default: "25",
		Doc: `Port of the remote mail servers (RFC 5321 §4.5.4: 25). Tests point it at scripted peers on loopback.`},
	{Name: "delivery.loop_addresses", Type: TypeStrings, Default: "[]",
		Doc: `Addresses (CIDR or IP) that are this machine: a mail host there is dropped as a loop, and a domain left with none is result 730. [] means the loopback ranges and every address of this host's interfaces.`},
	{Name: "delivery.helo_name", Type: TypeString, Default: `""`,
		Doc: `Name sent in EHLO/HELO; it should match the PTR of the sending address. "" means hostname.`},
	{Name: "delivery.timeout", Type: TypeDur, Default: `"5m"`,
		Doc: `Time allowed for every reply and every write of the outgoing SMTP session that has no timeout of its own (RFC 5321 §4.5.3.2: 5 minutes for the greeting, MAIL and RCPT; 3 minutes a data block).`},
	{Name: "delivery.connect_timeout", Type: TypeDur, Default: `"30s"`,
		Doc: `Time allowed to open a TCP connection to one mail host before the next is tried (result 601 when none answers).`},
	{Name: "delivery.greeting_timeout", Type: TypeDur, Default: `"0s"`,
		Doc: `Time allowed for the 220 greeting (RFC 5321 §4.5.3.2.1: 5 minutes); 0 means delivery.timeout. Timeout: 640.`},
	{Name: "delivery.helo_timeout", Type: TypeDur, Default: `"0s"`,
		Doc: `Time allowed for the EHLO/HELO reply; 0 means delivery.timeout. Timeout: 641.`},
	{Name: "delivery.mail_timeout", Type: TypeDur, Default: `"0s"`,
		Doc: `Time allowed for the MAIL FROM reply (RFC 5321 §4.5.3.2.2: 5 minutes); 0 means delivery.timeout. Timeout: 642.`},
	{Name: "delivery.rcpt_timeout", Type: TypeDur, Default: `"0s"`,
		Doc: `Time allowed for each RCPT TO reply (RFC 5321 §4.5.3.2.3: 5 minutes); 0 means delivery.timeout. Timeout: 643.`},
	{Name: "delivery.data_timeout", Type: TypeDur, Default: `"0s"`,
		Doc: `Time allowed for the 354 reply to DATA (RFC 5321 §4.5.3.2.4: 2 minutes); 0 means delivery.timeout. Timeout: 644.`},
	{Name: "delivery.block_timeout", Type: TypeDur, Default: `"0s"`,
		Doc: `Time allowed for each write of message content (RFC 5321 §4.5.3.2.5: 3 minutes); 0 means delivery.timeout. Timeout: 684.`},
	{Name: "delivery.dot_timeout", Type: TypeDur, Default: `"10m"`,
		Doc: `Time allowed for the reply to the final dot (RFC 5321 §4.5.3.2.6: 10 minutes). A timeout here is 645: the message may have been delivered.`},
	{Name: "delivery.rset_timeout", Type: TypeDur, Default: `"0s"`,
		Doc: `Time allowed for the RSET reply between transactions; 0 means delivery.timeout. Timeout: 647.`},
	{Name: "delivery.quit_timeout", Type: TypeDur, Default: `"0s"`,
		Doc: `Time allowed for the QUIT reply; 0 means delivery.timeout. It never changes a recipient's result.`},
	{Name: "delivery.rate_per_domain", Type: TypeInt, Default: "0",
		Doc: `Most messages per second sent to one recipient domain, so that a large list does not flood one provider; 0 means no limit. Connections per host are bounded by per_host.`},
	{Name: "delivery.lifetime", Type: TypeDur, Default: `"120h"`,
		Doc: `How long a message is retried before it expires with result 606 and its sender gets a DSN (RFC 5321 §4.5.4.1 suggests 4-5 days).`},
	{Name: "delivery.retry_min", Type: TypeDur, Default: `"5m"`,
		Doc: `Delay before the first retry of a transient failure; each later delay doubles, with jitter, up to retry_max.`},
	{Name: "delivery.retry_max", Type: TypeDur, Default: `"1h"`,
		Doc: `Longest delay between two attempts.`},
	{Name: "delivery.concurrency", Type: TypeInt, Default: "100",
		Doc: `Messages being delivered at once (the active set over the whole queue).`},
	{Name: "delivery.per_host", Type: TypeInt, Default: "10",
		Doc: `Connections open at once to one destination mail host.`},
	{Name: "delivery.messages_per_connection", Type: TypeInt, Default: "100",
		Doc: `Transactions sent over one connection before it is closed and a new one opened.`},
	{Name: "delivery.idle_timeout", Type: TypeDur, Default: `"5s"`,
		Doc: `How long an idle connection is kept for the next message to the same host.`},
	{Name: "delivery.starttls", Type: TypeString, Default: `"opportunistic"`,
		Doc: `"opportunistic": STARTTLS whenever the peer offers it, certificate not checked (RFC 7435). "off": never.`},
	{Name: "delivery.require_tls", Type: TypeStrings, Default: "[]",
		Doc: `Recipient domains that must be reached over TLS: without STARTTLS the attempt fails (transient) instead of going in clear.`},
	{Name: "delivery.resend_after_dot_loss", Type: TypeBool, Default: "false",
		Doc: `false: a connection lost or timed out after the final dot (625/645/665/685) is final and logged as possibly delivered, so the message is not sent twice. true: it is retried like any transient failure.`},
	{Name: "delivery.delay_warning", Type: TypeDur, Default: `"0s"`,
		Doc: `Send a "delayed" DSN to the sender once a message has waited this long (RFC 3464). 0 turns delayed DSNs off; failure DSNs are always sent (never to a null sender).`},

	{Name: "store.dsn", Type: TypeString, Default: `""`,
		Doc: `Status store of campaigns (recipients, attempts, scores, suppressions). "" is the embedded SQLite file data_dir/status.db (one sending process); "sqlite:PATH" another file; "mysql://user:password@host:port/database" (or the driver's own user:password@tcp(host:port)/database) a MySQL/MariaDB server shared by several campaign workers. The schema is created and migrated on first use.`},

	{Name: "campaign.concurrency", Type: TypeInt, Default: "50",
		Doc: `Recipients being delivered at once by one campaign process (run or worker). Connections per mail host stay bounded by delivery.per_host.`},
	{Name: "campaign.batch", Type: TypeInt, Default: "100",
		Doc: `Recipients claimed from the status store at a time. Larger batches mean fewer store round trips; a killed process's batch waits for its lease to run out.`},
	{Name: "campaign.lease", Type: TypeDur, Default: `"10m"`,
		Doc: `How long a claim on a batch holds before another process may take it over. A running process renews its leases, so this is how soon a dead node's recipients are taken over.`},
	{Name: "campaign.lifetime", Type: TypeDur, Default: `"24h"`,
		Doc: `How long a recipient with transient failures (4xx, 6xx, 720) is retried, from its first attempt; then its result is 606 with the last code kept. --lifetime overrides it per run.`},
	{Name: "campaign.retry_min", Type: TypeDur, Default: `"5m"`,
		Doc: `Delay before a recipient's first retry; each later delay doubles, with jitter, up to retry_max.`},
	{Name: "campaign.retry_max", Type: TypeDur, Default: `"1h"`,
		Doc: `Longest delay between two attempts at one recipient.`},
	{Name: "campaign.rate", Type: TypeInt, Default: "0",
		Doc: `Most messages per second one campaign process sends in all (0: no limit); --rate overrides it. delivery.rate_per_domain still applies per domain.`},
	{Name: "campaign.threshold", Type: TypeString, Default: `"1.0"`,
		Doc: `Error score at which an address is suppressed from later campaigns (docs/spec.md §4), a decimal with at most one decimal place. Each final result adds its code's weight; a delivery resets the score to 0.`},
	{Name: "campaign.weights", Type: TypeStrings, Default: "[]",
		Doc: `Weights that replace the table's defaults, each "CODE=WEIGHT" ("552=0.2", "606=0"). The defaults are those of seed 001 (hikyaku explain shows them).`},
	{Name: "campaign.stop_window", Type: TypeInt, Default: "200",
		Doc: `Number of most recent results the error-rate stop looks at. The campaign stops with -11 (resumably) when the window is full and stop_percent of it are failures on the sending side (4xx, 6xx, 7xx), as when the sending IP is blocked. 0 turns the stop off.`},
	{Name: "campaign.stop_percent", Type: TypeInt, Default: "50",
		Doc: `Share of the stop_window, in percent (1-100), at which the campaign stops with -11.`},
	{Name: "campaign.reply_rules", Type: TypeString, Default: `""`,
		Doc: `File of reply-text rules that turn a provider's rejection into 801 (account disabled) or 850 (sender's domain refused). "" uses data_dir/reply-rules.txt when it exists, else the built-in rules (hikyaku campaign rules prints them).`},
	{Name: "campaign.return_path_domain", Type: TypeString, Default: `""`,
		Doc: `Domain of the per-recipient return path (VERP): bounce+CAMPAIGN-ROW-HASH@DOMAIN, HASH a short keyed hash (bounce.verp_secret_file), so that bounces name the recipient and forged ones are refused. serve takes the bounces mailed to this domain. "" sends with the From address as return path. Should be the From domain or a subdomain of it, for DMARC alignment.`},
	{Name: "campaign.list_unsubscribe", Type: TypeString, Default: `""`,
		Doc: `URL template for List-Unsubscribe ("https://example.com/u?c={{.campaign}}&r={{.row}}"); an https URL also adds List-Unsubscribe-Post for one-click unsubscription (RFC 8058). "" adds none unless list_unsubscribe_mailto is set.`},
	{Name: "campaign.list_unsubscribe_mailto", Type: TypeString, Default: `""`,
		Doc: `Address template for unsubscription by mail in List-Unsubscribe.`},
	{Name: "campaign.charset", Type: TypeString, Default: `"UTF-8"`,
		Doc: `Charset of campaign messages: "UTF-8" or "ISO-2022-JP".`},
	{Name: "campaign.mobile_iso2022jp", Type: TypeBool, Default: "true",
		Doc: `Send ISO-2022-JP to the Japanese feature-phone carrier domains (docomo.ne.jp, ezweb.ne.jp, softbank.ne.jp…), whatever campaign.charset says.`},
	{Name: "campaign.resend_in_doubt", Type: TypeBool, Default: "false",
		Doc: `What a resumed run does with a recipient whose final dot had gone out when the last run died, before its reply was recorded. false: it ends as 625, possibly delivered, and is not sent again (at most once: no second copies, but a kill in the milliseconds between the dot's note and the dot — the note is committed while the transaction reaches the dot — leaves one undelivered). true: it is sent again (at least once: no recipient missed, but one the peer had taken gets a second copy).`},
	{Name: "bounce.complaint_addresses", Type: TypeStrings, Default: "[]",
		Doc: `Addresses registered with feedback loops (ARF complaints, RFC 5965) that serve accepts and reads like bounces ("fbl@example.com"); a complaint suppresses the address it names (reason feedback). Mail to campaign.return_path_domain is accepted only for signed VERP addresses of rows that exist, other addresses there are refused with 550 5.1.1.`},
	{Name: "bounce.rules", Type: TypeString, Default: `""`,
		Doc: `File of provider texts the bounce reader uses to tell reasons. "" uses data_dir/bounce-rules.txt when it exists, else the built-in rules.`},
	{Name: "bounce.verp_secret_file", Type: TypeString, Default: `""`,
		Doc: `File holding the key that signs VERP return paths (bounce+CAMPAIGN-ROW-HASH@DOMAIN). "" is data_dir/verp.key, created (32 random octets, mode 0600) on first use. Every node that sends campaigns or takes bounces must have the same key.`},
	{Name: "bounce.retry", Type: TypeDur, Default: `"1m"`,
		Doc: `How often serve tries again to read and record bounce mails kept in data_dir/bounces/new because reading or the status store failed.`},
}
