package bounce

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"sort"
	"strings"
	"testing"
)

// findCorpusMails is the corpus's maildir-bsd folder: testdata/corpus
// (Sisimai's public set, kept with its licence; docs/bounce-corpus.md says
// where it comes from), or $HIKYAKU_BOUNCE_CORPUS to read another; ok false
// when it is not there.
func findCorpusMails() (string, bool) {
	dir := os.Getenv("HIKYAKU_BOUNCE_CORPUS")
	if dir == "" {
		dir = filepath.Join("testdata", "corpus")
	}
	mails := filepath.Join(dir, "maildir-bsd")
	if st, err := os.Stat(mails); err != nil || !st.IsDir() {
		return mails, false
	}
	return mails, true
}

// fuzzSeeds are the own samples and a spread of corpus mails (one per
// format family: the first file of each name prefix).
func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	paths, _ := filepath.Glob(filepath.Join(samplesDir, "*.eml"))
	if dir, ok := findCorpusMails(); ok {
		all, _ := filepath.Glob(filepath.Join(dir, "*"))
		sort.Strings(all)
		seen := map[string]bool{}
		for _, p := range all {
			base := filepath.Base(p)
			family := base
			if i := strings.LastIndexByte(base, '-'); i > 0 {
				family = base[:i]
			}
			if !seen[family] && len(seen) < 40 {
				seen[family] = true
				paths = append(paths, p)
			}
		}
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil {
			seeds = append(seeds, b)
		}
	}
	// Small hand-made edge cases.
	for _, s := range []string{
		"",
		"\n",
		"From: a@example.com\n\n",
		"Subject: x\r\n\r\nbody",
		"Content-Type: multipart/report; boundary=x\n\n--x\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; a@example.com\nAction: failed\nStatus: 5.1.1\n--x--\n",
		"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n--\n",
		"Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\nContent-Type: message/rfc822\n\n",
		"Content-Type: text/plain; charset=iso-2022-jp\n\n\x1b$B%a!<%k\x1b(B 550 unknown user <a@example.jp>\n",
		"Content-Transfer-Encoding: base64\nContent-Type: text/plain\n\n!!!!====\n",
		"Subject: =?ISO-2022-JP?B?GyRCJUEbKEI=?= =?x?Q?broken\n\n",
		// Found by FuzzRead: lower-casing invalid UTF-8 changes the
		// length, so an index into strings.ToLower(v) is not one into v.
		"Content-TYpe:\x80BoundArY=",
		"Content-Type: \xff\xfe; charset=\x80",
		// Found by FuzzRead: base64 of two octets ("00") decoded into a
		// buffer sized for none.
		"Content-TrAnsfer-EnCoding:BAse64\n00",
		// Found by FuzzRead: findAddrs gives overlapping addresses for
		// "a@b@c", and recipientBlocks slices line[a.end:next.start].
		"0000:0000000000000000000000\nContent-TYpe:multipArt/report;BoundArY=00000000\n0000000000@0.0@0.0",
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// checkReport holds the invariants of any report Read gives.
func checkReport(t *testing.T, rep Report) {
	t.Helper()
	switch rep.Kind {
	case KindBounce, KindFeedback, KindAutoReply, KindNone:
	default:
		t.Fatalf("kind %q is not one of the four", rep.Kind)
	}
	if len(rep.Results) == 0 {
		t.Fatalf("kind %q with no results; every mail gives at least one", rep.Kind)
	}
	for _, r := range rep.Results {
		if r.Code == 0 && r.Reason != "delivered" {
			t.Fatalf("result %+v has code 0", r)
		}
		if _, ok := LookupReason(r.Reason); !ok {
			t.Fatalf("result %+v: reason %q is not in Reasons", r, r.Reason)
		}
		if strings.ContainsAny(r.Reply, "\r\n") {
			t.Fatalf("reply %q is more than one line", r.Reply)
		}
	}
	if (rep.Kind == KindNone || rep.Kind == KindAutoReply) && (len(rep.Results) != 1 || rep.Results[0].Code != -501) {
		t.Fatalf("kind %q: results %+v, want one -501", rep.Kind, rep.Results)
	}
}

// failOnPanic turns a panic into a failure of this input, with the stack.
func failOnPanic(t *testing.T, msg []byte) {
	if v := recover(); v != nil {
		t.Fatalf("panic on %q: %v\n%s", truncateForLog(msg), v, debug.Stack())
	}
}

func truncateForLog(b []byte) []byte {
	if len(b) > 200 {
		return b[:200]
	}
	return b
}

// FuzzRead feeds Read arbitrary mails: no panic, at least one result, only
// known reasons, and the same answer when read twice (deterministic).
func FuzzRead(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		// A panic fails this input only (t.Fatalf), so one known crasher
		// among the seeds does not stop every other test of the package.
		defer failOnPanic(t, msg)
		in := append([]byte(nil), msg...)
		rep, err := Read(msg, Options{})
		if err != nil {
			return
		}
		checkReport(t, rep)
		if string(msg) != string(in) {
			t.Fatal("Read modified its input")
		}
		again, err := Read(msg, Options{})
		if err != nil {
			t.Fatalf("second Read: %v", err)
		}
		if !reflect.DeepEqual(rep, again) {
			t.Fatalf("Read is not deterministic:\n%+v\n%+v", rep, again)
		}
	})
}

// FuzzHeader feeds the header splitter and the MIME walk: no panic, the
// rest is a suffix of the input, field names are non-empty and without a
// colon, and the walk stays within its part bound.
func FuzzHeader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		defer failOnPanic(t, msg)
		h, rest := splitHeader(msg)
		if len(rest) > len(msg) || string(msg[len(msg)-len(rest):]) != string(rest) {
			t.Fatalf("rest (%d octets) is not a suffix of the input (%d)", len(rest), len(msg))
		}
		for _, fl := range h {
			if fl.name == "" || strings.ContainsRune(fl.name, ':') {
				t.Fatalf("bad field name %q", fl.name)
			}
		}
		w := newWalker()
		w.walk(h, rest, 0, false)
		if len(w.parts) > maxParts {
			t.Fatalf("walk kept %d parts, bound %d", len(w.parts), maxParts)
		}
		for _, p := range w.parts {
			_ = w.decodeWords(p.header.get("Subject"))
		}
	})
}

// FuzzDSN feeds the delivery-status field parser arbitrary text: no panic.
func FuzzDSN(f *testing.F) {
	for _, s := range []string{
		"Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; a@example.com\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 unknown\n",
		"Final-Recipient: <a@example.net>\nAction: FAILED\nStatus: 5.2.2 (mailbox full)\n",
		"Original-Recipient: rfc822;info@example.org\nFinal-Recipient: rfc822; x@example.net\n",
		"Diagnostic-Code: smtp; 550-5.1.1 a\n 550-5.1.1 b\n 550 5.1.1 c\n",
		"Final-Recipient:\n\n\n:\n ;\n",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		_ = parseDSN(text)
		_ = hasDSNFields(text)
	})
}
