package campaignctl

import (
	"fmt"
	"io"

	"github.com/hikyaku/hikyaku/internal/campaign/compose"
	"github.com/hikyaku/hikyaku/internal/campaign/tsv"
)

// dryRunCampaign composes every row's message and reports what would go
// out, without the store or the network: the way to check a list and a
// template before a real run.
func dryRunCampaign(rd *tsv.Reader, tmpl *compose.Template, name string, w io.Writer) error {
	var rows, invalid, failed, jis, fallback, bytes int
	var problems []string
	note := func(s string) {
		if len(problems) < 10 {
			problems = append(problems, s)
		}
	}
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		rows++
		if row.Problem != "" {
			invalid++
			note(fmt.Sprintf("line %d: 800 %s", row.Line, row.Problem))
			continue
		}
		out, err := tmpl.Execute(name, rows, row.Email, row.Fields)
		if err != nil {
			failed++
			note(fmt.Sprintf("line %d: %v", row.Line, err))
			continue
		}
		bytes += len(out.Data)
		if out.Charset == compose.ISO2022JP {
			jis++
		}
		if out.Fallback != "" {
			fallback++
			note(fmt.Sprintf("line %d: sent as UTF-8: %s", row.Line, out.Fallback))
		}
	}
	ok := rows - invalid - failed
	fmt.Fprintf(w, "dry run: %d rows, %d messages composed (%d ISO-2022-JP, %d fell back to UTF-8), %d invalid rows (800), %d rows whose message could not be built\n",
		rows, ok, jis, fallback, invalid, failed)
	if ok > 0 {
		fmt.Fprintf(w, "average message size: %d octets\n", bytes/ok)
	}
	for _, p := range problems {
		fmt.Fprintln(w, "  "+p)
	}
	return nil
}
