package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/hikyaku/hikyaku/internal/campaign/rules"
	"github.com/hikyaku/hikyaku/internal/config"
)

// runCampaignRules implements `hikyaku campaign rules`: print the
// reply-text rules in effect (801/850, docs/spec.md §4.3), print the built-in file
// to start one's own from, or check a rules file.
func runCampaignRules(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("campaign rules", "campaign rules [--config FILE] [--check FILE] [--defaults]", stderr)
	cfgPath := configFlag(fl)
	check := fl.String("check", "", "parse `FILE` as a rules file and report its errors (exit 1) or how many rules it holds")
	defaults := fl.Bool("defaults", false, "print the built-in rules file with its comments, a start for data_dir/"+rules.FileName)
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return usagef("campaign rules takes no arguments (got %q)", fl.Arg(0))
	}
	switch {
	case *check != "":
		return checkRules(*check, stdout, stderr)
	case *defaults:
		_, err := io.WriteString(stdout, rules.DefaultText())
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	rs, src, err := loadReplyRules(cfg)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "# %d reply rules in effect, from %s\n", rs.Len(), src); err != nil {
		return err
	}
	return rs.Write(stdout)
}

// checkRules parses path and prints each error on its own line, as
// "FILE:LINE: message".
func checkRules(path string, stdout, stderr io.Writer) error {
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

// loadReplyRules loads the rules of campaign.reply_rules: the file it
// names, else data_dir/reply-rules.txt when that exists, else the built-in
// rules. The string says where they came from. The campaign runner calls it.
func loadReplyRules(cfg *config.Config) (*rules.Rules, string, error) {
	if p := cfg.Campaign.ReplyRules; p != "" {
		rs, err := rules.Load(p)
		if err != nil {
			return nil, "", fmt.Errorf("campaign.reply_rules: %w", err)
		}
		return rs, p, nil
	}
	p := filepath.Join(cfg.DataDir, rules.FileName)
	rs, err := rules.Load(p)
	switch {
	case err == nil:
		return rs, p, nil
	case errors.Is(err, fs.ErrNotExist):
		return rules.Default(), rules.DefaultName, nil
	}
	return nil, "", fmt.Errorf("reply rules: %w", err)
}
