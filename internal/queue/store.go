package queue

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Recipient is one relay recipient and where its delivery stands.
type Recipient struct {
	Address       string    `json:"address"`            // where to send
	Original      string    `json:"original,omitempty"` // RCPT TO as received, when it differs (aliases)
	Notify        string    `json:"notify,omitempty"`
	ORCPT         string    `json:"orcpt,omitempty"`
	Status        string    `json:"status"` // queued, deferred, delivered, failed
	Attempts      int       `json:"attempts"`
	LastCode      int       `json:"last_code,omitempty"`
	LastEnhanced  string    `json:"last_enhanced,omitempty"`
	LastText      string    `json:"last_text,omitempty"`
	LastHost      string    `json:"last_host,omitempty"`
	LastAttempt   time.Time `json:"last_attempt,omitzero"`
	NextAttempt   time.Time `json:"next_attempt,omitzero"`
	DelayNotified bool      `json:"delay_notified,omitempty"`
}

// Final says the recipient needs no more attempts.
func (r Recipient) Final() bool {
	switch r.Status {
	case StatusDelivered, StatusFailed, StatusUnknown:
		return true
	}
	return false
}

// Recipient statuses.
const (
	StatusQueued    = "queued"    // not tried yet
	StatusDeferred  = "deferred"  // a transient failure; NextAttempt says when
	StatusDelivered = "delivered" // a 2xx from the next hop
	StatusFailed    = "failed"    // permanent failure or expired; a DSN went to the sender
	StatusUnknown   = "unknown"   // lost after the final dot: possibly delivered, not re-sent
)

// Item is one message in the relay queue.
type Item struct {
	ID         string      `json:"id"`
	From       string      `json:"from"`
	ReceivedAt time.Time   `json:"received_at"`
	ClientIP   string      `json:"client_ip,omitempty"`
	Size       int64       `json:"size"`
	SMTPUTF8   bool        `json:"smtputf8,omitempty"`
	Body       string      `json:"body,omitempty"`
	EnvID      string      `json:"envid,omitempty"`
	Ret        string      `json:"ret,omitempty"`
	Hold       bool        `json:"hold,omitempty"` // filled from the hold flag when read
	Recipients []Recipient `json:"recipients"`
}

// NextAttempt is when the earliest recipient not yet final is due; false
// when every recipient is final.
func (it Item) NextAttempt() (time.Time, bool) {
	var at time.Time
	found := false
	for _, rc := range it.Recipients {
		if rc.Final() {
			continue
		}
		if !found || rc.NextAttempt.Before(at) {
			at, found = rc.NextAttempt, true
		}
	}
	return at, found
}

// Entry is what the runner needs to schedule an item, read without its
// metadata or octets.
type Entry struct {
	ID     string
	NextAt time.Time // zero: due now
	Retry  bool      // an operator asked for a retry
	Hold   bool
}

// ErrNotFound is returned for an id that is not in the queue.
var ErrNotFound = errors.New("no such message in the queue")

// validID keeps ids from the queue's own namespace: spool ids are short
// and printable.
func validID(id string) bool {
	return id != "" && len(id) <= 128 && !strings.ContainsAny(id, "/\\\x00") && id != "." && id != ".."
}

func notFound(id string) error { return fmt.Errorf("%q: %w", id, ErrNotFound) }
