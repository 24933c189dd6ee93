package report

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/protocol"
	"github.com/hikyaku/hikyaku/internal/store"
)

// SuppressionJSON is one line of `campaign suppress list --json`.
type SuppressionJSON struct {
	Address string       `json:"address"`
	Reason  string       `json:"reason"`
	Since   time.Time    `json:"since"`
	Score   codes.Tenths `json:"score"`
}

// SuppressList prints the suppression list, or only the entries of addrs
// (failing when some are not on it): a table, or JSON lines.
func SuppressList(ctx context.Context, st *store.Store, addrs []string, asJSON bool, stdout, stderr io.Writer) error {
	bw := bufio.NewWriter(stdout)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	t := newTable(2)
	show := func(ps []store.Suppression) error {
		for _, p := range ps {
			if asJSON {
				if err := enc.Encode(SuppressionJSON{p.Address, p.Reason, p.Since, p.Score}); err != nil {
					return err
				}
				continue
			}
			t.add(p.Address, clock(p.Since), p.Score.String(), p.Reason)
		}
		if asJSON || len(t.rows) == 0 {
			return nil
		}
		t.rows = append([][]string{{"ADDRESS", "SINCE", "SCORE", "REASON"}}, t.rows...)
		return t.flush(bw)
	}
	if len(addrs) > 0 {
		var found []store.Suppression
		missing := 0
		for _, a := range addrs {
			p, ok, err := st.SuppressionOf(ctx, a)
			if err != nil {
				return err
			}
			if !ok {
				missing++
				fmt.Fprintf(stderr, "hikyaku: %s is not on the suppression list\n", a)
				continue
			}
			found = append(found, p)
		}
		if err := show(found); err != nil {
			return err
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d addresses not on the suppression list", missing, len(addrs))
		}
		return nil
	}
	n := 0
	for after := ""; ; {
		page, err := st.Suppressions(ctx, after, exportPage)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		if err := show(page); err != nil {
			return err
		}
		n += len(page)
		after = page[len(page)-1].Address
	}
	if !asJSON {
		fmt.Fprintf(bw, "%d suppressed addresses\n", n)
	}
	return bw.Flush()
}

// CheckAddress tells what is wrong with a as an address to suppress, for a
// usage error.
func CheckAddress(a string) error {
	if local, domain, _ := protocol.SplitAddress(a); local == "" || domain == "" || strings.ContainsAny(a, " \t\r\n") {
		return fmt.Errorf("%q is not a mail address (local@domain)", a)
	}
	return nil
}

// SuppressEdit puts addrs on the suppression list with reason (verb
// "add") or takes them off it and resets their scores ("del"), saying on
// stdout what it did to each.
func SuppressEdit(ctx context.Context, st *store.Store, verb string, addrs []string, reason string, stdout io.Writer) error {
	for _, a := range addrs {
		if err := CheckAddress(a); err != nil {
			return err
		}
	}
	for _, a := range addrs {
		if verb == "del" {
			was, err := st.Unsuppress(ctx, a)
			if err != nil {
				return err
			}
			if was {
				fmt.Fprintf(stdout, "%s: taken off the suppression list, score reset to 0\n", a)
			} else {
				fmt.Fprintf(stdout, "%s: was not on the suppression list\n", a)
			}
			continue
		}
		p, ok, err := st.SuppressionOf(ctx, a)
		if err != nil {
			return err
		}
		if ok {
			fmt.Fprintf(stdout, "%s: already suppressed since %s (%s)\n", a, clock(p.Since), p.Reason)
			continue
		}
		if err := st.Suppress(ctx, a, reason); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: suppressed (%s)\n", a, reason)
	}
	return nil
}
