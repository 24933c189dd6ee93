package filter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Command is a filter run as a program, once per message.
type Command struct {
	Path     string
	Args     []string
	Timeout  time.Duration // 0 means 60 seconds
	FailOpen bool          // accept when the command gives no verdict
}

// Exit statuses with a meaning (sysexits.h).
const (
	exitReject   = 77 // EX_NOPERM
	exitTempfail = 75 // EX_TEMPFAIL
)

// maxOutput bounds what is kept of the command's stdout and stderr.
const maxOutput = 4096

// Check runs the command on msg.
func (c *Command) Check(ctx context.Context, env Envelope, msg []byte) (Verdict, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Stdin = bytes.NewReader(msg)
	stdout, stderr := &capped{max: maxOutput}, &capped{max: maxOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Env = environ(env, len(msg))
	ownProcessGroup(cmd)
	// Children that keep the output pipes open must not hold Wait forever.
	cmd.WaitDelay = time.Second

	err := cmd.Run()
	reason := firstLine(stdout.String())
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return failed(c.FailOpen, fmt.Errorf("filter: %s: cancelled", c.Path))
		}
		return failed(c.FailOpen, fmt.Errorf("filter: %s: no verdict within %v", c.Path, timeout))
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return Verdict{Action: Accept, Reason: reason}, nil
	case errors.As(err, &ee) && ee.Exited():
		switch ee.ExitCode() {
		case exitReject:
			return Verdict{Action: Reject, Reason: reason}, nil
		case exitTempfail:
			return Verdict{Action: Tempfail, Reason: reason}, nil
		}
		return failed(c.FailOpen, fmt.Errorf("filter: %s exited with status %d (want 0, %d or %d)%s",
			c.Path, ee.ExitCode(), exitReject, exitTempfail, stderrTail(stderr)))
	}
	return failed(c.FailOpen, fmt.Errorf("filter: %s: %v%s", c.Path, err, stderrTail(stderr)))
}

// environ is the parent's environment without HIKYAKU_* variables, plus
// the envelope.
func environ(env Envelope, size int) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HIKYAKU_") {
			out = append(out, kv)
		}
	}
	rcpts := make([]string, len(env.Rcpts))
	for i, r := range env.Rcpts {
		rcpts[i] = oneLine(r)
	}
	return append(out,
		"HIKYAKU_ID="+oneLine(env.ID),
		"HIKYAKU_CLIENT_IP="+oneLine(env.ClientIP),
		"HIKYAKU_HELO="+oneLine(env.Helo),
		"HIKYAKU_FROM="+oneLine(env.From),
		"HIKYAKU_RCPTS="+strings.Join(rcpts, " "),
		"HIKYAKU_AUTH_USER="+oneLine(env.AuthUser),
		"HIKYAKU_SIZE="+strconv.Itoa(size),
	)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return cleanReason(line)
}

func stderrTail(c *capped) string {
	s := strings.TrimSpace(c.String())
	if s == "" {
		return ""
	}
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return ": " + truncate(s, 300)
}

// capped keeps the first max bytes written and discards the rest, so a
// chatty filter cannot fill memory, while still draining its pipe.
type capped struct {
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (c *capped) String() string { return c.buf.String() }
