package campaign

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/store"
	"github.com/hikyaku/hikyaku/internal/store/storetest"
)

// dbProxy stands between the store and MariaDB so that a test can take
// the database away (every connection cut, new ones refused) and give it
// back on the same address.
type dbProxy struct {
	t      *testing.T
	addr   string // ours
	target string // MariaDB's
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newDBProxy(t *testing.T, target string) *dbProxy {
	p := &dbProxy{t: t, target: target}
	p.up()
	t.Cleanup(p.down)
	return p
}

func (p *dbProxy) up() {
	addr := p.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *dbProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// proxiedMySQL is a fresh MariaDB store reached through a dbProxy.
func proxiedMySQL(t *testing.T) (string, *dbProxy) {
	cfg, err := mysql.ParseDSN(storetest.FreshMySQL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := newDBProxy(t, cfg.Addr)
	cfg.Addr = p.addr
	cfg.Timeout = time.Second
	return cfg.FormatDSN(), p
}

// The database goes away in the middle of a run: the run pauses (-102/-101
// retried) and carries on when it is back; every recipient gets exactly
// one copy.
func TestDatabaseDownPausesRun(t *testing.T) {
	dsn, proxy := proxiedMySQL(t)
	w := newWorld(t, nil)
	var rows []string
	for i := range 150 {
		rows = append(rows, fmt.Sprintf("r%d@ok.test\tR", i))
	}
	st, c, spec := setup(t, dsn, rows, time.Hour)
	r := runner(t, st, c, spec, w.engine(t), func(o *Options) { o.Rate = 200; o.StoreRetry = 30 * time.Second })
	go func() {
		for r.Stats().Sent < 30 {
			time.Sleep(5 * time.Millisecond)
		}
		proxy.down()
		time.Sleep(1500 * time.Millisecond)
		proxy.up()
	}()
	if err := r.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if r.Stats().StoreWaits == 0 {
		t.Error("the run never waited for the store: the outage came too late")
	}
	dl := w.delivered()
	for i := range rows {
		if a := fmt.Sprintf("r%d@ok.test", i); dl[a] != 1 {
			t.Errorf("%s: %d copies", a, dl[a])
		}
	}
	prog, err := st.Progress(context.Background(), c.ID)
	if err != nil || prog[store.StateSent] != len(rows) {
		t.Errorf("progress %v %v", prog, err)
	}
}

// A database that stays away stops the run with its code, resumably: the
// next run, with the database back, finishes without a second copy.
func TestDatabaseGoneStopsResumably(t *testing.T) {
	dsn, proxy := proxiedMySQL(t)
	w := newWorld(t, nil)
	var rows []string
	for i := range 100 {
		rows = append(rows, fmt.Sprintf("r%d@ok.test\tR", i))
	}
	st, c, spec := setup(t, dsn, rows, time.Hour)
	r := runner(t, st, c, spec, w.engine(t), func(o *Options) { o.Rate = 200; o.StoreRetry = time.Second })
	go func() {
		for r.Stats().Sent < 20 {
			time.Sleep(5 * time.Millisecond)
		}
		proxy.down()
	}()
	err := r.Run(context.Background())
	if code, _ := codes.SystemCode(err); code != store.CodeUpdate && code != store.CodeConnection {
		t.Fatalf("Run: %v, want a -102/-101 stop", err)
	}
	proxy.up()
	r = runner(t, st, c, spec, w.engine(t), nil)
	if err := r.Run(context.Background()); err != nil {
		t.Fatalf("resumed: %v", err)
	}
	dl := w.delivered()
	doubt := 0
	got := finals(t, st, c)
	for i := range rows {
		a := fmt.Sprintf("r%d@ok.test", i)
		switch {
		case dl[a] > 1:
			t.Errorf("%s: %d copies", a, dl[a])
		case got[a].FinalCode == 625:
			doubt++
		case dl[a] != 1 || got[a].FinalCode != 250:
			t.Errorf("%s: %d copies, final %d", a, dl[a], got[a].FinalCode)
		}
	}
	// A dot mark committed just as the connection to the database broke
	// stays on disk though the dot was withheld: such a recipient is in
	// doubt (625), never sent twice.
	t.Logf("%d recipients left in doubt by the outage", doubt)
}
