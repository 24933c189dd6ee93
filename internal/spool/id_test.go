package spool

import (
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestNewID(t *testing.T) {
	shape := regexp.MustCompile(`^[0-9A-Za-z]{6}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}$`)
	const workers, each = 8, 5000
	var (
		mu  sync.Mutex
		all = make(map[string]bool)
		wg  sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			mine := make([]string, each)
			for i := range mine {
				mine[i] = NewID()
			}
			if !slices.IsSorted(mine) {
				t.Errorf("IDs from one goroutine do not sort in issue order")
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range mine {
				if !shape.MatchString(id) {
					t.Errorf("ID %q is not file-name and reply safe", id)
				}
				if all[id] {
					t.Errorf("duplicate ID %q", id)
				}
				all[id] = true
			}
		})
	}
	wg.Wait()
}

func TestIDRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		v    uint64
		why  string
	}{
		{"epoch", 0, "smallest value"},
		{"now", uint64(time.Now().UnixMicro()), "today's IDs"},
		{"last microsecond", 1_760_000_000*1e6 + 999_999, "the microsecond field is 4 digits wide"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := formatID(c.v, 4194303)
			if v, ok := parseID(id); !ok || v != c.v {
				t.Errorf("parseID(%q) = %d, %v; want %d", id, v, ok, c.v)
			}
		})
	}
	for _, bad := range []string{"", "short", "1KnPH0_0Bx3-00Qa", "1KnPH0-zzzz-00Qa", "1KnPH0-0B!3-00Qa"} {
		if _, ok := parseID(bad); ok {
			t.Errorf("parseID(%q) accepted", bad)
		}
	}
}

func TestRecoveredIDsMoveTheClock(t *testing.T) {
	// After a restart with the clock stepped back, new IDs must still be
	// larger than any recovered one.
	ahead := formatID(uint64(time.Now().Add(time.Hour).UnixMicro()), idPID)
	advanceIDs(ahead)
	if id := NewID(); id <= ahead {
		t.Errorf("NewID %q not after recovered %q", id, ahead)
	}
	far := formatID(uint64(time.Now().Add(48*time.Hour).UnixMicro()), idPID)
	advanceIDs(far)
	if id := NewID(); id >= far {
		t.Errorf("an ID two days ahead moved the clock: %q", id)
	}
}
