package spool

import (
	"os"
	"sync/atomic"
	"time"
)

// base62 digits in ASCII order, so that IDs of equal length sort like the
// numbers they encode.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// idClock is the last issued ID value in microseconds since the Unix epoch.
// Every ID takes a strictly larger value, so IDs are unique within the
// process however many goroutines ask at once.
var idClock atomic.Uint64

// idPID tells apart processes issuing IDs at the same microsecond. Linux
// pid_max is at most 2^22, under 62^4.
var idPID = uint64(os.Getpid()) % (62 * 62 * 62 * 62)

// NewID returns a new queue ID like "1KnPH0-0Bx3-00Qa": Unix seconds (6
// base62 digits), microseconds (4), process ID (4). IDs sort by creation
// time, are safe in file names and in reply text, and are unique across
// goroutines and restarts: Open moves the clock past every ID it recovers,
// so even a clock stepped back across a restart cannot repeat one.
func NewID() string {
	now := uint64(time.Now().UnixMicro())
	for {
		last := idClock.Load()
		v := max(now, last+1)
		if idClock.CompareAndSwap(last, v) {
			return formatID(v, idPID)
		}
	}
}

func formatID(v, pid uint64) string {
	var b [16]byte
	putBase62(b[0:6], v/1e6)
	b[6] = '-'
	putBase62(b[7:11], v%1e6)
	b[11] = '-'
	putBase62(b[12:16], pid)
	return string(b[:])
}

func putBase62(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = base62[v%62]
		v /= 62
	}
}

// parseID returns the microsecond value of an ID made by NewID.
func parseID(id string) (uint64, bool) {
	if len(id) != 16 || id[6] != '-' || id[11] != '-' {
		return 0, false
	}
	sec, ok1 := getBase62(id[0:6])
	us, ok2 := getBase62(id[7:11])
	if !ok1 || !ok2 || us >= 1e6 {
		return 0, false
	}
	return sec*1e6 + us, true
}

func getBase62(s string) (uint64, bool) {
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'A' && c <= 'Z':
			d = uint64(c-'A') + 10
		case c >= 'a' && c <= 'z':
			d = uint64(c-'a') + 36
		default:
			return 0, false
		}
		v = v*62 + d
	}
	return v, true
}

// advanceIDs moves the ID clock past a recovered ID. An ID more than a day
// ahead of the clock is ignored: following it would date every new ID in the
// future, and the process ID part still keeps new IDs apart.
func advanceIDs(id string) {
	v, ok := parseID(id)
	if !ok || v > uint64(time.Now().Add(24*time.Hour).UnixMicro()) {
		return
	}
	for {
		last := idClock.Load()
		if last >= v || idClock.CompareAndSwap(last, v) {
			return
		}
	}
}
