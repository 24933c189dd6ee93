package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/hikyaku/hikyaku/internal/app"
	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/config"
)

// ErrUnexplained is what Explain returns when some codes were not found;
// each was reported on stderr.
var ErrUnexplained = errors.New("some codes could not be explained")

// Explain prints what each query means from the code table: a reply code
// (550), an enhanced status code (5.7.1), both ("550 5.7.1") or a result
// code (623, -11). lang is "en", "ja" or "" for both; asJSON prints one
// JSON object per code.
func Explain(queries []string, lang string, asJSON bool, stdout, stderr io.Writer) error {
	var failed error
	for i, q := range queries {
		d, err := codes.Describe(q)
		if err != nil {
			fmt.Fprintf(stderr, "hikyaku: %v\n", err)
			failed = ErrUnexplained
			continue
		}
		if asJSON {
			b, _ := json.Marshal(d)
			fmt.Fprintf(stdout, "%s\n", b)
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprint(stdout, strings.TrimRight(d.Text(lang), "\n")+"\n")
	}
	return failed
}

// PrintConfig says that cfg is valid and lists every documented key with
// its type, default and doc.
func PrintConfig(cfg *config.Config, stdout io.Writer) error {
	fmt.Fprintf(stdout, "# configuration %s is valid\n", app.OrDefault(cfg.File, "(embedded defaults)"))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tTYPE\tDEFAULT\tDOC")
	for _, k := range config.Keys() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Name, k.Type, k.Default, k.Doc)
	}
	return tw.Flush()
}
