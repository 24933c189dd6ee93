package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/protocol"
)

// CampaignState is where a campaign stands; the runner sets it.
type CampaignState string

const (
	CampaignLoading CampaignState = "loading" // the list is being read in
	CampaignRunning CampaignState = "running"
	CampaignPaused  CampaignState = "paused"  // -102 or a person paused it; resumable
	CampaignStopped CampaignState = "stopped" // -11 or interrupted; resumable
	CampaignDone    CampaignState = "done"    // every recipient has a final state
)

// Campaign is one message sent to one list.
type Campaign struct {
	ID           int64
	Name         string // unique; how a re-run of the same command finds it
	Created      time.Time
	TemplateHash string          // of the template and images, to refuse resuming with another message
	ListPath     string          // the TSV list as given
	Options      json.RawMessage // the run's settings (from, rate, lifetime…), as the runner wrote them
	State        CampaignState
}

// State is where one recipient stands.
type State string

const (
	StatePending    State = "pending"    // waiting to be claimed
	StateClaimed    State = "claimed"    // a worker holds it until LeaseUntil
	StateSent       State = "sent"       // final: accepted (2xx)
	StateFailed     State = "failed"     // final: any other final code
	StateSuppressed State = "suppressed" // final: the address was suppressed when claimed; not sent
	StateInvalid    State = "invalid"    // final: the list row was unusable (800 etc.); not sent
)

// Final says the state is an end state.
func (st State) Final() bool {
	return st == StateSent || st == StateFailed || st == StateSuppressed || st == StateInvalid
}

// Recipient is one row of a campaign's list and where it stands.
type Recipient struct {
	ID         int64
	CampaignID int64
	Row        int64             // the row's number in the list; unique per campaign
	Email      string            // as the list gave it
	Fields     map[string]string // merge fields: the other columns of the row
	State      State
	Owner      string    // the worker holding the claim
	LeaseUntil time.Time // the claim may be taken over after this
	// The final outcome (zero until there is one). Invalid rows carry the
	// code the loader gave them, 800 for a malformed address.
	FinalCode     int
	FinalEnhanced string
	FinalText     string
	// FinalAsync: the final came from a bounce mail after the session
	// (RecordBounce), not from the session. FinalReason is the final's
	// reason name: the bounce's, or the session result's ("" if unknown).
	FinalAsync  bool
	FinalReason string
	Attempts    int
	// DotAt is set while an attempt's final dot is out without a recorded
	// reply (MarkDot); zero otherwise.
	DotAt time.Time
}

// addrKey is the form scores and suppressions are keyed by: the whole
// address lower-cased. The local part is case-sensitive in RFC 5321, but no
// mailbox provider treats it so, and one score per person is the point.
func addrKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateCampaign records a new campaign and returns its id. A name in use
// gives ErrExists (find it with CampaignByName to resume it). Created
// defaults to now and State to CampaignLoading.
func (s *Store) CreateCampaign(ctx context.Context, c Campaign) (int64, error) {
	if c.Name == "" {
		return 0, fmt.Errorf("store: campaign needs a name")
	}
	if c.Created.IsZero() {
		c.Created = s.now()
	}
	if c.State == "" {
		c.State = CampaignLoading
	}
	if len(c.Options) == 0 {
		c.Options = json.RawMessage("{}")
	}
	var id int64
	err := s.update(ctx, nil, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM campaigns WHERE name = ?`, c.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %q", ErrExists, c.Name)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO campaigns (name, created, template_hash, list_path, options, state)
			VALUES (?, ?, ?, ?, ?, ?)`, c.Name, ms(c.Created), c.TemplateHash, c.ListPath, string(c.Options), string(c.State))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

const campaignCols = `id, name, created, template_hash, list_path, options, state`

func scanCampaign(sc interface{ Scan(...any) error }) (Campaign, error) {
	var (
		c       Campaign
		created int64
		opts    string
	)
	if err := sc.Scan(&c.ID, &c.Name, &created, &c.TemplateHash, &c.ListPath, &opts, &c.State); err != nil {
		return c, err
	}
	c.Created, c.Options = fromMS(created), json.RawMessage(opts)
	return c, nil
}

// Campaign returns one campaign by id, or ErrNotFound.
func (s *Store) Campaign(ctx context.Context, id int64) (Campaign, error) {
	return s.oneCampaign(ctx, `WHERE id = ?`, id)
}

// CampaignByName returns one campaign by name, or ErrNotFound.
func (s *Store) CampaignByName(ctx context.Context, name string) (Campaign, error) {
	return s.oneCampaign(ctx, `WHERE name = ?`, name)
}

func (s *Store) oneCampaign(ctx context.Context, where string, arg any) (Campaign, error) {
	c, err := scanCampaign(s.db.QueryRowContext(ctx, `SELECT `+campaignCols+` FROM campaigns `+where, arg))
	if err == sql.ErrNoRows {
		return c, fmt.Errorf("%w: campaign %v", ErrNotFound, arg)
	}
	return c, readErr(err)
}

// ListCampaigns returns every campaign, newest first.
func (s *Store) ListCampaigns(ctx context.Context) ([]Campaign, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+campaignCols+` FROM campaigns ORDER BY id DESC`)
	if err != nil {
		return nil, readErr(err)
	}
	defer rows.Close()
	var out []Campaign
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			return nil, readErr(err)
		}
		out = append(out, c)
	}
	return out, readErr(rows.Err())
}

// SetCampaignState records where a campaign stands.
func (s *Store) SetCampaignState(ctx context.Context, id int64, st CampaignState) error {
	return s.update(ctx, nil, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE campaigns SET state = ? WHERE id = ?`, string(st), id)
		if err != nil {
			return err
		}
		// Rows matched, on MySQL too (ClientFoundRows): 0 is no such campaign.
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: campaign %d", ErrNotFound, id)
		}
		return nil
	})
}

// insertBatch rows per INSERT statement: 13 arguments each stays far
// below both engines' placeholder limits.
const insertBatch = 500

// AddRecipients adds list rows to a campaign in one transaction. A row
// whose (campaign, Row) exists already is left as it is, so loading the
// list again after a crash adds only what is missing and never resets a
// recipient that was sent. State may be "" (pending), StatePending or
// StateInvalid (a bad row, with its FinalCode); ID, Owner, LeaseUntil and
// Attempts are ignored.
func (s *Store) AddRecipients(ctx context.Context, campaignID int64, rs []Recipient) error {
	args := make([]any, 0, min(len(rs), insertBatch)*13)
	for i := range rs {
		switch rs[i].State {
		case "", StatePending, StateInvalid:
		default:
			return fmt.Errorf("store: row %d: a new recipient cannot be %q", rs[i].Row, rs[i].State)
		}
	}
	return s.update(ctx, nil, func(tx *sql.Tx) error {
		for start := 0; start < len(rs); start += insertBatch {
			batch := rs[start:min(start+insertBatch, len(rs))]
			// The rows already there are left as they are, and so are
			// their counts (a resumed load).
			have, err := s.rowsPresent(ctx, tx, campaignID, batch)
			if err != nil {
				return err
			}
			added := countDelta{}
			args = args[:0]
			for _, r := range batch {
				fields := []byte("{}")
				if len(r.Fields) > 0 {
					var err error
					if fields, err = json.Marshal(r.Fields); err != nil {
						return err
					}
				}
				st := r.State
				if st == "" {
					st = StatePending
				}
				key := addrKey(r.Email)
				args = append(args, campaignID, r.Row, r.Email, key, protocol.DomainOf(key), string(fields),
					string(st), "", 0, r.FinalCode, r.FinalEnhanced, r.FinalText, 0)
				if !have[r.Row] {
					have[r.Row] = true // the first of a row twice in the batch is the one inserted
					added[keyOf(campaignID, st, protocol.DomainOf(key), r.FinalCode, r.FinalEnhanced, "", false)]++
				}
			}
			q := `INSERT INTO recipients (campaign_id, row_no, email, addr, domain, fields, state, owner,
				lease_until, final_code, final_enhanced, final_text, attempts) VALUES ` +
				rowsOf(13, len(batch)) + s.d.ignoreDuplicate("row_no")
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
			if err := s.addCounts(ctx, tx, added); err != nil {
				return err
			}
		}
		return nil
	})
}

// rowsPresent is which of the batch's list rows the campaign has already.
func (s *Store) rowsPresent(ctx context.Context, tx *sql.Tx, campaignID int64, batch []Recipient) (map[int64]bool, error) {
	have := map[int64]bool{}
	args := make([]any, 0, len(batch)+1)
	args = append(args, campaignID)
	for _, r := range batch {
		args = append(args, r.Row)
	}
	rows, err := tx.QueryContext(ctx, `SELECT row_no FROM recipients WHERE campaign_id = ? AND row_no IN (`+
		placeholders(len(batch))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		have[n] = true
	}
	return have, rows.Err()
}

const recipientCols = `id, campaign_id, row_no, email, fields, state, owner, lease_until,
	final_code, final_enhanced, final_text, final_async, final_reason, attempts, dot_at`

func scanRecipient(sc interface{ Scan(...any) error }) (Recipient, error) {
	var (
		r      Recipient
		fields string
		lease  int64
		dot    int64
	)
	err := sc.Scan(&r.ID, &r.CampaignID, &r.Row, &r.Email, &fields, &r.State, &r.Owner, &lease,
		&r.FinalCode, &r.FinalEnhanced, &r.FinalText, &r.FinalAsync, &r.FinalReason, &r.Attempts, &dot)
	if err != nil {
		return r, err
	}
	r.LeaseUntil = fromMS(lease)
	if dot != 0 {
		r.DotAt = fromMS(dot)
	}
	if fields != "{}" && fields != "" {
		if err := json.Unmarshal([]byte(fields), &r.Fields); err != nil {
			return r, fmt.Errorf("recipient %d: merge fields: %w", r.ID, err)
		}
	}
	return r, nil
}

// Recipients pages through a campaign's recipients in list order: those
// with Row > after, at most limit (for exports in constant memory).
func (s *Store) Recipients(ctx context.Context, campaignID, after int64, limit int) ([]Recipient, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+recipientCols+` FROM recipients
		WHERE campaign_id = ? AND row_no > ? ORDER BY row_no LIMIT ?`, campaignID, after, limit)
	if err != nil {
		return nil, readErr(err)
	}
	defer rows.Close()
	var out []Recipient
	for rows.Next() {
		r, err := scanRecipient(rows)
		if err != nil {
			return nil, readErr(err)
		}
		out = append(out, r)
	}
	return out, readErr(rows.Err())
}
