package campaignctl

import (
	"errors"
	"fmt"
	"io"

	"github.com/hikyaku/hikyaku/internal/app"
	"github.com/hikyaku/hikyaku/internal/campaign/rules"
	"github.com/hikyaku/hikyaku/internal/config"
)

// PrintRules prints the reply-text rules in effect (801/850, docs/spec.md §4.3)
// as a rules file, with where they came from.
func PrintRules(cfg *config.Config, stdout io.Writer) error {
	rs, src, err := app.LoadReplyRules(cfg)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "# %d reply rules in effect, from %s\n", rs.Len(), src); err != nil {
		return err
	}
	return rs.Write(stdout)
}

// PrintDefaultRules prints the built-in rules file with its comments, a
// start for one's own.
func PrintDefaultRules(stdout io.Writer) error {
	_, err := io.WriteString(stdout, rules.DefaultText())
	return err
}

// CheckRules parses path and prints each error on its own line, as
// "FILE:LINE: message".
func CheckRules(path string, stdout, stderr io.Writer) error {
	rs, err := rules.Load(path)
	if err != nil {
		var many interface{ Unwrap() []error }
		if !errors.As(err, &many) {
			return err
		}
		for _, e := range many.Unwrap() {
			fmt.Fprintln(stderr, e)
		}
		return fmt.Errorf("%s: not a valid rules file", path)
	}
	_, err = fmt.Fprintf(stdout, "%s: %d rules OK\n", path, rs.Len())
	return err
}
