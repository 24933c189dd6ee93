package smtpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/outcome"
)

// Recipient is one RCPT TO with its DSN parameters (RFC 3461 §4).
type Recipient struct {
	Addr   string
	Notify string // "NEVER" or a list of SUCCESS, FAILURE, DELAY; "" for none
	ORCPT  string // "rfc822;addr", or a bare address taken as rfc822; "" for none
}

// Message is one transaction. Data is the message content as it is to be
// delivered, lines ending in CRLF and none over 998 octets (the engine
// re-encodes before calling Send); Send dot-stuffs it and never splits a
// line.
type Message struct {
	From       string // "" for the null reverse-path
	Recipients []Recipient
	Data       []byte
	SMTPUTF8   bool   // the envelope or the header needs SMTPUTF8 (RFC 6531)
	EightBit   bool   // BODY=8BITMIME (RFC 6152)
	EnvID, Ret string // DSN ENVID and RET (FULL or HDRS), sent when the peer offers DSN
	// BeforeDot, when set, is called before the final dot is written (with
	// the content's last chunk, which waits for it): the last moment the
	// message can still be withdrawn. A campaign records there, durably, that the outcome is
	// about to be out of its hands, so that a crash after it is not
	// taken for a message never sent. An error closes the connection
	// without the dot (the peer discards the message) and fails the
	// transaction with a transient 602.
	BeforeDot func() error
}

// pipelineGroup bounds how many commands go in one write. RFC 2920 §3.1
// lets a client send a whole group before reading the replies, but the
// replies must fit in the socket buffers meanwhile, or client and server
// both block writing; 100 replies are a few KiB.
const pipelineGroup = 100

// contentChunk is how much message content goes to the kernel in one write.
const contentChunk = 64 << 10

// Send runs one transaction: MAIL, the RCPTs, DATA, the content and the
// final dot. With PIPELINING offered, MAIL, every RCPT and DATA go in one
// write and the replies are read in order (RFC 2920); without, one
// command at a time, stopping early when MAIL is refused or no RCPT is
// accepted. An aborted earlier transaction is reset first with RSET
// (pipelined with MAIL when the peer allows).
//
// It returns one result per recipient, in order: the remote's refusal of
// MAIL or of that RCPT, else the reply to DATA or to the final dot, else
// the connection-level code of the phase that failed. The error is
// non-nil only when the connection cannot be used again.
//
// Checked before any network work, each giving every recipient the same
// result with a text starting "not sent": a message over the peer's SIZE
// is 552 5.3.4 (RFC 1870 §6.1); a message that needs SMTPUTF8 to a peer
// without it is 553 5.6.7 when an envelope address is not ASCII, else 554
// 5.6.9 (RFC 6531 §3.2); EightBit content to a peer without 8BITMIME is
// 554 5.6.3 (RFC 6152 §3: the engine may convert it and call again). An
// address holding a control character or an angle bracket would break
// the command line: that recipient gets 611, a sender like that 553 5.1.7.
func (c *Client) Send(ctx context.Context, m Message) ([]outcome.Result, error) {
	res := make([]outcome.Result, len(m.Recipients))
	if len(res) == 0 {
		return res, nil
	}
	if c.broken {
		r := c.own(602, "connection no longer usable")
		fillUnset(res, r)
		return res, &Error{Result: r}
	}
	if r, refused := c.precheck(m); refused {
		fillUnset(res, r)
		return res, nil
	}
	var rcpts []int // indexes of recipients whose RCPT is sent
	for i, rc := range m.Recipients {
		if hasControl(rc.Addr) || rc.Addr == "" {
			res[i] = c.own(611, fmt.Sprintf("%q cannot go into a RCPT command", rc.Addr))
			continue
		}
		rcpts = append(rcpts, i)
	}
	if len(rcpts) == 0 {
		return res, nil
	}
	stop := c.watch(ctx)
	defer stop()
	if err := c.transaction(m, rcpts, res); err != nil {
		fillUnset(res, err.Result)
		return res, err
	}
	return res, nil
}

func (c *Client) precheck(m Message) (outcome.Result, bool) {
	notSent := func(code int, enhanced, text string) (outcome.Result, bool) {
		return outcome.Result{Code: code, Enhanced: enhanced, Text: "not sent: " + text,
			Host: c.host, IP: c.ip, Reason: reasonFor(code, enhanced)}, true
	}
	if hasControl(m.From) {
		return notSent(553, "5.1.7", fmt.Sprintf("sender %q cannot go into a MAIL command", m.From))
	}
	if c.maxSize > 0 && int64(len(m.Data)) > c.maxSize {
		return notSent(552, "5.3.4", fmt.Sprintf("the message is %d octets and %s accepts at most %d (its EHLO SIZE)", len(m.Data), c.host, c.maxSize))
	}
	if _, ok := c.ext["SMTPUTF8"]; m.SMTPUTF8 && !ok {
		ascii := isASCII(m.From)
		for _, r := range m.Recipients {
			ascii = ascii && isASCII(r.Addr)
		}
		if !ascii {
			return notSent(553, "5.6.7", c.host+" does not offer SMTPUTF8, which the non-ASCII addresses need (RFC 6531)")
		}
		return notSent(554, "5.6.9", c.host+" does not offer SMTPUTF8, which the UTF-8 header needs (RFC 6531)")
	}
	if _, ok := c.ext["8BITMIME"]; m.EightBit && !ok {
		return notSent(554, "5.6.3", c.host+" does not offer 8BITMIME and the 8-bit content was not converted (RFC 6152)")
	}
	return outcome.Result{}, false
}

// transaction sends the commands and fills res. A returned *Error means
// the connection failed; recipients it has not settled get its result.
func (c *Client) transaction(m Message, rcpts []int, res []outcome.Result) *Error {
	var steps []command
	if c.dirty {
		steps = append(steps, command{phase: codes.PhaseRset, line: "RSET", timeout: c.t.Rset})
	}
	mail := command{phase: codes.PhaseMail, line: c.mailLine(m), timeout: c.t.Mail}
	steps = append(steps, mail)
	for _, i := range rcpts {
		steps = append(steps, command{phase: codes.PhaseRcpt, line: c.rcptLine(m, m.Recipients[i]), timeout: c.t.Rcpt})
	}
	steps = append(steps, command{phase: codes.PhaseData, line: "DATA", timeout: c.t.Data})

	var (
		mailRefused bool
		accepted    []int
		rcptN       int // RCPT replies seen
	)
	// handle takes the reply to steps[k]. It returns false when nothing
	// more is to be sent (only without pipelining: with it, everything
	// is on the wire already and every reply is read).
	handle := func(cmd command, r reply) (more bool, err *Error) {
		if r.code == 421 {
			// RFC 5321 §3.8: the server is closing the connection; what
			// is not settled gets its reply, transient.
			res421 := c.remote(r, cmd.phase, cmd.line)
			c.broken = true
			c.conn.Close()
			return false, &Error{Result: res421}
		}
		switch cmd.phase {
		case codes.PhaseRset:
			c.dirty = false // whatever it said, MAIL's reply tells the rest
			return true, nil
		case codes.PhaseMail:
			if r.code/100 != 2 {
				mailRefused = true
				fillUnset(res, c.remote(r, codes.PhaseMail, cmd.line))
				return false, nil
			}
			c.dirty = true
			return true, nil
		case codes.PhaseRcpt:
			i := rcpts[rcptN]
			rcptN++
			switch {
			case mailRefused:
			case r.code/100 == 2:
				accepted = append(accepted, i)
			default:
				res[i] = c.rcptRefusal(r, cmd.line)
			}
			return rcptN < len(rcpts) || len(accepted) > 0, nil
		case codes.PhaseData:
			if r.code != 354 {
				for _, i := range accepted {
					res[i] = c.remote(r, codes.PhaseData, cmd.line)
				}
				return false, nil
			}
			final, err := c.sendContent(m.Data, len(accepted) == 0, m.BeforeDot)
			if err != nil {
				return false, err
			}
			for _, i := range accepted {
				res[i] = c.remote(final, codes.PhaseDot, ".")
			}
			return false, nil
		}
		return true, nil
	}

	if !c.pipelining {
		for _, cmd := range steps {
			if err := c.writeCommands([]command{cmd}); err != nil {
				return err
			}
			r, err := c.readReplyFor(cmd)
			if err != nil {
				return err
			}
			more, err := handle(cmd, r)
			if err != nil {
				return err
			}
			if !more {
				return nil
			}
		}
		return nil
	}
	for len(steps) > 0 {
		group := steps[:min(len(steps), pipelineGroup)]
		steps = steps[len(group):]
		if err := c.writeCommands(group); err != nil {
			return err
		}
		for _, cmd := range group {
			r, err := c.readReplyFor(cmd)
			if err != nil {
				return err
			}
			if _, err := handle(cmd, r); err != nil {
				return err
			}
		}
		if mailRefused {
			return nil // no transaction: the RCPTs left need not be sent
		}
	}
	return nil
}

// rcptRefusal keeps a RCPT refusal whole, except that a 552 meaning "too
// many recipients" is transient (RFC 5321 §4.5.3.1.10) and becomes 452
// 4.5.3 with the remote's reply quoted in the text.
func (c *Client) rcptRefusal(r reply, line string) outcome.Result {
	res := c.remote(r, codes.PhaseRcpt, line)
	if r.code == 552 && (r.enhanced == "5.5.3" || strings.Contains(strings.ToLower(r.text()), "too many recipients")) {
		res.Code, res.Enhanced = 452, "4.5.3"
		res.Text = "remote said: " + r.String()
		res.Reason = reasonFor(452, "4.5.3")
	}
	return res
}

// TooManyRecipients says the recipient was put off because the
// transaction had too many: the engine sends it again at once in the next
// transaction (RFC 5321 §4.5.3.1.10).
func TooManyRecipients(r outcome.Result) bool {
	return r.Phase == codes.PhaseRcpt && r.Code == 452
}

func (c *Client) mailLine(m Message) string {
	var b strings.Builder
	b.WriteString("MAIL FROM:<" + m.From + ">")
	if _, ok := c.ext["SIZE"]; ok {
		b.WriteString(" SIZE=" + strconv.Itoa(len(m.Data)))
	}
	if _, ok := c.ext["8BITMIME"]; ok && m.EightBit {
		b.WriteString(" BODY=8BITMIME")
	}
	if _, ok := c.ext["SMTPUTF8"]; ok && m.SMTPUTF8 {
		b.WriteString(" SMTPUTF8")
	}
	if _, ok := c.ext["DSN"]; ok {
		if m.Ret != "" {
			b.WriteString(" RET=" + strings.ToUpper(m.Ret))
		}
		if m.EnvID != "" {
			b.WriteString(" ENVID=" + xtext(m.EnvID))
		}
	}
	return b.String()
}

func (c *Client) rcptLine(m Message, r Recipient) string {
	line := "RCPT TO:<" + r.Addr + ">"
	if _, ok := c.ext["DSN"]; !ok {
		return line
	}
	if r.Notify != "" {
		line += " NOTIFY=" + strings.ToUpper(r.Notify)
	}
	if r.ORCPT != "" {
		typ, addr, ok := strings.Cut(r.ORCPT, ";")
		if !ok {
			typ, addr = "rfc822", r.ORCPT
		}
		if !isASCII(addr) {
			// RFC 6533 §3: a UTF-8 original address as utf-8-addr-unitext,
			// which only a SMTPUTF8 transaction may carry.
			if _, ok := c.ext["SMTPUTF8"]; ok && m.SMTPUTF8 {
				return line + " ORCPT=utf-8;" + unitext(addr)
			}
			return line
		}
		line += " ORCPT=" + typ + ";" + xtext(addr)
	}
	return line
}

// sendContent writes the dot-stuffed content and the final dot, and reads
// the final reply. empty says no recipient was accepted though DATA got
// 354 (a server breaking RFC 2920 §3.1): the empty message is ended at
// once and its reply is ignored.
func (c *Client) sendContent(data []byte, empty bool, beforeDot func() error) (reply, *Error) {
	if empty {
		data, beforeDot = nil, nil
	}
	if err := c.writeContent(data, beforeDot); err != nil {
		return reply{}, err
	}
	r, err := c.readReplyFor(command{phase: codes.PhaseDot, line: ".", timeout: c.t.Dot})
	if err != nil {
		return reply{}, err
	}
	c.dirty = false // RFC 5321 §4.1.1.4: the end of data ends the transaction
	return r, nil
}

// writeContent sends data with a '.' added before every line that starts
// with one (RFC 5321 §4.5.2), a CRLF added when data does not end in one,
// then ".\r\n". Each write gets the Block timeout. The final dot rides in
// the last write; when that write fails, the count of octets taken tells
// content (664/684) from the dot (665/685). beforeDot runs before that
// last write.
func (c *Client) writeContent(data []byte, beforeDot func() error) *Error {
	buf := c.out[:0]
	flush := func(dotAt int) *Error {
		c.setDeadline(c.t.Block, true)
		n, err := c.conn.Write(buf)
		buf = buf[:0]
		if err == nil {
			return nil
		}
		if dotAt >= 0 && n >= dotAt {
			return c.fail(codes.PhaseDot, true, ".", c.t.Block, err)
		}
		return c.fail(codes.PhaseContent, true, "", c.t.Block, err)
	}
	needCRLF := len(data) > 0 && !bytes.HasSuffix(data, []byte("\r\n"))
	lineStart := true
	for len(data) > 0 {
		if lineStart && data[0] == '.' {
			buf = append(buf, '.')
		}
		// Copy up to the next line that starts with a dot, within what
		// fits the chunk; a "\n." cut by the window is caught by
		// lineStart on the next turn.
		w := data[:min(len(data), contentChunk-len(buf)+1)]
		n := len(w)
		if i := bytes.Index(w, []byte("\n.")); i >= 0 {
			n = i + 1
		}
		buf = append(buf, data[:n]...)
		lineStart = data[n-1] == '\n'
		data = data[n:]
		if len(buf) >= contentChunk {
			if err := flush(-1); err != nil {
				return err
			}
		}
	}
	if needCRLF {
		buf = append(buf, '\r', '\n')
	}
	if beforeDot != nil {
		// The rest of the content waits with the dot: one write, one
		// segment, instead of two per message.
		if err := beforeDot(); err != nil {
			c.broken = true
			c.conn.Close()
			return &Error{Result: c.own(602, "connection closed before the final dot: "+err.Error())}
		}
	}
	dotAt := len(buf)
	buf = append(buf, '.', '\r', '\n')
	err := flush(dotAt)
	if cap(buf) <= 2*contentChunk {
		c.out = buf[:0]
	}
	return err
}

// Reset sends RSET (RFC 5321 §4.1.1.5). Send resets an aborted transaction
// by itself; Reset is for checking that an idle connection still answers
// before it is used again. The error, when the connection failed, is
// 627/647/667/687 or the remote's refusal; the client is then unusable.
func (c *Client) Reset(ctx context.Context) error {
	if c.broken {
		return &Error{Result: c.own(602, "connection no longer usable")}
	}
	stop := c.watch(ctx)
	defer stop()
	cmd := command{phase: codes.PhaseRset, line: "RSET", timeout: c.t.Rset}
	if err := c.writeCommands([]command{cmd}); err != nil {
		return err
	}
	r, err := c.readReplyFor(cmd)
	if err != nil {
		return err
	}
	if r.code/100 != 2 {
		res := c.remote(r, codes.PhaseRset, cmd.line)
		c.quitQuietly()
		return &Error{Result: res}
	}
	c.dirty = false
	return nil
}

// Quit sends QUIT and closes the connection. Every recipient already
// answered keeps its result whatever happens here: a connection lost
// waiting for QUIT's reply is not even reported, and the 666/686 it
// returns when QUIT could not be sent is for the log only.
func (c *Client) Quit() error {
	if c.broken {
		return c.Close()
	}
	stop := c.watch(context.Background())
	defer stop()
	cmd := command{phase: codes.PhaseQuit, line: "QUIT", timeout: c.t.Quit}
	if err := c.writeCommands([]command{cmd}); err != nil {
		return err
	}
	c.setDeadline(c.t.Quit, false)
	readReply(c.br) // 221, or anything: the delivery is settled
	return c.Close()
}

// Close closes the connection without QUIT.
func (c *Client) Close() error {
	c.broken = true
	if c.conn == nil {
		return nil
	}
	if err := c.conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// xtext encodes a DSN parameter (RFC 3461 §4): every octet outside
// "!".."~", and "+" and "=", as "+XX".
func xtext(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < '!' || ch > '~' || ch == '+' || ch == '=' {
			b.WriteByte('+')
			b.WriteByte(hex[ch>>4])
			b.WriteByte(hex[ch&15])
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// unitext encodes a UTF-8 address as utf-8-addr-unitext (RFC 6533 §3):
// UTF-8 stays, ASCII controls, space, "+", "=" and "\" become "\x{HEX}".
func unitext(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < '!' || r == '+' || r == '=' || r == '\\' || r == 0x7f {
			fmt.Fprintf(&b, "\\x{%X}", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
