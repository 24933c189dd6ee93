package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "idle":
		err = runIdle(ctx, os.Args[2:])
	case "probe":
		err = runProbe(ctx, os.Args[2:])
	case "crash":
		err = runCrash(ctx, os.Args[2:])
	case "load":
		err = runLoad(ctx, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchclient %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchclient idle|probe|crash|load [flags]   (-h on each for flags)")
	os.Exit(2)
}

// conn is the least SMTP client that can tell a reply code apart from a
// broken connection, which is all the measurements need.
type conn struct {
	c       net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	timeout time.Duration
}

func dial(addr string, timeout time.Duration) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &conn{c: c, r: bufio.NewReaderSize(c, 4096), w: bufio.NewWriterSize(c, 8192), timeout: timeout}, nil
}

// reply reads one (possibly multi-line) reply and returns its code and
// last line.
func (c *conn) reply() (int, string, error) {
	if err := c.c.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, "", err
	}
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return 0, "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 {
			return 0, line, fmt.Errorf("short reply line %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return 0, line, fmt.Errorf("bad reply line %q", line)
		}
		if len(line) == 3 || line[3] == ' ' {
			return code, line, nil
		}
	}
}

// send writes raw bytes (commands include their CRLF) and flushes them.
func (c *conn) send(s string) error {
	if err := c.c.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return err
	}
	if _, err := c.w.WriteString(s); err != nil {
		return err
	}
	return c.w.Flush()
}

// cmd sends one command and expects a reply with the given code.
func (c *conn) cmd(line string, want int) error {
	if err := c.send(line + "\r\n"); err != nil {
		return err
	}
	code, text, err := c.reply()
	if err != nil {
		return err
	}
	if code != want {
		return &replyError{cmd: line, code: code, text: text}
	}
	return nil
}

// replyError is an SMTP reply other than the expected one: the server
// answered, so the connection itself is fine.
type replyError struct {
	cmd  string
	code int
	text string
}

func (e *replyError) Error() string { return fmt.Sprintf("%s: got %q", e.cmd, e.text) }

func isReplyError(err error) bool {
	var re *replyError
	return errors.As(err, &re)
}

// greet reads the greeting and says EHLO.
func (c *conn) greet() error {
	code, text, err := c.reply()
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if code != 220 {
		return &replyError{cmd: "greeting", code: code, text: text}
	}
	return c.cmd("EHLO bench.example.test", 250)
}

func (c *conn) close() { _ = c.c.Close() }

// message builds a message of about size octets whose only distinctive
// line is the X-Bench-Token header, so a token can be counted in a Maildir
// with one grep. The content ends without CRLF; the caller sends the
// terminator "\r\n.\r\n".
func message(from, to, token string, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: bench\r\nMessage-ID: <%s@bench.example.test>\r\nX-Bench-Token: %s\r\n\r\n", from, to, token, token)
	line := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz", 2)[:70] + "\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	s := b.String()
	return strings.TrimSuffix(s, "\r\n")
}
