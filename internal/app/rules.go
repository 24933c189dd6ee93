package app

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/hikyaku/hikyaku/internal/bounce"
	"github.com/hikyaku/hikyaku/internal/campaign/rules"
	"github.com/hikyaku/hikyaku/internal/config"
)

// BounceRulesFile is the rules file bounce.rules defaults to, under
// data_dir, when it exists.
const BounceRulesFile = "bounce-rules.txt"

// LoadBounceRules loads bounce.rules: the file it names, else
// data_dir/bounce-rules.txt when that exists, else the built-in rules.
func LoadBounceRules(cfg *config.Config) (*bounce.Rules, error) {
	if p := cfg.Bounce.Rules; p != "" {
		rs, err := bounce.LoadRules(p)
		if err != nil {
			return nil, fmt.Errorf("bounce.rules: %w", err)
		}
		return rs, nil
	}
	rs, err := bounce.LoadRules(filepath.Join(cfg.DataDir, BounceRulesFile))
	switch {
	case err == nil:
		return rs, nil
	case errors.Is(err, fs.ErrNotExist):
		return bounce.Default(), nil
	}
	return nil, fmt.Errorf("bounce rules: %w", err)
}

// LoadReplyRules loads the rules of campaign.reply_rules: the file it
// names, else data_dir/reply-rules.txt when that exists, else the built-in
// rules. The string says where they came from.
func LoadReplyRules(cfg *config.Config) (*rules.Rules, string, error) {
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
