package filter

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Socket is a filter server reached over a unix or tcp socket, one
// connection per message, speaking the protocol of the package doc.
type Socket struct {
	Network, Address string        // "unix" and a path, or "tcp" and host:port
	Timeout          time.Duration // the whole exchange; 0 means 60 seconds
	FailOpen         bool          // accept when the server gives no verdict
}

// protocolLine opens every request.
const protocolLine = "HIKYAKU-FILTER/1"

// maxReplyLine bounds the server's answer.
const maxReplyLine = 1000

// Check sends env and msg and reads the verdict.
func (s *Socket) Check(ctx context.Context, env Envelope, msg []byte) (Verdict, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var d net.Dialer
	conn, err := d.DialContext(ctx, s.Network, s.Address)
	if err != nil {
		return failed(s.FailOpen, fmt.Errorf("filter: %s %s: %w", s.Network, s.Address, err))
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) }) // the caller's cancel too
	defer stop()

	// Write while reading: the server may answer (and close) before it
	// has read the whole message, and a verdict then still counts.
	werr := make(chan error, 1)
	go func() {
		_, err := conn.Write(Request(env, msg))
		werr <- err
	}()
	line, rerr := readLine(bufio.NewReaderSize(conn, 512))
	conn.Close() // unblocks the writer when the server stopped reading
	wErr := <-werr
	if rerr != nil {
		if wErr != nil && !errors.Is(wErr, net.ErrClosed) {
			rerr = fmt.Errorf("%w (sending: %v)", rerr, wErr)
		}
		return failed(s.FailOpen, fmt.Errorf("filter: %s %s: no verdict: %w", s.Network, s.Address, rerr))
	}
	v, err := ParseVerdict(line)
	if err != nil {
		return failed(s.FailOpen, err)
	}
	return v, nil
}

func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxReplyLine {
			return "", fmt.Errorf("reply longer than %d octets", maxReplyLine)
		}
		switch {
		case err == nil:
			return string(b), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(b) > 0:
			return string(b), nil // a last line without LF
		case errors.Is(err, io.EOF):
			return "", errors.New("connection closed without a reply")
		}
		return "", err
	}
}

// Request is the octets sent for one message.
func Request(env Envelope, msg []byte) []byte {
	var b bytes.Buffer
	b.Grow(256 + len(msg))
	b.WriteString(protocolLine + "\n")
	field := func(name, value string) {
		b.WriteString(name + ": " + oneLine(value) + "\n")
	}
	field("ID", env.ID)
	field("Client-IP", env.ClientIP)
	field("Helo", env.Helo)
	field("From", "<"+env.From+">")
	for _, r := range env.Rcpts {
		field("Rcpt", "<"+r+">")
	}
	if env.AuthUser != "" {
		field("Auth-User", env.AuthUser)
	}
	field("Size", strconv.Itoa(len(msg)))
	b.WriteString("\n")
	b.Write(msg)
	return b.Bytes()
}

// ReadRequest reads one request, for filter servers written in Go (and
// the tests). Messages over maxSize octets are refused before reading.
func ReadRequest(r *bufio.Reader, maxSize int64) (Envelope, []byte, error) {
	first, err := r.ReadString('\n')
	if err != nil {
		return Envelope{}, nil, err
	}
	if strings.TrimRight(first, "\r\n") != protocolLine {
		return Envelope{}, nil, fmt.Errorf("filter: request starts with %q, want %q", truncate(first, 40), protocolLine)
	}
	var env Envelope
	size := int64(-1)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return Envelope{}, nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			return Envelope{}, nil, fmt.Errorf("filter: bad request line %q", truncate(line, 80))
		}
		switch name {
		case "ID":
			env.ID = value
		case "Client-IP":
			env.ClientIP = value
		case "Helo":
			env.Helo = value
		case "From":
			env.From = strings.TrimSuffix(strings.TrimPrefix(value, "<"), ">")
		case "Rcpt":
			env.Rcpts = append(env.Rcpts, strings.TrimSuffix(strings.TrimPrefix(value, "<"), ">"))
		case "Auth-User":
			env.AuthUser = value
		case "Size":
			if size, err = strconv.ParseInt(value, 10, 64); err != nil || size < 0 {
				return Envelope{}, nil, fmt.Errorf("filter: bad size %q", value)
			}
		} // other names: from a later version, ignored
	}
	if size < 0 {
		return Envelope{}, nil, errors.New("filter: request without Size")
	}
	if size > maxSize {
		return Envelope{}, nil, fmt.Errorf("filter: message of %d octets, over %d", size, maxSize)
	}
	msg := make([]byte, size)
	if _, err := io.ReadFull(r, msg); err != nil {
		return Envelope{}, nil, err
	}
	return env, msg, nil
}

// WriteVerdict writes the reply line for v.
func WriteVerdict(w io.Writer, v Verdict) error {
	line := v.Action
	if r := cleanReason(v.Reason); r != "" {
		line += " " + r
	}
	_, err := io.WriteString(w, line+"\n")
	return err
}
