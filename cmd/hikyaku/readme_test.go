package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeBlocks returns the shell lines of the ```sh blocks under the
// README heading that starts with heading, comments after two spaces cut.
func readmeBlocks(t *testing.T, heading string) [][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]string
	in, code := false, false
	comment := regexp.MustCompile(`\s{2,}#.*$`)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = strings.HasPrefix(line, "## "+heading)
		case in && line == "```sh":
			code = true
			blocks = append(blocks, nil)
		case code && line == "```":
			code = false
		case code && strings.TrimSpace(line) != "":
			blocks[len(blocks)-1] = append(blocks[len(blocks)-1], comment.ReplaceAllString(line, ""))
		}
	}
	if len(blocks) == 0 {
		t.Fatalf("README.md has no ```sh block under a heading %q", "## "+heading)
	}
	return blocks
}

// readmeShell runs one README line in dir as a new user would type it,
// with `go run ./cmd/hikyaku` standing for the built binary and the
// README's SMTP address for the test's own (a free loopback port).
func readmeShell(t *testing.T, dir, smtp string, env []string, line string) string {
	t.Helper()
	out, err := readmeCmd(t, dir, smtp, env, line).CombinedOutput()
	if err != nil {
		t.Fatalf("README command failed: %s\n%v\n%s", line, err, out)
	}
	return string(out)
}

func readmeCmd(t *testing.T, dir, smtp string, env []string, line string) *exec.Cmd {
	t.Helper()
	cmdline := strings.ReplaceAll(line, "go run ./cmd/hikyaku", hikyakuBin(t))
	cmdline = strings.ReplaceAll(cmdline, "127.0.0.1:2525", smtp)
	cmd := exec.Command("sh", "-c", cmdline)
	cmd.Dir, cmd.Env = dir, env
	return cmd
}

// TestReadmeQuickStart runs README's quick start as written, in a fresh
// folder: the server on its defaults (data in ./hikyaku-data), a user, a
// message by swaks, the Maildir file it names, then the campaign lines
// that stay on this machine (the list, the template and the dry run).
// Only the listen addresses are the test's, so that it never takes port
// 2525 or 8025 from anything else running here, and DNS goes to the fake.
func TestReadmeQuickStart(t *testing.T) {
	need(t, "swaks")
	dir := t.TempDir()
	smtp, httpAddr := freePort(t), freePort(t)
	dns := startFakeDNS(t, "$TTL 300\n")
	cfg := filepath.Join(dir, "hikyaku.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("[smtp]\nlisten = [%q]\n[http]\nlisten = %q\n[delivery]\ndns_servers = [%q]\n", smtp, httpAddr, dns)), 0o644); err != nil {
		t.Fatal(err)
	}
	// HIKYAKU_CONFIG is the README's way of naming a configuration
	// without --config on every command.
	env := append(os.Environ(), "HIKYAKU_CONFIG="+cfg)

	serveLine := ""
	for _, b := range readmeBlocks(t, "The two commands") {
		for _, l := range b {
			if strings.HasSuffix(l, " serve") {
				serveLine = l
			}
		}
	}
	if serveLine != "go run ./cmd/hikyaku serve" {
		t.Fatalf("README's serve command is %q; this test starts `go run ./cmd/hikyaku serve`", serveLine)
	}
	serve := exec.Command(hikyakuBin(t), "serve")
	serve.Dir, serve.Env = dir, env
	var serveOut bytes.Buffer
	serve.Stdout, serve.Stderr = &serveOut, &serveOut
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		serve.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- serve.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			serve.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		c, err := net.Dial("tcp", smtp)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not listen on %s: %v\n%s", smtp, err, serveOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	blocks := readmeBlocks(t, "From clone to a delivered message")
	lines := blocks[0]
	if len(lines) != 3 || !strings.Contains(lines[0], "user add") || !strings.HasPrefix(lines[1], "swaks ") || !strings.HasPrefix(lines[2], "ls ") {
		t.Fatalf("README's quick start changed (user add, swaks, ls expected); update this test with it: %q", lines)
	}
	readmeShell(t, dir, smtp, env, lines[0])
	// The server reads users.toml again within a second of a change
	// (README: no restart needed), so a swaks typed at once may still meet
	// 550 5.1.1; a refused message is not stored, and the line is typed
	// again as a person would.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, err := readmeCmd(t, dir, smtp, env, lines[1]).CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) || !bytes.Contains(out, []byte("550 5.1.1")) {
			t.Fatalf("README command failed: %s\n%v\n%s", lines[1], err, out)
		}
	}
	// The message is in the Maildir once the router synced it: moments
	// after the 250, not at once.
	var listed string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := readmeCmd(t, dir, smtp, env, lines[2]).CombinedOutput()
		if err == nil && strings.TrimSpace(string(out)) != "" {
			listed = strings.TrimSpace(string(out))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s shows no delivered message: %v %s\n%s", lines[2], err, out, serveOut.String())
		}
	}
	if strings.Contains(listed, "\n") {
		t.Fatalf("one message sent, the Maildir holds more: %q", listed)
	}
	folder := strings.TrimPrefix(lines[2], "ls ")
	msg, err := os.ReadFile(filepath.Join(dir, folder, listed))
	if err != nil {
		t.Fatal(err)
	}
	// What the README says the stored message starts with.
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	if !bytes.HasPrefix(msg, []byte("Return-Path: ")) {
		t.Errorf("the stored message does not start with Return-Path:\n%s", head)
	}
	for _, f := range []string{"\nDelivered-To: ", "\nEnvelope-To: ", "\nDelivery-Date: ", "\nReceived: "} {
		if !bytes.Contains(head, []byte(f)) {
			t.Errorf("the stored message's header lacks %s:\n%s", strings.TrimSpace(f), head)
		}
	}

	// The campaign lines that stay here: the list, the template, the dry
	// run (it composes every message and sends none). The real run and the
	// report need a reachable remote, which a test on loopback is not.
	ran := 0
	for _, b := range readmeBlocks(t, "Bulk campaigns") {
		for _, l := range b {
			if strings.HasPrefix(l, "printf ") || strings.Contains(l, "--dry-run") {
				out := readmeShell(t, dir, smtp, env, l)
				if strings.Contains(l, "--dry-run") && !strings.Contains(out, "1") {
					t.Errorf("the dry run of a one-row list says nothing of its row:\n%s", out)
				}
				ran++
			}
		}
	}
	if ran != 3 {
		t.Errorf("ran %d campaign lines of README; expected the list, the template and the dry run", ran)
	}
}
