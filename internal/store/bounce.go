package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/outcome"
)

// Bounce is one recipient result read from a mail that came back to a
// campaign's return path (issue 12).
type Bounce struct {
	Campaign        string // campaign name, as in the VERP address
	Row             int64  // list row number (recipients.row_no)
	Key             string // identifies this bounce for this recipient: the same Key again is the same bounce (idempotent)
	Code            int    // seed-001 result code read from the bounce (550, 700, 860, -500 ...)
	Enhanced        string
	Text            string // the remote reply / diagnostic
	Reason          string // Sisimai reason name
	Blame           string // "recipient", "sender", "network", "unknown" or ""
	Final, Original string // final recipient the bounce names; original recipient
	Complaint       bool   // an ARF feedback report: suppress the address at once, reason "feedback"
	At              time.Time
}

// BounceOutcome says what RecordBounce did with a bounce.
type BounceOutcome string

const (
	BounceRecorded  BounceOutcome = "recorded"  // new: final result set and score moved (if it counts)
	BounceDuplicate BounceOutcome = "duplicate" // same Key seen before: nothing changed
	BounceNoRow     BounceOutcome = "norow"     // campaign/row unknown
	BounceNoted     BounceOutcome = "noted"     // kept in history but changed neither the final result nor the score (e.g. not a failure, a -501, or the row's failure was already counted)
)

// BlameRecipient is the one Bounce.Blame that moves an address's score.
const BlameRecipient = "recipient"

// ReasonFeedback is the suppression reason of a complaint.
const ReasonFeedback = "feedback"

// RecordBounce records one bounced recipient against its campaign row, in
// one transaction, and says what it did. Every new bounce is kept in the
// row's bounce history (Bounces), beside its attempts, which stay as they
// were: a 250 attempt followed by a bounce keeps the 250 in the history.
//
// Idempotent: a Key already recorded for the row gives BounceDuplicate and
// changes nothing (keys over 255 bytes are stored as their SHA-256). An
// unknown campaign or row gives BounceNoRow and records nothing. Two
// callers recording bounces for one row at once are serialised by the
// row's lock (MySQL) or the file's write lock (SQLite).
//
// The weight is the code's (Options.Weights, else the code table's), and
// only when Blame is "recipient": sender, network and unknown blame never
// move the score, nor do codes ≤ 0. It is added at most once per row (one
// message per recipient): not when the row's failure already counted — a
// session final that failed with a weight, or an earlier counted bounce.
// A score reaching the threshold suppresses the address as Finish does.
//
// Whether the bounce becomes the row's final (marked asynchronous, with
// the bounce's reason; state failed, any claim ended):
//   - 2xx codes and -501 (not a bounce: auto-reply, human reply) never do:
//     BounceNoted.
//   - A failure is a permanent code, a transient one with reason "expired"
//     (the remote gave up), a complaint, -500 (no status code; the reason
//     is the reader's, from the text) or -502 (forwarding: both addresses
//     kept in the history). A transient code without "expired" is taken as
//     a delay notice: history only.
//   - A sent row (final 2xx): a failure replaces the final; its weight, if
//     any, is added (the success had reset the score; it stays reset
//     otherwise). -500 and -502 replace it without weight.
//   - A failed row: replaced only when its failure has not counted and the
//     bounce's weight would (a 625 in doubt then a 550 unknown user, say);
//     otherwise BounceNoted: a DSN after a counted synchronous 550 is kept
//     but never counts twice.
//   - A row not final yet (pending, or claimed: a run that died after the
//     dot): only a permanent failure with weight becomes its final, so the
//     address is not sent again; the claim ends, and a worker still
//     holding it finds the row finished (its Finish is skipped as for any
//     finished row; its lease renewal logs that the claim was taken).
//   - Suppressed and invalid rows were never sent: history only.
//
// A complaint (Complaint) suppresses the address at once with reason
// "feedback", whatever its score and whatever the row's state; an address
// listed before for another reason gets "feedback" as its reason. It gives
// BounceRecorded even where the final stays (the suppression changed);
// code 860 is assumed when Code is not positive.
func (s *Store) RecordBounce(ctx context.Context, b Bounce) (BounceOutcome, error) {
	outs, err := s.RecordBounces(ctx, []Bounce{b})
	if err != nil {
		return "", err
	}
	return outs[0], nil
}

// RecordBounces records many bounces in one transaction, each as
// RecordBounce would, in order, and gives their outcomes in that order: a
// Key seen earlier in the same batch is a duplicate as one committed
// before, and a row's weight is added once however many of its bounces
// the batch holds. The statements are prepared once per transaction. On
// an error nothing of the batch is recorded; a bounce without a Key is an
// error before the transaction starts.
func (s *Store) RecordBounces(ctx context.Context, bs []Bounce) ([]BounceOutcome, error) {
	todo := make([]Bounce, len(bs))
	keys := make([]string, len(bs))
	for i, b := range bs {
		if b.Key == "" {
			return nil, fmt.Errorf("store: RecordBounce needs a Key (campaign %q row %d)", b.Campaign, b.Row)
		}
		if b.Complaint && b.Code <= 0 {
			b.Code = 860
		}
		if b.Complaint && b.Reason == "" {
			b.Reason = ReasonFeedback
		}
		todo[i], keys[i] = b, bounceKey(b.Key)
	}
	if len(todo) == 0 {
		return nil, nil
	}
	out := make([]BounceOutcome, len(todo))
	if err := (&bounceStmts{s: s}).prepare(ctx); err != nil {
		return nil, readErr(err)
	}
	err := s.update(ctx, nil, func(tx *sql.Tx) error {
		st := &bounceStmts{s: s, tx: tx, campaigns: map[string]int64{}, moved: countDelta{}}
		defer st.close()
		for i, b := range todo {
			var err error
			if out[i], err = s.recordBounce(ctx, st, b, keys[i]); err != nil {
				return err
			}
		}
		// Scores last, all at once: nothing in recordBounce reads them,
		// and score keeps the order of an address's changes.
		if len(st.finals) > 0 {
			if err := s.score(ctx, tx, st.finals, st.addrs, s.now()); err != nil {
				return err
			}
		}
		// The counts after them: their rows stay locked (MySQL) until the
		// commit, as short a time as can be.
		return s.addCounts(ctx, tx, st.moved)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RowExists says whether a campaign (by name) has a list row of that
// number: what the receiver asks before it accepts mail to a VERP address.
func (s *Store) RowExists(ctx context.Context, campaign string, row int64) (bool, error) {
	st, err := s.prepared(ctx, `SELECT COUNT(*) FROM recipients WHERE row_no = ? AND campaign_id =
		(SELECT id FROM campaigns WHERE name = ?)`)
	if err != nil {
		return false, readErr(err)
	}
	var n int
	err = st.QueryRowContext(ctx, row, campaign).Scan(&n)
	return n > 0, readErr(err)
}

// RowSpan gives the lowest and highest row number of a campaign (by
// name) and how many rows it has (0 when there is no such campaign). A
// campaign whose count is hi-lo+1 has every row in between: rows are
// never deleted, so the receiver can answer RCPT for such rows without
// asking again.
func (s *Store) RowSpan(ctx context.Context, campaign string) (lo, hi, n int64, err error) {
	st, err := s.prepared(ctx, `SELECT COALESCE(MIN(row_no), 0), COALESCE(MAX(row_no), 0), COUNT(*)
		FROM recipients WHERE campaign_id = (SELECT id FROM campaigns WHERE name = ?)`)
	if err != nil {
		return 0, 0, 0, readErr(err)
	}
	err = st.QueryRowContext(ctx, campaign).Scan(&lo, &hi, &n)
	return lo, hi, n, readErr(err)
}

func bounceKey(k string) string {
	if len(k) <= 255 {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// weightOf is the weight a code adds to a score: Options.Weights, else the
// code table's.
func (s *Store) weightOf(code int) codes.Tenths {
	if w, ok := s.weights[code]; ok {
		return w
	}
	return codes.Weight(code)
}

// bounceWeight is what a bounce would add to its address's score.
func (s *Store) bounceWeight(b Bounce) codes.Tenths {
	if b.Blame != BlameRecipient || b.Code <= 0 {
		return 0
	}
	return max(s.weightOf(b.Code), 0)
}

// bounceFails says the bounce reports the message as not delivered.
func bounceFails(b Bounce) bool {
	switch {
	case b.Complaint:
		return true
	case b.Code == -500 || b.Code == -502:
		return true
	case b.Code <= 0 || b.Code >= 200 && b.Code < 300:
		return false
	}
	r := outcome.Result{Code: b.Code}
	return !r.Transient() || b.Reason == "expired"
}

func (s *Store) recordBounce(ctx context.Context, st *bounceStmts, b Bounce, key string) (BounceOutcome, error) {
	cid, ok, err := st.campaign(ctx, b.Campaign)
	if err != nil {
		return "", err
	} else if !ok {
		return BounceNoRow, nil
	}
	var (
		id        int64
		addr      string
		state     State
		finalCode int
		async     bool
		// the rest of the row's group in campaign_counts
		domain, enhanced, reason string
	)
	// The row, and its earlier bounces, this transaction's among them: a
	// Key twice in one batch is a duplicate the second time.
	var dup, counted int
	if s.d.rowLock == "" {
		row, err := st.queryRow(ctx, bsRecipientHistory, key, cid, b.Row)
		if err != nil {
			return "", err
		}
		err = row.Scan(&id, &addr, &state, &finalCode, &async, &domain, &enhanced, &reason, &dup, &counted)
		if err == sql.ErrNoRows {
			return BounceNoRow, nil
		} else if err != nil {
			return "", err
		}
	} else {
		row, err := st.queryRow(ctx, bsRecipient, cid, b.Row)
		if err != nil {
			return "", err
		}
		err = row.Scan(&id, &addr, &state, &finalCode, &async, &domain, &enhanced, &reason)
		if err == sql.ErrNoRows {
			return BounceNoRow, nil
		} else if err != nil {
			return "", err
		}
		if row, err = st.queryRow(ctx, bsHistory, key, id); err != nil {
			return "", err
		}
		if err := row.Scan(&dup, &counted); err != nil {
			return "", err
		}
	}
	if dup > 0 {
		return BounceDuplicate, nil
	}
	now := s.now()
	at := b.At
	if at.IsZero() {
		at = now
	}
	w := s.bounceWeight(b)
	already := counted > 0 || state == StateFailed && !async && s.weightOf(finalCode) > 0
	fails := bounceFails(b)
	var change bool
	switch {
	case !fails:
	case state == StateSent:
		change = true
	case state == StateFailed:
		change = !already && w > 0
	case !state.Final():
		change = w > 0 && !(outcome.Result{Code: b.Code}).Transient()
	}
	add := change && w > 0 && !already
	out := BounceNoted
	if change || b.Complaint {
		out = BounceRecorded
	}
	if err := st.exec(ctx, bsInsert, cid, id, key, ms(at), b.Code, b.Enhanced, b.Text, b.Reason, b.Blame,
		b.Final, b.Original, boolInt(b.Complaint), boolInt(add), string(out)); err != nil {
		return "", err
	}
	if change {
		newEnhanced := b.Enhanced
		if c, ok := codes.LookupCode(b.Code); ok && newEnhanced == "" {
			newEnhanced = c.Status // a code of ours (860, 870 ...): its DSN status
		}
		if err := st.exec(ctx, bsFinal, StateFailed, b.Code, newEnhanced, b.Text, b.Reason, id); err != nil {
			return "", err
		}
		st.moved.move(keyOf(cid, state, domain, finalCode, enhanced, reason, async),
			keyOf(cid, StateFailed, domain, b.Code, newEnhanced, b.Reason, true))
	}
	if b.Complaint {
		if err := st.exec(ctx, bsSuppress, addr, ReasonFeedback, ms(now)); err != nil {
			return "", err
		}
		if err := st.exec(ctx, bsSuppressReason, ReasonFeedback, addr, ReasonFeedback); err != nil {
			return "", err
		}
	}
	if add {
		f := Final{RecipientID: id, Result: outcome.Result{Code: b.Code, Enhanced: b.Enhanced}, Weight: w}
		st.finals, st.addrs = append(st.finals, f), append(st.addrs, addr)
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BounceRecord is one bounce in a row's history, as RecordBounce kept it.
type BounceRecord struct {
	Bounce
	Counted bool          // its weight went into the address's score
	Outcome BounceOutcome // BounceRecorded or BounceNoted
}

// Bounces returns a recipient's bounce history, oldest first.
func (s *Store) Bounces(ctx context.Context, recipientID int64) ([]BounceRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.name, r.row_no, b.bounce_key, b.at, b.code, b.enhanced,
		b.reply, b.reason, b.blame, b.final_rcpt, b.original_rcpt, b.complaint, b.counted, b.outcome
		FROM bounces b JOIN recipients r ON r.id = b.recipient_id JOIN campaigns c ON c.id = b.campaign_id
		WHERE b.recipient_id = ? ORDER BY b.at, b.id`, recipientID)
	if err != nil {
		return nil, readErr(err)
	}
	defer rows.Close()
	var out []BounceRecord
	for rows.Next() {
		var (
			x  BounceRecord
			at int64
		)
		if err := rows.Scan(&x.Campaign, &x.Row, &x.Key, &at, &x.Code, &x.Enhanced, &x.Text, &x.Reason,
			&x.Blame, &x.Final, &x.Original, &x.Complaint, &x.Counted, &x.Outcome); err != nil {
			return nil, readErr(err)
		}
		x.At = fromMS(at)
		out = append(out, x)
	}
	return out, readErr(rows.Err())
}
