package filter

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// script writes a /bin/sh filter into a temp dir.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "filter.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

var testEnv = Envelope{
	ID: "1a2b3c", ClientIP: "192.0.2.1", Helo: "mail.example.com",
	From: "a@example.com", Rcpts: []string{"b@example.net", "c@example.net"}, AuthUser: "alice",
}

const testMsg = "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n"

func TestCommandVerdicts(t *testing.T) {
	cases := []struct {
		name     string
		body     string
		failOpen bool
		want     Verdict
		wantErr  string
		why      string
	}{
		{"accept", "cat >/dev/null; echo looks fine; exit 0", false, Verdict{Accept, "looks fine"}, "", "exit 0"},
		{"accept silent", "exit 0", false, Verdict{Accept, ""}, "", "no output, no reason; stdin unread is fine"},
		{"reject", "cat >/dev/null; printf 'spam detected (score 12)\\nsecond line\\n'; exit 77", false, Verdict{Reject, "spam detected (score 12)"}, "", "77 is reject; only the first line is the reason"},
		{"tempfail", "echo scanner busy; exit 75", false, Verdict{Tempfail, "scanner busy"}, "", "75 is EX_TEMPFAIL"},
		{"exit 1 is a failure", "echo oops >&2; exit 1", false, Verdict{Tempfail, "content filter unavailable, try again later"}, "status 1 (want 0, 77 or 75): oops", "a crashing script must not reject mail"},
		{"fail open", "exit 3", true, Verdict{Accept, "content filter unavailable; accepted unfiltered"}, "status 3", "FailOpen accepts, still reporting the error"},
		{"explicit tempfail is not failure", "exit 75", true, Verdict{Tempfail, ""}, "", "FailOpen only covers failures, not a tempfail verdict"},
		{"signal", "kill -9 $$", false, Verdict{Tempfail, "content filter unavailable, try again later"}, "killed", "death by a signal is a failure"},
		{"reason cleaned", "printf 'caf\\303\\251\\tbad\\033[31m   spaced\\n'; exit 77", false, Verdict{Reject, "caf bad [31m spaced"}, "", "the reason goes into an SMTP reply: printable ASCII, blanks squeezed"},
		{"reason capped", "head -c 5000 /dev/zero | tr '\\0' x; exit 77", false, Verdict{Reject, strings.Repeat("x", maxReason)}, "", "reasons are at most 200 characters"},
		{"huge output", "head -c 20000000 /dev/zero | tr '\\0' y; exit 0", false, Verdict{Accept, strings.Repeat("y", maxReason)}, "", "output beyond the cap is drained and dropped"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &Command{Path: script(t, c.body), FailOpen: c.failOpen, Timeout: 10 * time.Second}
			v, err := f.Check(context.Background(), testEnv, []byte(testMsg))
			if v != c.want {
				t.Errorf("verdict %+v, want %+v — %s", v, c.want, c.why)
			}
			if c.wantErr == "" && err != nil {
				t.Errorf("unexpected error %v", err)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Errorf("error %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

func TestCommandEnvironment(t *testing.T) {
	t.Setenv("HIKYAKU_FROM", "leaked@parent") // must not reach the filter as is
	t.Setenv("KEEP_ME", "yes")
	out := filepath.Join(t.TempDir(), "out")
	f := &Command{Path: script(t, `cat > "$1.msg"; env | grep -E '^(HIKYAKU_|KEEP_ME)' | sort > "$1.env"`), Args: []string{out}}
	env := testEnv
	env.From = ""
	env.Helo = "evil\nHIKYAKU_INJECTED=1"
	if v, err := f.Check(context.Background(), env, []byte(testMsg)); v.Action != Accept || err != nil {
		t.Fatalf("%+v %v", v, err)
	}
	msg, _ := os.ReadFile(out + ".msg")
	if string(msg) != testMsg {
		t.Errorf("stdin was %q", msg)
	}
	got, _ := os.ReadFile(out + ".env")
	want := strings.Join([]string{
		"HIKYAKU_AUTH_USER=alice",
		"HIKYAKU_CLIENT_IP=192.0.2.1",
		"HIKYAKU_FROM=",
		"HIKYAKU_HELO=evil HIKYAKU_INJECTED=1",
		"HIKYAKU_ID=1a2b3c",
		"HIKYAKU_RCPTS=b@example.net c@example.net",
		"HIKYAKU_SIZE=" + strconv.Itoa(len(testMsg)),
		"KEEP_ME=yes",
	}, "\n") + "\n"
	if string(got) != want {
		t.Errorf("environment\n%s\nwant\n%s", got, want)
	}
}

// TestCommandTimeout checks the timeout ends the command and the children
// it left behind holding the pipes, and that the answer is tempfail.
func TestCommandTimeout(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	f := &Command{Path: script(t, `sleep 30 & echo $! > `+pidFile+`; sleep 30`), Timeout: 300 * time.Millisecond}
	start := time.Now()
	v, err := f.Check(context.Background(), testEnv, []byte(testMsg))
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("took %v: the timeout did not end the filter", el)
	}
	if v.Action != Tempfail || err == nil || !strings.Contains(err.Error(), "no verdict within") {
		t.Fatalf("%+v %v, want tempfail and a timeout error", v, err)
	}
	pid, _ := os.ReadFile(pidFile)
	if p := strings.TrimSpace(string(pid)); p != "" {
		time.Sleep(100 * time.Millisecond)
		if _, err := os.Stat("/proc/" + p); err == nil {
			if st, _ := os.ReadFile("/proc/" + p + "/stat"); !strings.Contains(string(st), ") Z ") {
				t.Errorf("the filter's child %s outlived the timeout", p)
			}
		}
	}
}

func TestCommandMissing(t *testing.T) {
	f := &Command{Path: filepath.Join(t.TempDir(), "nope")}
	v, err := f.Check(context.Background(), testEnv, []byte(testMsg))
	if v.Action != Tempfail || err == nil {
		t.Fatalf("%+v %v: a missing program is a failure", v, err)
	}
}

func TestCommandCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &Command{Path: script(t, "exit 0")}
	if v, err := f.Check(ctx, testEnv, []byte(testMsg)); v.Action != Tempfail || err == nil {
		t.Fatalf("%+v %v: a cancelled session gets no accept", v, err)
	}
}
