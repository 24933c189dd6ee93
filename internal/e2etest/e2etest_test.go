package e2etest

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestStop(t *testing.T) {
	clean := exec.Command("sleep", "30")
	if err := clean.Start(); err != nil {
		t.Skip(err)
	}
	// sleep dies of the interrupt: that is an exit error, reported.
	if err := Stop(clean, 5*time.Second); err == nil || !strings.Contains(err.Error(), "exited with") {
		t.Errorf("interrupted sleep: %v, want its exit error", err)
	}
	stubborn := exec.Command("sh", "-c", "trap '' INT; echo ready; sleep 30")
	out, err := stubborn.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := stubborn.Start(); err != nil {
		t.Fatal(err)
	}
	// The trap is set once the shell says so.
	if _, err := out.Read(make([]byte, 6)); err != nil {
		t.Fatal(err)
	}
	if err := Stop(stubborn, 200*time.Millisecond); err == nil || !strings.Contains(err.Error(), "did not stop") {
		t.Errorf("a process ignoring SIGINT: %v, want 'did not stop'", err)
	}
	if stubborn.ProcessState == nil {
		t.Error("Stop returned before the killed process was reaped")
	}
}

func TestLockedBuffer(t *testing.T) {
	var b LockedBuffer
	b.Write([]byte("a"))
	b.Write([]byte("b"))
	if b.String() != "ab" {
		t.Errorf("%q", b.String())
	}
	b.Reset()
	if b.String() != "" {
		t.Errorf("after Reset %q", b.String())
	}
}
