package report

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/store"
)

// `campaign export` streams per-recipient results page by page (constant
// memory on lists of millions); `campaign suppress` reads and edits the
// suppression list.

// exportPage is how many recipients one store read returns.
const exportPage = 1000

// exportColumns come first in TSV and CSV, then the merge fields, then
// exportTail: columns added later go last, so that no column an existing
// script reads by position moves.
var exportColumns = []string{"row", "email", "state", "code", "enhanced", "text", "attempts", "mx_host"}

// exportTail: async is "1" when the final came from a bounce mail after
// the session (issue 12); reason is the final's reason name (the bounce's,
// or the session reply's; "delivered" for a 2xx); score is the address's
// error score now.
var exportTail = []string{"async", "reason", "score"}

// ExportRecord is one recipient in the export; in JSON lines, one line.
type ExportRecord struct {
	Row      int64             `json:"row"`
	Email    string            `json:"email"`
	State    store.State       `json:"state"`
	Code     int               `json:"code,omitempty"` // the final code; absent while not final
	Enhanced string            `json:"enhanced,omitempty"`
	Text     string            `json:"text,omitempty"`
	Attempts int               `json:"attempts"`
	MXHost   string            `json:"mx_host,omitempty"` // of the latest attempt
	Fields   map[string]string `json:"fields,omitempty"`  // merge fields
	Async    bool              `json:"async,omitempty"`   // the final came from a bounce mail
	Reason   string            `json:"reason,omitempty"`  // the final's reason name
	Score    codes.Tenths      `json:"score"`             // the address's error score
}

func (r ExportRecord) cells(fields []string) []string {
	code := ""
	if r.Code != 0 {
		code = strconv.Itoa(r.Code)
	}
	out := []string{strconv.FormatInt(r.Row, 10), r.Email, string(r.State), code, r.Enhanced, r.Text,
		itoa(r.Attempts), r.MXHost}
	for _, f := range fields {
		out = append(out, r.Fields[f])
	}
	async := ""
	if r.Async {
		async = "1"
	}
	return append(out, async, r.Reason, r.Score.String())
}

// tsvEscaper keeps every value on one line and free of tabs.
var tsvEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)

// CheckFormat tells whether format is one Export writes, for a usage
// error.
func CheckFormat(format string) error {
	switch format {
	case "tsv", "csv", "json":
		return nil
	}
	return fmt.Errorf(`--format must be "tsv", "csv" or "json"`)
}

// Export writes every recipient of c in list order, in format ("tsv",
// "csv" or "json"), to stdout or, when outPath is not "", to that file,
// which appears only once complete.
func Export(ctx context.Context, st *store.Store, c store.Campaign, format, outPath string, stdout, stderr io.Writer) error {
	if err := CheckFormat(format); err != nil {
		return err
	}
	if outPath == "" {
		bw := bufio.NewWriterSize(stdout, 64<<10)
		if _, err := exportRecipients(ctx, st, c.ID, format, bw, stderr); err != nil {
			bw.Flush()
			return err
		}
		return bw.Flush()
	}
	// A temporary file renamed into place: FILE is whole or absent.
	f, err := os.CreateTemp(filepath.Dir(outPath), "."+filepath.Base(outPath)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	bw := bufio.NewWriterSize(f, 64<<10)
	n, err := exportRecipients(ctx, st, c.ID, format, bw, stderr)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), outPath)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stderr, "exported %d recipients of campaign %d %q to %s\n", n, c.ID, c.Name, outPath)
	return err
}

// exportRecipients writes every recipient of a campaign in list order and
// returns how many. TSV and CSV columns for the merge fields are those of
// the first page's rows (every row of one list has the same ones); a field
// seen only later is reported once on stderr and kept only in JSON.
func exportRecipients(ctx context.Context, st *store.Store, campaignID int64, format string, w io.Writer, stderr io.Writer) (int, error) {
	var (
		fields []string
		known  map[string]bool
		n      int
		cw     *csv.Writer
		enc    = json.NewEncoder(w)
		warned bool
	)
	enc.SetEscapeHTML(false)
	if format == "csv" {
		cw = csv.NewWriter(w)
	}
	write := func(cells []string) error {
		if cw != nil {
			return cw.Write(cells)
		}
		for i := range cells {
			cells[i] = tsvEscaper.Replace(cells[i])
		}
		_, err := io.WriteString(w, strings.Join(cells, "\t")+"\n")
		return err
	}
	for after := int64(0); ; {
		page, err := st.Recipients(ctx, campaignID, after, exportPage)
		if err != nil {
			return n, err
		}
		if n == 0 && format != "json" {
			fields, known = fieldNames(page)
			header := append(slices.Clone(exportColumns), headerNames(fields)...)
			if err := write(append(header, exportTail...)); err != nil {
				return n, err
			}
		}
		if len(page) == 0 {
			break
		}
		ids := make([]int64, len(page))
		addrs := make([]string, len(page))
		for i, r := range page {
			ids[i], addrs[i] = r.ID, r.Email
		}
		last, err := st.LastAttempts(ctx, ids)
		if err != nil {
			return n, err
		}
		scores, err := st.Scores(ctx, addrs)
		if err != nil {
			return n, err
		}
		for _, r := range page {
			rec := ExportRecord{Row: r.Row, Email: r.Email, State: r.State, Code: r.FinalCode,
				Enhanced: r.FinalEnhanced, Text: r.FinalText, Attempts: r.Attempts,
				MXHost: last[r.ID].MXHost, Fields: r.Fields, Async: r.FinalAsync, Reason: r.Reason(),
				Score: scores[r.Email]}
			if format == "json" {
				err = enc.Encode(rec)
			} else {
				for f := range r.Fields {
					if !known[f] && !warned {
						warned = true
						fmt.Fprintf(stderr, "hikyaku: warning: row %d has merge field %q, which the first %d rows have not: "+
							"it is left out of the columns (--format json keeps every field)\n", r.Row, f, exportPage)
					}
				}
				err = write(rec.cells(fields))
			}
			if err != nil {
				return n, err
			}
			n++
			after = r.Row
		}
		if cw != nil {
			if cw.Flush(); cw.Error() != nil {
				return n, cw.Error()
			}
		}
	}
	if cw != nil {
		cw.Flush()
		return n, cw.Error()
	}
	return n, nil
}

// fieldNames returns the merge field names of a page's rows, sorted.
func fieldNames(page []store.Recipient) ([]string, map[string]bool) {
	known := map[string]bool{}
	for _, r := range page {
		for f := range r.Fields {
			known[f] = true
		}
	}
	names := make([]string, 0, len(known))
	for f := range known {
		names = append(names, f)
	}
	slices.Sort(names)
	return names, known
}

// headerNames are the merge fields' column names: a field named like a
// fixed column gets a "field_" prefix so that no two columns share a name.
func headerNames(fields []string) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f
		for slices.Contains(exportColumns, out[i]) || slices.Contains(exportTail, out[i]) || slices.Contains(out[:i], out[i]) {
			out[i] = "field_" + out[i]
		}
	}
	return out
}
