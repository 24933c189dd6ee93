package bounce

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Hostile and odd mails: each must finish within a bounded time and a
// bounded allocation, and give a clear answer (a report with at least one
// result, or ErrNotMessage for bytes with no header). The bounds are
// generous: measured on 2 cores the slowest case, 50 MB of text, takes
// 0.17 s (0.52 s under -race) and allocates 0.13 octets per input octet;
// the rest take milliseconds. So -race and a loaded machine pass, while a
// quadratic walk or a copy per part would not. A Read that does not
// finish in limitTime fails the test instead of hanging it.
const (
	limitTime  = 10 * time.Second
	allocSlack = 8 << 20 // fixed allowance beyond the per-octet bound
)

// limitRun reads msg once to warm up (rules, charset tables), then once
// measured; it checks the time and the allocation (TotalAlloc delta below
// perOctet times the input plus allocSlack).
func limitRun(t *testing.T, name string, msg []byte, perOctet float64) Report {
	t.Helper()
	if _, err := Read([]byte("From: warm@example.com\n\nwarm\n"), Options{}); err != nil {
		t.Fatalf("warm-up Read: %v", err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	type answer struct {
		rep Report
		err error
	}
	done := make(chan answer, 1)
	start := time.Now()
	go func() {
		rep, err := Read(msg, Options{})
		done <- answer{rep, err}
	}()
	var a answer
	select {
	case a = <-done:
	case <-time.After(limitTime):
		// The reading goroutine is left behind: the test has failed.
		t.Fatalf("%s: Read of %d octets did not finish within %v", name, len(msg), limitTime)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	rep, err := a.rep, a.err
	if err != nil && !errors.Is(err, ErrNotMessage) {
		t.Fatalf("%s: Read: %v", name, err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	bound := uint64(perOctet*float64(len(msg))) + allocSlack
	t.Logf("%s: %d octets in %v, %d octets allocated (%.2f per input octet), %d mallocs; kind %s, %d results",
		name, len(msg), elapsed.Round(time.Microsecond), alloc, float64(alloc)/float64(max(len(msg), 1)),
		after.Mallocs-before.Mallocs, rep.Kind, len(rep.Results))
	if elapsed > limitTime {
		t.Errorf("%s: Read took %v, bound %v", name, elapsed, limitTime)
	}
	if alloc > bound {
		t.Errorf("%s: Read allocated %d octets, bound %d (%.1f× the %d-octet input + %d)", name, alloc, bound, perOctet, len(msg), allocSlack)
	}
	if err != nil {
		// A clear answer too: not a message at all (no header).
		t.Logf("%s: %v", name, err)
		return rep
	}
	if len(rep.Results) == 0 {
		t.Errorf("%s: no results; every mail gives at least one", name)
	}
	return rep
}

// limitDSN is a Postfix-style DSN for limit@example.com whose header gets
// extraHeader and whose report gets extraParts after the delivery-status
// part (and before the closing delimiter).
func limitDSN(extraHeader, extraParts string) []byte {
	var b bytes.Buffer
	b.WriteString("Return-Path: <>\nFrom: MAILER-DAEMON@mx.example.org (Mail Delivery System)\n")
	b.WriteString("To: bounce+limits-1-000000@bounce.example.com\nSubject: Undelivered Mail Returned to Sender\n")
	b.WriteString(extraHeader)
	b.WriteString("MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"LIM\"\n\n")
	b.WriteString("--LIM\nContent-Type: text/plain\n\n<limit@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1\n    <limit@example.com>: Recipient address rejected: User unknown (in reply to RCPT TO command)\n\n")
	b.WriteString("--LIM\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n")
	b.WriteString("Final-Recipient: rfc822; limit@example.com\nAction: failed\nStatus: 5.1.1\n")
	b.WriteString("Diagnostic-Code: smtp; 550 5.1.1 <limit@example.com>: Recipient address rejected: User unknown\n\n")
	b.WriteString(extraParts)
	b.WriteString("--LIM--\n")
	return b.Bytes()
}

// wantLimitBounce: the DSN at the top was read in spite of what follows.
func wantLimitBounce(t *testing.T, name string, rep Report) {
	t.Helper()
	if rep.Kind != KindBounce || len(rep.Results) != 1 {
		t.Fatalf("%s: kind %q with %d results, want one bounce", name, rep.Kind, len(rep.Results))
	}
	r := rep.Results[0]
	if r.Recipient != "limit@example.com" || r.Code != 550 || r.Status != "5.1.1" || r.Reason != "userunknown" {
		t.Errorf("%s: %s %d %s %s, want limit@example.com 550 5.1.1 userunknown", name, r.Recipient, r.Code, r.Status, r.Reason)
	}
}

func TestLimitHugeMail(t *testing.T) {
	// 50 MB: the original message comes back attached, mostly base64.
	var att bytes.Buffer
	att.WriteString("--LIM\nContent-Type: message/rfc822\n\nFrom: news@mail.example.com\nTo: limit@example.com\nSubject: big\n")
	att.WriteString("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=IN\n\n--IN\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n")
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVph", 3)[:76] + "\n"
	for att.Len() < 50<<20 {
		att.WriteString(line)
	}
	att.WriteString("--IN--\n\n")
	msg := limitDSN("", att.String())
	wantLimitBounce(t, "50 MB", limitRun(t, "50 MB", msg, 1))

	// 50 MB of text in the bounce's own text part, where a reader looks.
	var txt bytes.Buffer
	txt.WriteString("From: MAILER-DAEMON@mx.example.org\nSubject: Returned mail\n\n")
	for txt.Len() < 50<<20 {
		txt.WriteString("the quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnop\n")
	}
	limitRun(t, "50 MB text", txt.Bytes(), 1)
}

func TestLimitMIMEBomb(t *testing.T) {
	var parts strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&parts, "--LIM\nContent-Type: text/plain\n\npart %d: unknown user <x%d@example.net>\n", i, i)
	}
	msg := limitDSN("", parts.String())
	wantLimitBounce(t, "10,000 parts", limitRun(t, "10,000 parts", msg, 4))

	// The same bomb with nothing in front: no DSN to read.
	var bomb strings.Builder
	bomb.WriteString("From: x@example.net\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n")
	for i := range 10000 {
		fmt.Fprintf(&bomb, "--B\nContent-Type: text/plain\n\n%d\n", i)
	}
	bomb.WriteString("--B--\n")
	limitRun(t, "10,000 parts, no DSN", []byte(bomb.String()), 4)
}

func TestLimitDeepNesting(t *testing.T) {
	nest := func(depth int, inner string) string {
		var b strings.Builder
		for i := range depth {
			fmt.Fprintf(&b, "--N%d\nContent-Type: multipart/mixed; boundary=N%d\n\n", i, i+1)
		}
		b.WriteString(inner)
		for i := depth - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "--N%d--\n", i+1)
		}
		return b.String()
	}
	// 1,000-deep nesting after the DSN parts.
	deep := "--LIM\nContent-Type: multipart/mixed; boundary=N0\n\n" + nest(1000, "--N1000\nContent-Type: text/plain\n\ndeep\n") + "--N0--\n"
	msg := limitDSN("", deep)
	wantLimitBounce(t, "1,000 deep after the DSN", limitRun(t, "1,000 deep after the DSN", msg, 4))

	// A DSN 1,000 levels down is beyond the depth bound: read as something,
	// not hang.
	inner := "--N1000\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; deep@example.com\nAction: failed\nStatus: 5.1.1\n\n"
	top := "From: MAILER-DAEMON@mx.example.org\nContent-Type: multipart/mixed; boundary=N0\n\n" + nest(1000, inner) + "--N0--\n"
	limitRun(t, "1,000 deep DSN", []byte(top), 4)

	// 1,000 nested message/rfc822 parts.
	var rfc strings.Builder
	for range 1000 {
		rfc.WriteString("From: MAILER-DAEMON@mx.example.org\nContent-Type: message/rfc822\n\n")
	}
	rfc.WriteString("From: a@example.com\n\nUser unknown <deep@example.com>\n")
	limitRun(t, "1,000 deep message/rfc822", []byte(rfc.String()), 4)
}

func TestLimitLongHeader(t *testing.T) {
	long := "X-Junk: " + strings.Repeat("A", 1<<20) + "\n"
	msg := limitDSN(long, "")
	wantLimitBounce(t, "1 MB header line", limitRun(t, "1 MB header line", msg, 4))

	// 1 MB of folded continuation lines of one field.
	var folded strings.Builder
	folded.WriteString("Subject: start\n")
	for folded.Len() < 1<<20 {
		folded.WriteString(" continued continued continued continued continued\n")
	}
	msg = limitDSN(folded.String(), "")
	wantLimitBounce(t, "1 MB folded header", limitRun(t, "1 MB folded header", msg, 4))

	// A 1 MB Content-Type with a boundary at its end.
	ct := "From: a@example.com\nContent-Type: multipart/mixed; " + strings.Repeat("x=y; ", 200000) + "boundary=Q\n\n--Q\n\nhello\n--Q--\n"
	limitRun(t, "1 MB Content-Type", []byte(ct), 4)
}

func TestLimitNUL(t *testing.T) {
	msg := limitDSN("X-Nul: a\x00b\n", "--LIM\nContent-Type: text/plain\n\n\x00\x00\x00 550 \x00 user unknown\x00\n")
	msg = bytes.Replace(msg, []byte("The mail system"), []byte("The\x00mail\x00system"), 1)
	wantLimitBounce(t, "NUL bytes", limitRun(t, "NUL bytes", msg, 4))

	rep := limitRun(t, "1 MB of NUL", make([]byte, 1<<20), 4)
	if rep.Kind == KindBounce || rep.Kind == KindFeedback {
		t.Errorf("1 MB of NUL: kind %q, want it read as no bounce", rep.Kind)
	}
}

func TestLimitLineEndings(t *testing.T) {
	lf := limitDSN("", "")
	crlf := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
	cr := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r"))
	mixed := bytes.Replace(crlf, []byte("\r\n"), []byte("\n"), 5)

	repLF := limitRun(t, "LF", lf, 4)
	wantLimitBounce(t, "LF", repLF)
	repCRLF := limitRun(t, "CRLF", crlf, 4)
	wantLimitBounce(t, "CRLF", repCRLF)
	if !reflect.DeepEqual(repLF, repCRLF) {
		t.Errorf("CRLF and LF read differently:\n%+v\n%+v", repLF, repCRLF)
	}
	wantLimitBounce(t, "mixed CRLF/LF", limitRun(t, "mixed CRLF/LF", mixed, 4))
	// Bare CR only (old Mac): no line breaks Read knows; bounded, some answer.
	limitRun(t, "bare CR", cr, 4)
	// 1 MB without any line break at all.
	limitRun(t, "1 MB one line", bytes.Repeat([]byte("550 user unknown <a@example.com> "), 1<<15), 4)
}

// TestLimitMaxSize: Options.MaxSize caps what is read; what lies in front
// of the cap is still read, and the allocation follows the cap, not the
// mail.
func TestLimitMaxSize(t *testing.T) {
	tail := "--LIM\nContent-Type: text/plain\n\n" + strings.Repeat("filler filler filler filler filler filler filler\n", 200000) // ~10 MB
	msg := limitDSN("", tail)
	Read(msg[:1000], Options{MaxSize: 1 << 20}) // warm up
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rep, err := Read(msg, Options{MaxSize: 1 << 20})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	wantLimitBounce(t, "MaxSize 1 MiB", rep)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20+allocSlack {
		t.Errorf("MaxSize 1 MiB of a %d-octet mail: %d octets allocated", len(msg), alloc)
	}
}
