package filter

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// server is a filter server on loopback or a unix socket whose behaviour
// per connection is the handle function.
type server struct {
	ln      net.Listener
	mu      sync.Mutex
	envs    []Envelope
	msgs    [][]byte
	handled sync.WaitGroup
}

func serve(t *testing.T, network string, handle func(s *server, c net.Conn)) (*server, *Socket) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "f.sock")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.handled.Add(1)
			go func() {
				defer s.handled.Done()
				defer c.Close()
				handle(s, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.handled.Wait() })
	// Generous: a loaded CI machine under the race detector has been seen
	// to take over 2s to schedule the server's reply.
	return s, &Socket{Network: network, Address: ln.Addr().String(), Timeout: 10 * time.Second}
}

// judge reads a request and answers v.
func judge(v Verdict) func(*server, net.Conn) {
	return func(s *server, c net.Conn) {
		env, msg, err := ReadRequest(bufio.NewReader(c), 1<<20)
		if err != nil {
			io.WriteString(c, "garbage because "+err.Error()+"\n")
			return
		}
		s.mu.Lock()
		s.envs, s.msgs = append(s.envs, env), append(s.msgs, msg)
		s.mu.Unlock()
		WriteVerdict(c, v)
	}
}

func TestSocketVerdicts(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		for _, want := range []Verdict{{Accept, ""}, {Reject, "virus found: Eicar-Test-Signature"}, {Tempfail, "clamd busy"}} {
			t.Run(network+"/"+want.Action, func(t *testing.T) {
				s, f := serve(t, network, judge(want))
				v, err := f.Check(context.Background(), testEnv, []byte(testMsg))
				if err != nil || v != want {
					t.Fatalf("got %+v, %v; want %+v", v, err, want)
				}
				if !reflect.DeepEqual(s.envs, []Envelope{testEnv}) || string(s.msgs[0]) != testMsg {
					t.Fatalf("server saw %+v %q", s.envs, s.msgs)
				}
			})
		}
	}
}

func TestSocketEnvelope(t *testing.T) {
	s, f := serve(t, "unix", judge(Verdict{Accept, ""}))
	env := Envelope{ID: "x", ClientIP: "2001:db8::1", Helo: "h\r\nRcpt: <injected@evil>", From: "", Rcpts: []string{"only@example.net"}}
	if _, err := f.Check(context.Background(), env, nil); err != nil {
		t.Fatal(err)
	}
	got := s.envs[0]
	want := Envelope{ID: "x", ClientIP: "2001:db8::1", Helo: "h  Rcpt: <injected@evil>", From: "", Rcpts: []string{"only@example.net"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("server saw %+v, want %+v (null sender, no auth user, no injected recipient)", got, want)
	}
	if len(s.msgs[0]) != 0 {
		t.Fatal("an empty message arrives empty")
	}
	req := string(Request(env, nil))
	if strings.Contains(req, "Auth-User") || !strings.Contains(req, "From: <>\n") {
		t.Fatalf("request %q", req)
	}
}

func TestSocketFailures(t *testing.T) {
	unavailable := Verdict{Tempfail, "content filter unavailable, try again later"}
	cases := []struct {
		name    string
		handle  func(*server, net.Conn)
		wantErr string
		why     string
	}{
		{"silent", func(s *server, c net.Conn) { io.Copy(io.Discard, c) }, "timeout", "a server that never answers times out"},
		{"hang up", func(s *server, c net.Conn) { bufio.NewReader(c).ReadString('\n') }, "closed without a reply", "closing without a verdict"},
		{"gibberish", func(s *server, c net.Conn) { io.WriteString(c, "OK\n") }, "not a verdict", "an unknown answer is not accept"},
		{"overlong", func(s *server, c net.Conn) { io.WriteString(c, "reject "+strings.Repeat("x", 2000)+"\n") }, "longer than", "a reply line is bounded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, f := serve(t, "tcp", c.handle)
			f.Timeout = 300 * time.Millisecond
			start := time.Now()
			v, err := f.Check(context.Background(), testEnv, []byte(testMsg))
			if time.Since(start) > 2*time.Second {
				t.Fatal("the timeout did not bound the exchange")
			}
			if v != unavailable || err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("got %+v, %v; want tempfail and an error containing %q — %s", v, err, c.wantErr, c.why)
			}
			f.FailOpen = true
			if v, err := f.Check(context.Background(), testEnv, []byte(testMsg)); v.Action != Accept || err == nil {
				t.Fatalf("FailOpen: got %+v, %v; want accept and the error", v, err)
			}
		})
	}

	f := &Socket{Network: "unix", Address: filepath.Join(t.TempDir(), "none.sock")}
	if v, err := f.Check(context.Background(), testEnv, []byte(testMsg)); v != unavailable || err == nil {
		t.Fatalf("no server: %+v, %v", v, err)
	}
}

// TestSocketEarlyVerdict: the server judges by the envelope alone and
// answers without reading a large message; the verdict counts.
func TestSocketEarlyVerdict(t *testing.T) {
	_, f := serve(t, "tcp", func(s *server, c net.Conn) {
		r := bufio.NewReader(c)
		for {
			l, err := r.ReadString('\n')
			if err != nil || l == "\n" {
				break
			}
		}
		io.WriteString(c, "reject sender blocked\r\n")
	})
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB: more than socket buffers hold
	v, err := f.Check(context.Background(), testEnv, big)
	if err != nil || v != (Verdict{Reject, "sender blocked"}) {
		t.Fatalf("got %+v, %v", v, err)
	}
}

func TestSocketCancel(t *testing.T) {
	_, f := serve(t, "tcp", func(s *server, c net.Conn) { io.Copy(io.Discard, c) })
	f.Timeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if v, err := f.Check(ctx, testEnv, []byte(testMsg)); v.Action != Tempfail || err == nil {
		t.Fatalf("%+v %v", v, err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("cancelling the session did not end the exchange")
	}
}

func TestParseVerdict(t *testing.T) {
	cases := []struct {
		line string
		want Verdict
		ok   bool
	}{
		{"accept\n", Verdict{Accept, ""}, true},
		{"ACCEPT fine\r\n", Verdict{Accept, "fine"}, true},
		{"reject  spam \n", Verdict{Reject, "spam"}, true},
		{"tempfail", Verdict{Tempfail, ""}, true},
		{"rejected", Verdict{}, false},
		{"", Verdict{}, false},
		{" accept", Verdict{}, false},
	}
	for _, c := range cases {
		v, err := ParseVerdict(c.line)
		if (err == nil) != c.ok || v != c.want {
			t.Errorf("ParseVerdict(%q) = %+v, %v", c.line, v, err)
		}
	}
}

func TestReadRequestErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"no version", "ID: x\n\n", "want \"HIKYAKU-FILTER/1\""},
		{"no size", "HIKYAKU-FILTER/1\nID: x\n\n", "without Size"},
		{"bad size", "HIKYAKU-FILTER/1\nSize: -3\n\n", "bad size"},
		{"too big", "HIKYAKU-FILTER/1\nSize: 99\n\n", "over 10"},
		{"bad line", "HIKYAKU-FILTER/1\nnonsense\n\n", "bad request line"},
		{"short body", "HIKYAKU-FILTER/1\nSize: 5\n\nab", "EOF"},
	}
	for _, c := range cases {
		_, _, err := ReadRequest(bufio.NewReader(strings.NewReader(c.in)), 10)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// FuzzRequest round-trips arbitrary envelopes and messages through the
// wire format: whatever the fields hold, the server reads back the same
// message and one Rcpt per recipient.
func FuzzRequest(f *testing.F) {
	f.Add("id", "192.0.2.1", "helo", "a@b", "c@d", "user", []byte(testMsg))
	f.Add("\n", "\r\n", "x\nSize: 1", "", "\n\n", "", []byte("\n\n"))
	f.Fuzz(func(t *testing.T, id, ip, helo, from, rcpt, user string, msg []byte) {
		env := Envelope{ID: id, ClientIP: ip, Helo: helo, From: from, Rcpts: []string{rcpt, rcpt}, AuthUser: user}
		got, gotMsg, err := ReadRequest(bufio.NewReader(bytes.NewReader(Request(env, msg))), 1<<20)
		if err != nil {
			t.Fatalf("our own request does not parse: %v", err)
		}
		if !bytes.Equal(gotMsg, msg) || len(got.Rcpts) != 2 {
			t.Fatalf("round trip: %+v %q", got, gotMsg)
		}
		if got.ID != strings.TrimSpace(oneLine(id)) && got.ID != oneLine(id) {
			t.Fatalf("ID %q from %q", got.ID, id)
		}
	})
}
