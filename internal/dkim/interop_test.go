package dkim

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Independent verifiers: our signatures are checked by two other DKIM
// implementations, each fetching the public key over DNS from the test's
// fake server (so DNSRecord's output is checked too). Debian packages,
// installed by scripts/setup-test-deps:
//
//   - Mail::DKIM (libmail-dkim-perl), testdata/verify.pl: its resolver is
//     Net::DNS, pointed at the fake with Mail::DKIM::DNS::resolver. The
//     Debian 12 version knows rsa-sha256 only; it reports ed25519
//     signatures as unsupported, which is checked as such.
//   - dkimpy (python3-dkim), testdata/verify.py: ed25519 and rsa-sha256,
//     its dnsfunc asking the fake with dnspython. It runs under
//     /usr/bin/python3 because that is where the package lives (a pyenv
//     python3 first in PATH would not see it).
//
// opendkim-testmsg was tried and left out: it verifies only against the
// system resolver, which tests must not use.
//
// Without the tools the tests skip, except under CI=true, where a missing
// verifier is a failure.

func needTool(t *testing.T, path, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing (Debian package %s): run scripts/setup-test-deps", path, pkg)
		}
		t.Skipf("%s missing: install Debian package %s (scripts/setup-test-deps) to verify with an independent DKIM implementation", path, pkg)
	}
}

func runVerifier(t *testing.T, w *world, name string, args []string, msg string) []string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = strings.NewReader(msg)
	cmd.Env = append(os.Environ(), "DNS_PORT="+w.srv.Addr[strings.LastIndexByte(w.srv.Addr, ':')+1:])
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s%s", name, err, out.String(), errb.String())
	}
	return strings.Split(strings.TrimSpace(out.String()), "\n")
}

// interopMessages are signed and handed to the other verifiers: plain
// ASCII, 8-bit Japanese with folded headers, a body without a final CRLF,
// and one whose unterminated last line ends in blanks.
var interopMessages = map[string]string{
	"plain": plainMsg,
	"japanese": "From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?=\r\n <yamada@example.com>\r\n" +
		"To: hanako@example.net,\r\n\tjiro@example.net\r\n" +
		"Subject: =?UTF-8?B?44GT44KT44Gr44Gh44Gv?=\r\n" +
		"Date: Mon, 2 Jan 2006 15:04:05 +0900\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=UTF-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n" +
		"\r\n" +
		"こんにちは、世界。\r\n" +
		"\t indented line  \r\n",
	"no final newline":    "From: a@example.com\r\nSubject:   spaced   out  \r\n\r\nline one  \r\nline two",
	"unterminated blanks": "From: a@example.com\r\nSubject: x\r\n\r\nline one  \r\nline two \t",
}

// dkimpyDiffers are the messages dkimpy 1.1.4 gets wrong: relaxed body
// canonicalization must drop the blanks at the end of every line, the
// unterminated last one included, before adding its CRLF (RFC 6376
// §3.4.4); dkimpy hashes "line two \r\n" there. Mail::DKIM and go-msgauth
// hash "line two\r\n".
var dkimpyDiffers = map[string]bool{"unterminated blanks": true}

func TestInteropMailDKIM(t *testing.T) {
	needTool(t, "/usr/bin/dkimproxy-verify", "libmail-dkim-perl")
	w := newWorld(t)
	for name, msg := range interopMessages {
		t.Run(name, func(t *testing.T) {
			signed := w.sign(t, msg)
			lines := runVerifier(t, w, "Mail::DKIM", []string{"/usr/bin/perl", "testdata/verify.pl"}, signed)
			if len(lines) != 2 {
				t.Fatalf("Mail::DKIM saw %d signatures, want 2: %q", len(lines), lines)
			}
			// Order is header order: ed25519 first, then rsa.
			if !strings.HasPrefix(lines[1], "pass example.com rsa rsa-sha256") {
				t.Errorf("Mail::DKIM on the rsa-sha256 signature: %q", lines[1])
			}
			ed := strings.Fields(lines[0])
			if len(ed) < 4 || ed[1] != "example.com" || ed[2] != "ed" || ed[3] != "ed25519-sha256" {
				t.Errorf("Mail::DKIM on the ed25519 signature: %q", lines[0])
			}
			if ed[0] != "pass" && !strings.Contains(lines[0], "unsupported algorithm") {
				t.Errorf("Mail::DKIM rejected the ed25519 signature for another reason than not knowing it: %q", lines[0])
			}
			lines = runVerifier(t, w, "Mail::DKIM", []string{"/usr/bin/perl", "testdata/verify.pl"}, signed+"tampered\r\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[1], "fail example.com rsa") {
				t.Errorf("Mail::DKIM on a tampered copy: %q", lines)
			}
		})
	}
}

func TestInteropDkimpy(t *testing.T) {
	needTool(t, "/usr/bin/dkimverify", "python3-dkim")
	w := newWorld(t)
	for name, msg := range interopMessages {
		if dkimpyDiffers[name] {
			continue
		}
		t.Run(name, func(t *testing.T) {
			signed := w.sign(t, msg)
			lines := runVerifier(t, w, "dkimpy", []string{"/usr/bin/python3", "testdata/verify.py"}, signed)
			want := []string{"0 pass example.com ed", "1 pass example.com rsa"}
			if strings.Join(lines, "\n") != strings.Join(want, "\n") {
				t.Fatalf("dkimpy says %q, want %q\n%s", lines, want, signed)
			}
			// And a tampered copy must fail there too, or the check proves nothing.
			bad := strings.Replace(signed, "example.com>", "example.org>", 1)
			if bad == signed {
				bad = signed + "tampered\r\n"
			}
			lines = runVerifier(t, w, "dkimpy", []string{"/usr/bin/python3", "testdata/verify.py"}, bad)
			for _, l := range lines {
				if strings.Contains(l, "pass") {
					t.Fatalf("dkimpy passed a tampered message: %q", lines)
				}
			}
		})
	}
}
