package smtpclient

import (
	"context"
	"testing"

	"github.com/hikyaku/hikyaku/internal/peertest"
)

// BenchmarkSend: 1 KiB messages, one recipient each, over one pipelined
// connection to the in-process peer (which is part of what is measured).
func BenchmarkSend(b *testing.B) {
	p, err := peertest.Start(peertest.Script{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	c, err := Dial(context.Background(), "peer.test", p.Addr, testOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Quit()
	m := message(1024)
	b.SetBytes(int64(len(m.Data)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.Send(context.Background(), m)
		if err != nil || res[0].Code != 250 {
			b.Fatal(res, err)
		}
	}
}
