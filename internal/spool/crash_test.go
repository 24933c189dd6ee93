package spool

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// crashChildEnv names the spool directory a re-executed test binary commits
// into until it is killed.
const crashChildEnv = "HIKYAKU_SPOOL_CRASH_CHILD"

// crashSize derives a message size from its ID, so the parent can rebuild
// and compare every recovered message.
func crashSize(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % 3000)
}

// TestCrashChild is the child side of TestKill9: it is skipped unless the
// parent re-executes the test binary with crashChildEnv set. It prints
// "ack <id>" only after Commit returned nil, and "done <id>" before calling
// Done (so a Done cut short by the kill is still excused).
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("only run by TestKill9")
	}
	s, pending, err := Open(dir, Options{
		SegmentSize: 64 << 10, // rotate and delete segments all the time
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println("open-error", err)
		os.Exit(3)
	}
	var out sync.Mutex
	say := func(verb, id string) {
		out.Lock()
		os.Stdout.WriteString(verb + " " + id + "\n") // one write: atomic on a pipe
		out.Unlock()
	}
	// Finish what the last run left (the parent has checked it), so that
	// its segments are deleted and each run starts small.
	for _, m := range pending {
		say("done", m.ID)
		s.Done(m.ID)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				env := testEnvelope(g*1_000_000 + i)
				data := testData(env.ID, crashSize(env.ID))
				if err := s.Commit(context.Background(), env, data); err != nil {
					say("error", err.Error())
					os.Exit(4)
				}
				say("ack", env.ID)
				if i%3 == 0 {
					say("done", env.ID)
					s.Done(env.ID)
				}
			}
		})
	}
	wg.Wait()
}

// TestKill9 proves the durability order with kill -9 rather than by review
// (docs/conventions.md habit 9): a child commits in a loop and is killed at a random moment;
// after each kill, every acknowledged and not-done message must be pending,
// byte for byte. The same directory is reused across runs, as a restarted
// server would.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary 20 times")
	}
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("child")
	}
	dir := t.TempDir()
	owed := make(map[string]bool) // acknowledged and not done: must survive
	for run := range 20 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Once the child acknowledges its first message, kill it at a
		// random moment in the stream.
		var kill <-chan time.Time
		watchdog := time.After(time.Minute)
		acks := 0
	read:
		for {
			select {
			case <-kill:
				cmd.Process.Signal(syscall.SIGKILL)
				kill = nil
			case <-watchdog:
				cmd.Process.Signal(syscall.SIGKILL)
				t.Errorf("run %d: child never acknowledged anything; stderr:\n%s", run, stderr.String())
			case line, ok := <-lines:
				if !ok {
					break read
				}
				verb, arg, _ := strings.Cut(line, " ")
				switch verb {
				case "ack":
					owed[arg] = true
					if acks++; acks == 1 {
						kill = time.After(time.Duration(rand.IntN(150_000)) * time.Microsecond)
					}
				case "done":
					delete(owed, arg)
				default:
					t.Fatalf("run %d: child said %q; stderr:\n%s", run, line, stderr.String())
				}
			}
		}
		cmd.Wait()
		if acks == 0 {
			t.Fatalf("run %d: child acknowledged nothing before the kill; stderr:\n%s", run, stderr.String())
		}

		opt, logs := testOptions()
		s, pending, err := Open(dir, opt)
		if err != nil {
			t.Fatalf("run %d: reopen after kill: %v", run, err)
		}
		found := make(map[string]*Message, len(pending))
		for _, m := range pending {
			found[m.ID] = m
		}
		for id := range owed {
			m, ok := found[id]
			if !ok {
				t.Fatalf("run %d: acknowledged message %s lost after kill -9", run, id)
			}
			if !bytes.Equal(m.Data, testData(id, crashSize(id))) {
				t.Fatalf("run %d: message %s changed after kill -9", run, id)
			}
		}
		if n := logs.count(slogError, ""); n != 0 {
			t.Errorf("run %d: a kill -9 (no power loss) left damage: %v", run, logs.recs)
		}
		s.Close()
		t.Logf("run %d: %d acknowledged, %d owed, %d pending", run, acks, len(owed), len(pending))
	}
}
