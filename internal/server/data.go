package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/protocol"
	"github.com/hikyaku/hikyaku/internal/spool"
)

// bdatState is a BDAT transaction in progress (RFC 3030).
type bdatState struct {
	id        string
	buf       *bytes.Buffer
	checker   *protocol.LineEndingChecker
	headerLen int // our Received field, which the content checks skip
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer keeps one huge message from pinning its buffer forever.
const maxPooledBuffer = 1 << 20

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuffer {
		b.Reset()
		bufPool.Put(b)
	}
}

func (c *session) cmdDATA(arg string) protocol.Reply {
	if !c.greeted {
		return reply(codes.NeedHelo)
	}
	if c.tx != nil && c.tx.bdat != nil {
		return reply(codes.DataAfterBdat)
	}
	if c.tx == nil || len(c.tx.rcpts) == 0 {
		return reply(codes.NeedRcpt, "DATA")
	}
	if strings.TrimSpace(arg) != "" {
		return reply(codes.NoArgAllowed, "DATA")
	}
	id := spool.NewID()
	c.send(reply(codes.StartData))
	if err := c.flush(); err != nil {
		return closeReply()
	}

	buf := bufPool.Get().(*bytes.Buffer)
	defer putBuf(buf)
	c.writeReceived(buf, id)
	headerLen := buf.Len()

	c.conn.SetReadDeadline(time.Now().Add(c.srv.cfg.SMTP.DataTimeout.D()))
	c.ensureReader()
	res, err := protocol.ReadData(c.br, buf, protocol.DataOptions{
		MaxSize:         int64(c.srv.cfg.SMTP.MaxMessageSize),
		NormalizeBareLF: c.srv.cfg.SMTP.BareLF == "normalize",
	})
	dot := time.Now()
	if err != nil {
		c.tx = nil
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.log.Info("timeout during DATA", "id", id)
			return withClose(reply(codes.CommandTimeout, c.srv.cfg.Hostname))
		}
		c.log.Info("connection lost during DATA", "id", id, "err", err)
		return closeReply()
	}
	r := c.finish(id, buf, headerLen, res)
	c.srv.Metrics.DotToReply.Observe(time.Since(dot).Seconds())
	return r
}

// finish checks and commits a complete message; the transaction ends
// whatever the outcome.
func (c *session) finish(id string, buf *bytes.Buffer, headerLen int, res protocol.DataResult) protocol.Reply {
	tx := c.tx
	c.tx = nil
	r := c.check(buf.Bytes()[headerLen:], res)
	var trace string
	if r.Code == 0 {
		trace, r = c.contentPolicy(tx, id, buf.Bytes()[headerLen:])
	}
	if r.Code == 0 {
		if c.kind != MX {
			c.completeHeader(buf, headerLen, id)
		}
		data := buf.Bytes()
		if trace != "" {
			// Trace fields go at the top, above our Received (RFC 8601 §5).
			data = append([]byte(trace), data...)
		}
		r = c.commit(tx, id, data)
	}
	if r.Code >= 400 {
		c.srv.MailLog.Rejected(c.id, id, "data", tx.from.String(), c.ip.String(), r.Code, r.Enhanced, strings.Join(r.Lines, " "))
	}
	return r
}

// check applies the content rules that need the whole message.
func (c *session) check(content []byte, res protocol.DataResult) protocol.Reply {
	switch {
	case res.TooBig:
		return reply(codes.SizeExceeded, int64(c.srv.cfg.SMTP.MaxMessageSize))
	case res.BareLineEnding:
		return reply(codes.BareLineEnding)
	}
	if max := c.srv.cfg.SMTP.MaxReceived; max > 0 {
		if n := countReceived(content); n > max {
			return reply(codes.TooManyHops, n, max)
		}
	}
	return protocol.Reply{}
}

// commit makes the message durable, then answers 250 with its queue id.
func (c *session) commit(tx *transaction, id string, data []byte) protocol.Reply {
	env := &spool.Envelope{
		ID:         id,
		From:       tx.from.String(),
		Recipients: tx.rcpts,
		ReceivedAt: time.Now().UTC(),
		ClientIP:   c.ip.String(),
		Helo:       c.helo,
		Proto:      c.proto(tx),
		SMTPUTF8:   tx.smtputf8,
		Body:       tx.body,
		EnvID:      tx.envID,
		Ret:        tx.ret,
		Size:       int64(len(data)),
	}
	if err := c.srv.Spool.Commit(context.Background(), env, data); err != nil {
		c.log.Error("spool commit failed", "id", id, "err", err)
		if errors.Is(err, spool.ErrNoSpace) {
			return reply(codes.DiskFull)
		}
		return reply(codes.StorageError)
	}
	// The router keeps the bytes: the pooled buffer is reused at once.
	msg := &spool.Message{Envelope: *env, Data: bytes.Clone(data)}
	c.srv.Router.Route(msg)
	c.srv.Metrics.MessagesAccepted.Inc()
	c.srv.Metrics.MessageBytes.Add(float64(len(data)))
	c.srv.MailLog.Accepted(c.id, id, env.From, tx.rcptAddrs, env.Size, env.ClientIP, env.Helo)
	c.log.Info("message accepted", "id", id, "size", env.Size, "rcpts", len(tx.rcptAddrs))
	return reply(codes.MessageStored, id)
}

// proto is the Received "with" keyword (RFC 3848, RFC 6531): ESMTP or
// UTF8SMTP, then S for TLS and A for AUTH. RFC 3848 defines no TLS or
// AUTH variant of plain SMTP, so a HELO session stays "SMTP".
func (c *session) proto(tx *transaction) string {
	if !c.esmtp {
		return "SMTP"
	}
	p := "ESMTP"
	if tx.smtputf8 {
		p = "UTF8SMTP"
	}
	if c.tls != nil {
		p += "S"
	}
	if c.authUser != "" {
		p += "A"
	}
	return p
}

// writeReceived puts our trace field at the top (RFC 5321 §4.4). "for"
// names the recipient only when there is exactly one, so that Bcc
// recipients are not disclosed.
func (c *session) writeReceived(b *bytes.Buffer, id string) {
	tx := c.tx
	b.WriteString("Received: from ")
	b.WriteString(c.helo)
	b.WriteString(" ([")
	b.WriteString(c.ip.String())
	b.WriteString("])\r\n\t")
	if tc := c.tlsComment(); tc != "" {
		// Where Postfix puts it: between the from and by clauses.
		b.WriteString(tc)
		b.WriteString("\r\n\t")
	}
	b.WriteString("by ")
	b.WriteString(c.srv.cfg.Hostname)
	b.WriteString(" (hikyaku) with ")
	b.WriteString(c.proto(tx))
	b.WriteString(" id ")
	b.WriteString(id)
	if len(tx.rcptAddrs) == 1 {
		b.WriteString("\r\n\tfor <")
		b.WriteString(tx.rcptAddrs[0])
		b.WriteString(">")
	}
	b.WriteString(";\r\n\t")
	b.WriteString(time.Now().Format(time.RFC1123Z))
	b.WriteString("\r\n")
}

// countReceived counts Received fields in the header section.
func countReceived(msg []byte) int {
	n := 0
	for len(msg) > 0 {
		i := bytes.IndexByte(msg, '\n')
		line := msg
		if i >= 0 {
			line, msg = msg[:i+1], msg[i+1:]
		} else {
			msg = nil
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break // end of header section
		}
		if len(line) >= 9 && (line[8] == ':' || line[8] == ' ' || line[8] == '\t') && bytes.EqualFold(line[:8], []byte("received")) {
			n++
		}
	}
	return n
}

// cmdBDAT receives one chunk (RFC 3030). The chunk is always read, even
// when the answer will be an error, so that the session stays in step.
func (c *session) cmdBDAT(arg string) protocol.Reply {
	fields := strings.Fields(arg)
	if len(fields) < 1 || len(fields) > 2 {
		return reply(codes.BdatBadSize)
	}
	size, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil || size < 0 {
		return reply(codes.BdatBadSize)
	}
	last := len(fields) == 2
	if last && !strings.EqualFold(fields[1], "LAST") {
		return reply(codes.BdatBadSize)
	}
	c.ensureReader()
	c.conn.SetReadDeadline(time.Now().Add(c.srv.cfg.SMTP.DataTimeout.D()))

	var failed protocol.Reply
	switch {
	case !c.greeted:
		failed = reply(codes.NeedHelo)
	case c.tx == nil || len(c.tx.rcpts) == 0:
		failed = reply(codes.NeedRcpt, "BDAT")
	}
	if failed.Code != 0 {
		if _, err := io.CopyN(io.Discard, c.br, size); err != nil {
			return closeReply()
		}
		return failed
	}

	st := c.tx.bdat
	if st == nil {
		st = &bdatState{id: spool.NewID(), buf: bufPool.Get().(*bytes.Buffer)}
		c.writeReceived(st.buf, st.id)
		st.headerLen = st.buf.Len()
		st.checker = protocol.NewLineEndingChecker(st.buf, c.srv.cfg.SMTP.BareLF == "normalize", int64(c.srv.cfg.SMTP.MaxMessageSize))
		c.tx.bdat = st
	}
	if _, err := io.CopyN(st.checker, c.br, size); err != nil {
		c.dropBdat()
		return closeReply()
	}
	if !last {
		return reply(codes.BdatOK, size)
	}
	dot := time.Now()
	r := c.finish(st.id, st.buf, st.headerLen, st.checker.Finish())
	putBuf(st.buf)
	c.srv.Metrics.DotToReply.Observe(time.Since(dot).Seconds())
	return r
}

func (c *session) dropBdat() {
	if c.tx != nil && c.tx.bdat != nil {
		putBuf(c.tx.bdat.buf)
		c.tx.bdat = nil
	}
	c.tx = nil
}

func closeReply() protocol.Reply { return protocol.Reply{Close: true} }

func withClose(r protocol.Reply) protocol.Reply {
	r.Close = true
	return r
}

// completeHeader adds Date and Message-ID when the submitted message has
// none (RFC 6409 §8.2, §8.3), right after our Received field.
func (c *session) completeHeader(buf *bytes.Buffer, headerLen int, id string) {
	hasDate, hasID := headerFields(buf.Bytes()[headerLen:])
	if hasDate && hasID {
		return
	}
	tail := bytes.Clone(buf.Bytes()[headerLen:])
	buf.Truncate(headerLen)
	if !hasDate {
		buf.WriteString("Date: " + time.Now().Format(time.RFC1123Z) + "\r\n")
	}
	if !hasID {
		var r [6]byte
		rand.Read(r[:])
		buf.WriteString("Message-ID: <" + id + "." + hex.EncodeToString(r[:]) + "@" + c.srv.cfg.Hostname + ">\r\n")
	}
	buf.Write(tail)
	c.log.Debug("completed submitted header", "id", id, "added_date", !hasDate, "added_message_id", !hasID)
}

// headerFields reports whether the header section has Date and
// Message-ID fields.
func headerFields(msg []byte) (date, msgID bool) {
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i+1], msg[i+1:]
		} else {
			msg = nil
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimRight(name, " \t")
		date = date || bytes.EqualFold(name, []byte("Date"))
		msgID = msgID || bytes.EqualFold(name, []byte("Message-ID"))
	}
	return date, msgID
}
