package spool

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// logRecorder keeps every log record so tests can assert that damage was
// reported, not just survived.
type logRecorder struct {
	mu   sync.Mutex
	recs []string // "LEVEL message"
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Level.String()+" "+r.Message)
	return nil
}

// count returns how many records at level contain substr.
func (l *logRecorder) count(level slog.Level, substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if strings.HasPrefix(r, level.String()+" ") && strings.Contains(r, substr) {
			n++
		}
	}
	return n
}

func (l *logRecorder) reset() {
	l.mu.Lock()
	l.recs = nil
	l.mu.Unlock()
}

func testOptions() (Options, *logRecorder) {
	rec := new(logRecorder)
	return Options{Logger: slog.New(rec)}, rec
}

func openT(t testing.TB, dir string, opt Options) (*Spool, []*Message) {
	t.Helper()
	s, pending, err := Open(dir, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, pending
}

func testEnvelope(i int) *Envelope {
	return &Envelope{
		ID:   NewID(),
		From: fmt.Sprintf("sender%d@example.org", i),
		Recipients: []Recipient{
			{Address: "user@example.com", Mailbox: "example.com/user"},
			{Address: "far@example.net", Relay: "far@example.net", Notify: "FAILURE,DELAY", ORCPT: "rfc822;far@example.net"},
		},
		ReceivedAt: time.Unix(1_760_000_000+int64(i), 0).UTC(),
		ClientIP:   "192.0.2.7",
		Helo:       "client.example.org",
		Proto:      "ESMTPS",
		Size:       1024,
	}
}

// testData is a message whose bytes can be re-derived from its ID alone.
func testData(id string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Subject: %s\r\n\r\n", id)
	for b.Len() < size {
		b.WriteString(id)
		b.WriteString("\r\n")
	}
	return b.Bytes()[:max(size, 0)]
}

func commitT(t testing.TB, s *Spool, env *Envelope, data []byte) {
	t.Helper()
	if err := s.Commit(context.Background(), env, data); err != nil {
		t.Fatalf("Commit %s: %v", env.ID, err)
	}
}

// sameMessage compares a recovered message with what was committed.
func sameMessage(t *testing.T, got *Message, env *Envelope, data []byte) {
	t.Helper()
	if !bytes.Equal(got.Data, data) {
		t.Errorf("%s: data differs: got %d octets, want %d", env.ID, len(got.Data), len(data))
	}
	g, w := got.Envelope, *env
	if !g.ReceivedAt.Equal(w.ReceivedAt) {
		t.Errorf("%s: ReceivedAt %v, want %v", env.ID, g.ReceivedAt, w.ReceivedAt)
	}
	g.ReceivedAt, w.ReceivedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: envelope differs:\n got %+v\nwant %+v", env.ID, g, w)
	}
}

// files lists the directory entries whose names end in suffix.
func files(t testing.TB, dir, suffix string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), suffix) {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

func ids(ms []*Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func onlySegment(t testing.TB, dir string) string {
	t.Helper()
	segs := files(t, dir, ".log")
	if len(segs) != 1 {
		t.Fatalf("want exactly one segment, have %v", segs)
	}
	return filepath.Join(dir, segs[0])
}

const (
	slogWarn  = slog.LevelWarn
	slogError = slog.LevelError
)
