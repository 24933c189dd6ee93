package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/delivery"
	"github.com/hikyaku/hikyaku/internal/outcome"
	"github.com/hikyaku/hikyaku/internal/smtpclient"
	"github.com/hikyaku/hikyaku/internal/spool"
)

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// newEngine builds the delivery engine from [delivery].
func newEngine(cfg *config.Config, logger *slog.Logger, onAttempt func(delivery.Attempt)) (*delivery.Engine, error) {
	d := cfg.Delivery
	res, err := newResolver(cfg, logger)
	if err != nil {
		return nil, err
	}
	// delivery.timeout covers every phase not set on its own.
	phase := func(v config.Duration) time.Duration {
		if v > 0 {
			return v.D()
		}
		return d.Timeout.D()
	}
	t := smtpclient.Timeouts{
		Connect: d.ConnectTimeout.D(), Greeting: phase(d.GreetingTimeout), Helo: phase(d.HeloTimeout),
		StartTLS: d.Timeout.D(), Mail: phase(d.MailTimeout), Rcpt: phase(d.RcptTimeout), Data: phase(d.DataTimeout),
		Block: phase(d.BlockTimeout), Dot: d.DotTimeout.D(), Rset: phase(d.RsetTimeout), Quit: phase(d.QuitTimeout),
	}
	helo := d.HeloName
	if helo == "" {
		helo = cfg.Hostname
	}
	copt := smtpclient.Options{HeloName: helo, Timeouts: t, Logger: logger}
	signer, err := loadDKIM(cfg)
	if err != nil {
		return nil, err
	}
	var sign func([]byte) ([]byte, error)
	if signer != nil {
		sign = signer.Sign
	}
	if d.StartTLS == "opportunistic" {
		// Opportunistic TLS (RFC 7435): encrypt when offered, without
		// insisting on a certificate a bulk of MX hosts do not have.
		copt.TLS = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	}
	return delivery.New(res, delivery.Options{
		Port: d.SMTPPort, Client: copt, RequireTLS: d.RequireTLS, PerHost: d.PerHost,
		MessagesPerConn: d.MessagesPerConn, IdleTimeout: d.IdleTimeout.D(), RatePerDomain: d.RatePerDomain, Sign: sign,
		Logger: logger, OnAttempt: onAttempt,
	}), nil
}

func runSend(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("send", "send [--config FILE] --from ADDR --to ADDR [--to ADDR…] [--json] [FILE]   (message on stdin without FILE)", stderr)
	cfgPath := configFlag(fs)
	from := fs.String("from", "", "envelope sender (\"\" for a null sender)")
	var to multiFlag
	fs.Var(&to, "to", "envelope recipient (repeat for more)")
	asJSON := fs.Bool("json", false, "one JSON object per recipient")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(to) == 0 {
		return usagef("send needs at least one --to")
	}
	if fs.NArg() > 1 {
		return usagef("send takes at most one FILE")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	var data []byte
	if fs.NArg() == 1 {
		data, err = os.ReadFile(fs.Arg(0))
	} else {
		data, err = io.ReadAll(os.Stdin)
	}
	if err != nil {
		return fmt.Errorf("reading the message: %w", err)
	}
	data = toCRLF(data)
	logger := newLogger(cfg, stderr)
	eng, err := newEngine(cfg, logger, nil)
	if err != nil {
		return err
	}
	defer eng.Close()
	msg := delivery.Message{ID: spool.NewID(), From: *from, Data: data, EightBit: !isASCII(data)}
	for _, t := range to {
		msg.Recipients = append(msg.Recipients, delivery.Recipient{Addr: t})
		msg.SMTPUTF8 = msg.SMTPUTF8 || !isASCII([]byte(t))
	}
	msg.SMTPUTF8 = msg.SMTPUTF8 || !isASCII([]byte(*from))
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Delivery.Lifetime.D())
	defer cancel()
	results := eng.Deliver(ctx, msg)
	allOK := true
	for i, r := range results {
		allOK = allOK && r.Delivered()
		printResult(stdout, to[i], r, *asJSON)
	}
	eng.Close()
	if !allOK {
		return fmt.Errorf("not every recipient was delivered")
	}
	return nil
}

// printResult writes one recipient's line: code, enhanced code, what the
// code means (from the table), the host and the remote's reply.
func printResult(w io.Writer, rcpt string, r outcome.Result, asJSON bool) {
	meaning := ""
	if c, ok := codes.LookupCode(r.Code); ok {
		meaning = c.EN
	}
	if asJSON {
		b, _ := json.Marshal(struct {
			Recipient string `json:"recipient"`
			outcome.Result
			Meaning string `json:"meaning,omitempty"`
		}{rcpt, r, meaning})
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	enh := r.Enhanced
	if enh == "" {
		enh = "-"
	}
	host := ""
	if r.Host != "" {
		host = fmt.Sprintf(" via %s [%s]", r.Host, r.IP)
	}
	fmt.Fprintf(w, "%s\t%d %s\t%s%s\t%s\n", rcpt, r.Code, enh, meaning, host, strings.ReplaceAll(r.Text, "\n", " / "))
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// toCRLF turns a file with LF line endings (as editors write them) into
// the CRLF form SMTP carries, leaving CRLF alone.
func toCRLF(b []byte) []byte {
	if !bytes.Contains(b, []byte("\n")) {
		return b
	}
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/40)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out.Write(b)
			break
		}
		line := b[:i]
		line = bytes.TrimSuffix(line, []byte("\r"))
		out.Write(line)
		out.WriteString("\r\n")
		b = b[i+1:]
	}
	return out.Bytes()
}
