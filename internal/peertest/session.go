package peertest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// session is one connection's state.
type session struct {
	p     *Peer
	s     Script
	act   bool // Actions apply to this connection
	raw   *net.TCPConn
	conn  net.Conn // raw, or the TLS connection over it
	br    *bufio.Reader
	bw    *bufio.Writer
	tls   bool
	helo  string
	tx    *Received
	batch int // commands answered since the last flush
}

func (p *Peer) serve(conn net.Conn, s Script, act bool) {
	defer p.wg.Done()
	defer p.forget(conn)
	defer conn.Close()
	ss := &session{p: p, s: s, act: act, raw: conn.(*net.TCPConn), conn: conn,
		br: bufio.NewReaderSize(conn, 4096), bw: bufio.NewWriter(conn)}
	ss.run()
}

func (s *session) action(ph codes.Phase) Action {
	if !s.act {
		return Normal
	}
	return s.s.Actions[ph]
}

func (s *session) replyFor(verb, def string) string {
	if r, ok := s.s.Replies[verb]; ok {
		return r
	}
	return def
}

func (s *session) run() {
	greeting := s.s.Greeting
	if greeting == "" {
		greeting = s.replyFor("GREETING", "220 peer.test ESMTP peertest")
	}
	if !s.answer(codes.PhaseGreeting, greeting) {
		return
	}
	for {
		if s.br.Buffered() == 0 && !s.flush() {
			return
		}
		line, err := s.readLine()
		if err != nil {
			return
		}
		s.p.record(line)
		s.batch++
		verb, arg, _ := strings.Cut(line, " ")
		if !s.command(strings.ToUpper(verb), arg) {
			return
		}
	}
}

// command answers one command; false ends the session.
func (s *session) command(verb, arg string) bool {
	switch verb {
	case "EHLO":
		s.helo, s.tx = arg, nil
		return s.answer(codes.PhaseHelo, s.ehloReply())
	case "HELO":
		s.helo, s.tx = arg, nil
		return s.answer(codes.PhaseHelo, s.replyFor("HELO", "250 peer.test"))
	case "STARTTLS":
		return s.startTLS()
	case "MAIL":
		r := s.replyFor("MAIL", "250 2.1.0 Ok")
		if ok(r) {
			s.tx = &Received{Helo: s.helo, From: between(arg), TLS: s.tls}
		}
		return s.answer(codes.PhaseMail, r)
	case "RCPT":
		addr := between(arg)
		r, found := s.s.RcptReplies[addr]
		switch {
		case found:
		case s.s.MaxRecipients > 0 && s.tx != nil && len(s.tx.Rcpts) >= s.s.MaxRecipients:
			r = "452 4.5.3 Too many recipients"
		default:
			r = s.replyFor("RCPT", "250 2.1.5 Ok")
		}
		if ok(r) && s.tx != nil {
			s.tx.Rcpts = append(s.tx.Rcpts, addr)
		}
		return s.answer(codes.PhaseRcpt, r)
	case "DATA":
		def := "354 End data with <CR><LF>.<CR><LF>"
		if s.tx == nil || len(s.tx.Rcpts) == 0 {
			def = "554 5.5.1 Error: no valid recipients" // as Postfix; RFC 2920 §3.1
		}
		r := s.replyFor("DATA", def)
		if !s.answer(codes.PhaseData, r) {
			return false
		}
		if !strings.HasPrefix(r, "3") {
			return true
		}
		return s.content()
	case "RSET":
		s.tx = nil
		return s.answer(codes.PhaseRset, s.replyFor("RSET", "250 2.0.0 Ok"))
	case "NOOP":
		s.write(s.replyFor("NOOP", "250 2.0.0 Ok")) // no phase, no action
		return true
	case "QUIT":
		s.answer(codes.PhaseQuit, s.replyFor("QUIT", "221 2.0.0 Bye"))
		s.flush()
		return false
	}
	s.write("500 5.5.2 Error: command not recognized")
	return true
}

func (s *session) ehloReply() string {
	if r, ok := s.s.Replies["EHLO"]; ok {
		return r
	}
	if s.s.NoEHLO {
		return "502 5.5.1 Error: command not implemented"
	}
	exts := s.s.Extensions
	if exts == nil {
		exts = DefaultExtensions
	}
	lines := append([]string{"peer.test Hello " + s.helo}, exts...)
	if s.s.StartTLS && !s.tls {
		lines = append(lines, "STARTTLS")
	}
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		b.WriteString("250" + sep + l)
	}
	return b.String()
}

// answer writes reply for a command of phase ph, or carries out the
// phase's action instead. false ends the session.
func (s *session) answer(ph codes.Phase, reply string) bool {
	a := s.action(ph)
	switch a {
	case Normal, ReplyThenReset:
		s.write(reply)
		if strings.HasPrefix(reply, "421") {
			s.flush() // RFC 5321 §3.8: 421 closes the connection
			return false
		}
		if a == Normal {
			return true
		}
		s.flush()
		s.reset()
	case Cut:
		s.flush()
		s.conn.Close()
	case Reset:
		s.flush()
		s.reset()
	case Stall:
		s.flush()
		s.p.signal(ph)
		io.Copy(io.Discard, s.conn) // until the client or Close ends it
		return false
	default:
		return true // StopReading and CutWhileReading belong to the content
	}
	s.p.signal(ph)
	return false
}

// reset closes with RST: SO_LINGER 0 makes close abort the connection.
func (s *session) reset() {
	s.raw.SetLinger(0)
	s.raw.Close()
}

func (s *session) write(reply string) {
	for _, l := range strings.Split(reply, "\n") {
		s.bw.WriteString(strings.TrimSuffix(l, "\r"))
		s.bw.WriteString("\r\n")
	}
}

func (s *session) flush() bool {
	if s.batch > 0 {
		s.p.recordBatch(s.batch)
		s.batch = 0
	}
	return s.bw.Flush() == nil
}

func (s *session) readLine() (string, error) {
	var line []byte
	for {
		chunk, err := s.br.ReadSlice('\n')
		line = append(line, chunk...)
		if err == nil {
			return strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r"), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
		if len(line) > 64<<10 {
			return "", errors.New("peertest: command line too long")
		}
	}
}

// content reads the message after 354 (with the content actions), and
// answers the end of data.
func (s *session) content() bool {
	if !s.flush() {
		return false
	}
	switch s.action(codes.PhaseContent) {
	case StopReading:
		s.p.signal(codes.PhaseContent)
		<-s.p.done
		return false
	case CutWhileReading:
		io.CopyN(io.Discard, s.br, s.s.CutAfterBytes)
		s.reset() // unread data would make it a RST anyway; say so
		s.p.signal(codes.PhaseContent)
		return false
	case Cut:
		s.conn.Close()
		s.p.signal(codes.PhaseContent)
		return false
	case Reset:
		s.reset()
		s.p.signal(codes.PhaseContent)
		return false
	case Stall:
		s.p.signal(codes.PhaseContent)
		io.Copy(io.Discard, s.conn)
		return false
	}
	var data []byte
	for {
		chunk, err := s.br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return false
		}
		atLineStart := len(data) == 0 || data[len(data)-1] == '\n'
		if atLineStart && err == nil && bytes.Equal(chunk, []byte(".\r\n")) {
			break
		}
		if atLineStart && len(chunk) > 0 && chunk[0] == '.' {
			chunk = chunk[1:] // RFC 5321 §4.5.2
		}
		data = append(data, chunk...)
	}
	r := s.replyFor("DOT", "250 2.0.0 Ok: queued")
	if a := s.action(codes.PhaseDot); ok(r) && s.tx != nil && (a == Normal || a == ReplyThenReset) {
		s.tx.Data = data
		s.p.recordMessage(*s.tx)
	}
	s.tx = nil
	return s.answer(codes.PhaseDot, r)
}

func (s *session) startTLS() bool {
	if !s.s.StartTLS || s.tls {
		s.write("502 5.5.1 STARTTLS not offered")
		return true
	}
	r := s.replyFor("STARTTLS", "220 2.0.0 Ready to start TLS")
	s.write(r)
	if !s.flush() {
		return false
	}
	if !strings.HasPrefix(r, "220") {
		return true
	}
	switch s.action(codes.PhaseOther) {
	case Cut:
		s.conn.Close()
		s.p.signal(codes.PhaseOther)
		return false
	case Reset:
		s.reset()
		s.p.signal(codes.PhaseOther)
		return false
	case Stall:
		s.p.signal(codes.PhaseOther)
		io.Copy(io.Discard, s.conn)
		return false
	}
	tc := tls.Server(s.raw, serverTLS())
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		return false
	}
	tc.SetDeadline(time.Time{})
	s.conn, s.tls, s.helo, s.tx = tc, true, "", nil
	s.br.Reset(tc)
	s.bw.Reset(tc)
	return true
}

// ok says a scripted reply is a 2xx.
func ok(reply string) bool { return strings.HasPrefix(reply, "2") }

// between is the address inside "FROM:<a@b> PARAMS" or "TO:<a@b>".
func between(arg string) string {
	i := strings.IndexByte(arg, '<')
	j := strings.IndexByte(arg, '>')
	if i < 0 || j < i {
		_, v, _ := strings.Cut(arg, ":")
		return strings.TrimSpace(v)
	}
	return arg[i+1 : j]
}
