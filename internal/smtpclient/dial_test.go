package smtpclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/peertest"
)

// TestDial601Refused: nothing listens on the port; the kernel refuses.
func TestDial601Refused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	_, err = Dial(context.Background(), "peer.test", addr, testOptions())
	checkErr(t, err, 601, false)
	if e := err.(*Error); !strings.Contains(e.Result.Text, "refused") || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("text %q / cause %v should say refused", e.Result.Text, e.Err)
	}
}

// TestDial601ConnectTimeout: a listener whose accept queue is full drops
// SYNs (Linux), so the connect itself times out: 601, not 640.
func TestDial601ConnectTimeout(t *testing.T) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
	// Fill the accept queue until a connect hangs.
	full := false
	for range 8 {
		c, err := net.DialTimeout("tcp", addr.String(), 100*time.Millisecond)
		if err != nil {
			full = true
			break
		}
		defer c.Close()
	}
	if !full {
		t.Skip("the kernel never dropped a SYN for a full accept queue")
	}
	start := time.Now()
	opt := testOptions()
	opt.Timeouts.Connect = short
	_, err = Dial(context.Background(), "peer.test", addr, opt)
	checkErr(t, err, 601, false)
	if e := err.(*Error); !strings.Contains(e.Result.Text, "connect timeout") || time.Since(start) > 5*short {
		t.Errorf("text %q after %v, want a connect timeout after %v", e.Result.Text, time.Since(start), short)
	}
}

// TestDial609NoLocalAddress: binding to a source address this host does
// not have fails with EADDRNOTAVAIL, the error port exhaustion gives too.
func TestDial609NoLocalAddress(t *testing.T) {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_nonlocal_bind"); err == nil && strings.TrimSpace(string(b)) != "0" {
		t.Skip("ip_nonlocal_bind is on: any source address binds")
	}
	p := startPeer(t, peertest.Script{})
	opt := testOptions()
	opt.LocalAddr = netip.MustParseAddr("192.0.2.1") // TEST-NET-1, RFC 5737
	_, err := Dial(context.Background(), "peer.test", p.Addr, opt)
	checkErr(t, err, 609, false)
	if p.Connections() != 0 {
		t.Error("the peer saw a connection")
	}
}

// TestDial609DescriptorsExhausted runs the test binary again with a low
// RLIMIT_NOFILE and every descriptor taken, so that socket(2) itself
// fails with EMFILE on the real code path.
func TestDial609DescriptorsExhausted(t *testing.T) {
	if os.Getenv("SMTPCLIENT_EMFILE_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDial609DescriptorsExhausted$", "-test.v")
		cmd.Env = append(os.Environ(), "SMTPCLIENT_EMFILE_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "RESULT 609") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = 64
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	var held []*os.File
	defer func() {
		for _, f := range held {
			f.Close()
		}
	}()
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		held = append(held, f)
	}
	_, err := Dial(context.Background(), "peer.test", netip.MustParseAddrPort("127.0.0.1:9"), testOptions())
	var e *Error
	if errors.As(err, &e) {
		fmt.Printf("RESULT %d %s\n", e.Result.Code, e.Result.Text)
	} else {
		fmt.Printf("RESULT none %v\n", err)
	}
}
