package bouncefile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/hikyaku/hikyaku/internal/app"
	"github.com/hikyaku/hikyaku/internal/bounce"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/intake"
	"github.com/hikyaku/hikyaku/internal/verp"
)

// Parse prints what the bounce reader reads from each message of the
// inputs (messages, mbox files, Maildir or other folders; "-" is stdin),
// one line per recipient: tab-separated fields, or JSON objects. An input
// that cannot be read is reported on stderr and the others are still read.
func Parse(cfg *config.Config, inputs []string, asJSON bool, stdout, stderr io.Writer) error {
	rules, err := app.LoadBounceRules(cfg)
	if err != nil {
		return err
	}
	// Saved mail may have come to any address: campaign and row are shown
	// as the address says, unverified (never recorded from here).
	opt := bounce.Options{Rules: rules, VERP: verp.ParseUnverified}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	var failed []string
	for _, in := range inputs {
		err := bounce.Open(in, func(src bounce.Source) error {
			rep, err := bounce.Read(src.Data, opt)
			if err != nil || len(rep.Results) == 0 {
				rep = bounce.Report{Kind: bounce.KindNone, Results: []bounce.Result{{Code: -501, Reason: "undefined", Format: "none"}}}
			}
			for _, r := range rep.Results {
				if asJSON {
					if err := enc.Encode(parseLine{File: src.Name, Kind: rep.Kind, Result: r}); err != nil {
						return err
					}
					continue
				}
				if _, err := fmt.Fprintln(stdout, strings.Join([]string{src.Name, dash(r.Recipient), strconv.Itoa(r.Code),
					dash(r.Status), dash(r.Reason), dash(string(r.Blame)), dash(r.Command), dash(oneLine(r.Reply))}, "\t")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			if isWriteError(err) {
				return err
			}
			fmt.Fprintf(stderr, "hikyaku: bounce parse: %v\n", err)
			failed = append(failed, in)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("bounce parse: %d of %d inputs could not be read: %s", len(failed), len(inputs), strings.Join(failed, ", "))
	}
	return nil
}

// parseLine is one JSON line of bounce parse.
type parseLine struct {
	File string      `json:"file"`
	Kind bounce.Kind `json:"kind"`
	bounce.Result
}

// isWriteError tells an error writing the output (a closed pipe) from one
// reading the inputs: bounce.Open returns the callback's errors as they are.
func isWriteError(err error) bool {
	var pe *fs.PathError
	return errors.Is(err, os.ErrClosed) || errors.As(err, &pe) && pe.Op == "write"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Import feeds saved mails through the intake's path: read, and each
// recipient recorded against its campaign row; it prints the counts.
// Importing the same mails again records nothing new.
func Import(ctx context.Context, cfg *config.Config, inputs []string, stdout, stderr io.Writer) error {
	st, err := app.OpenBounceStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	logger := app.NewLogger(cfg, stderr)
	in, err := app.NewIntake(cfg, st, logger, nil, nil)
	if err != nil {
		return err
	}
	var total intake.Counts
	mails := 0
	var failed []string
	for _, path := range inputs {
		err := bounce.Open(path, func(src bounce.Source) error {
			c, err := in.Process(ctx, src.Name, src.Data, "")
			if err != nil {
				return storeFailure{err}
			}
			mails++
			total = total.Plus(c)
			return nil
		})
		var sf storeFailure
		if errors.As(err, &sf) {
			return fmt.Errorf("bounce import stopped after %d mails (%s): %w", mails, countsText(total), sf.err)
		}
		if err != nil {
			fmt.Fprintf(stderr, "hikyaku: bounce import: %v\n", err)
			failed = append(failed, path)
		}
	}
	fmt.Fprintf(stdout, "%d mails: %s\n", mails, countsText(total))
	if len(failed) > 0 {
		return fmt.Errorf("bounce import: %d of %d inputs could not be read: %s", len(failed), len(inputs), strings.Join(failed, ", "))
	}
	return nil
}

// storeFailure stops an import: the status store failed.
type storeFailure struct{ err error }

func (e storeFailure) Error() string { return e.err.Error() }

func countsText(c intake.Counts) string {
	return fmt.Sprintf("recorded %d, duplicate %d, norow %d, noted %d", c.Recorded, c.Duplicate, c.NoRow, c.Noted)
}
