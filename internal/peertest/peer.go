package peertest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// Peer is a running scripted server on one loopback address.
type Peer struct {
	Addr netip.AddrPort

	ln    net.Listener
	done  chan struct{}
	acted chan codes.Phase
	once  sync.Once
	wg    sync.WaitGroup

	mu       sync.Mutex
	script   Script
	conns    int
	open     map[net.Conn]struct{}
	commands []string
	batches  []int
	messages []Received
}

// Start listens on 127.0.0.1 on a free port.
func Start(s Script) (*Peer, error) { return StartAt("127.0.0.1:0", s) }

// StartAt listens on a given loopback address, e.g. "127.0.0.2:2525", so
// that one port can serve several fake mail hosts with different scripts
// (the engine dials every MX on the same configured port).
func StartAt(listen string, s Script) (*Peer, error) {
	ap, err := netip.ParseAddrPort(listen)
	if err != nil {
		return nil, fmt.Errorf("peertest: %w", err)
	}
	if !ap.Addr().IsLoopback() {
		return nil, errors.New("peertest: listens on loopback only, not " + listen)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("peertest: %w", err)
	}
	p := &Peer{
		Addr:   ln.Addr().(*net.TCPAddr).AddrPort(),
		ln:     ln,
		done:   make(chan struct{}),
		acted:  make(chan codes.Phase, 256),
		script: s,
		open:   map[net.Conn]struct{}{},
	}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *Peer) accept() {
	defer p.wg.Done()
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		select {
		case <-p.done:
			p.mu.Unlock()
			conn.Close()
			return
		default:
		}
		p.conns++
		n, s := p.conns, p.script
		p.open[conn] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(conn, s, s.ActOnFirst == 0 || n <= s.ActOnFirst)
	}
}

// SetScript changes the behaviour of connections accepted from now on.
func (p *Peer) SetScript(s Script) {
	p.mu.Lock()
	p.script = s
	p.mu.Unlock()
}

// Connections is how many connections were accepted.
func (p *Peer) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns
}

// Commands are the command lines received, in order, over every
// connection (message content excluded).
func (p *Peer) Commands() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.commands...)
}

// Batches gives, for every flush of replies, how many commands those
// replies answered. The peer flushes only when it has read everything the
// client sent, as a pipelining server does (RFC 2920 §3.2), so a batch
// over 1 proves the client sent several commands without waiting.
func (p *Peer) Batches() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.batches...)
}

// PipelinedBatches counts the batches of more than one command.
func (p *Peer) PipelinedBatches() int {
	n := 0
	for _, b := range p.Batches() {
		if b > 1 {
			n++
		}
	}
	return n
}

// Messages are the messages accepted, in order.
func (p *Peer) Messages() []Received {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Received, len(p.messages))
	for i, m := range p.messages {
		m.Rcpts = append([]string(nil), m.Rcpts...)
		m.Data = append([]byte(nil), m.Data...)
		out[i] = m
	}
	return out
}

// Acted reports each scripted action once it has been carried out (for
// Cut, Reset and ReplyThenReset: after the connection is closed), so that
// a test can wait for it instead of sleeping.
func (p *Peer) Acted() <-chan codes.Phase { return p.acted }

// WaitIdle waits until every connection has ended (the client closed
// it, or a scripted action did), so that Commands, Batches and Messages
// are complete; false when some connection is still open after d.
func (p *Peer) WaitIdle(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		p.mu.Lock()
		n := len(p.open)
		p.mu.Unlock()
		if n == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Close stops listening, closes every connection and waits for them.
func (p *Peer) Close() error {
	var err error
	p.once.Do(func() {
		p.mu.Lock()
		close(p.done)
		err = p.ln.Close()
		for c := range p.open {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return err
}

func (p *Peer) forget(c net.Conn) {
	p.mu.Lock()
	delete(p.open, c)
	p.mu.Unlock()
}

func (p *Peer) record(line string) {
	p.mu.Lock()
	p.commands = append(p.commands, line)
	p.mu.Unlock()
}

func (p *Peer) recordBatch(n int) {
	p.mu.Lock()
	p.batches = append(p.batches, n)
	p.mu.Unlock()
}

func (p *Peer) recordMessage(m Received) {
	p.mu.Lock()
	p.messages = append(p.messages, m)
	p.mu.Unlock()
}

func (p *Peer) signal(ph codes.Phase) {
	select {
	case p.acted <- ph:
	default: // nobody is listening; tests that care read as they go
	}
}
