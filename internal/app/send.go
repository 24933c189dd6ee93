package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/delivery"
	"github.com/hikyaku/hikyaku/internal/outcome"
	"github.com/hikyaku/hikyaku/internal/spool"
)

// SendOptions is one message for Send.
type SendOptions struct {
	From string   // envelope sender; "" is the null sender
	To   []string // envelope recipients
	Data []byte   // the message; LF line ends are turned into CRLF
	JSON bool     // one JSON object per recipient instead of a text line
}

// Send delivers one message now to the recipients' mail hosts, without
// the queue, printing one line per recipient on stdout; it fails when a
// recipient was not delivered.
func Send(cfg *config.Config, o SendOptions, stdout, stderr io.Writer) error {
	data := toCRLF(o.Data)
	eng, err := NewEngine(cfg, NewLogger(cfg, stderr), nil)
	if err != nil {
		return err
	}
	defer eng.Close()
	msg := delivery.Message{ID: spool.NewID(), From: o.From, Data: data, EightBit: !isASCII(data)}
	for _, t := range o.To {
		msg.Recipients = append(msg.Recipients, delivery.Recipient{Addr: t})
		msg.SMTPUTF8 = msg.SMTPUTF8 || !isASCII([]byte(t))
	}
	msg.SMTPUTF8 = msg.SMTPUTF8 || !isASCII([]byte(o.From))
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Delivery.Lifetime.D())
	defer cancel()
	results := eng.Deliver(ctx, msg)
	allOK := true
	for i, r := range results {
		allOK = allOK && r.Delivered()
		printResult(stdout, o.To[i], r, o.JSON)
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
