package protocol

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

// message builds a DATA stream of about size octets: headers, then
// base64-like 76-octet lines, some dot-stuffed, then the terminator.
func message(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: a@example.com\r\nTo: b@example.com\r\nSubject: bench\r\n\r\n")
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 3)[:76]
	for i := 0; b.Len() < size; i++ {
		if i%50 == 0 {
			b.WriteString("..stuffed line\r\n")
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}

func BenchmarkReadData(b *testing.B) {
	for _, c := range []struct {
		name string
		size int
	}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}} {
		msg := message(c.size)
		b.Run(c.name, func(b *testing.B) {
			br := bufio.NewReader(nil) // the default 4 KiB, as a session has
			rd := bytes.NewReader(msg)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(msg)
				br.Reset(rd)
				if _, err := ReadData(br, io.Discard, DataOptions{MaxSize: 50 << 20}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReadLine(b *testing.B) {
	src := []byte(strings.Repeat("RCPT TO:<someone@example.com> NOTIFY=SUCCESS,FAILURE\r\n", 1000))
	rd := bytes.NewReader(src)
	br := bufio.NewReader(rd)
	b.SetBytes(int64(len(src) / 1000))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadLine(br, MaxCommandLine); err != nil {
			rd.Reset(src)
			br.Reset(rd)
		}
	}
}

func BenchmarkParseCommand(b *testing.B) {
	line := []byte("RCPT TO:<someone@example.com> NOTIFY=SUCCESS,FAILURE")
	b.ReportAllocs()
	for b.Loop() {
		ParseCommand(line)
	}
}

func BenchmarkParseRcpt(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseRcpt("TO:<someone@example.com> NOTIFY=SUCCESS,FAILURE"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReplyWriter(b *testing.B) {
	w := NewReplyWriter(io.Discard)
	r := Reply{Code: 250, Enhanced: "2.1.5", Lines: []string{"<someone@example.com> recipient ok"}}
	b.ReportAllocs()
	for b.Loop() {
		w.Write(r)
		w.Flush()
	}
}
