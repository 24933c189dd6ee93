package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/hikyaku/hikyaku/internal/app"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/report"
	"github.com/hikyaku/hikyaku/internal/store"
)

// The read side of campaigns: the commands only parse their flags; the
// reports are internal/report's.

// withCampaign is the RunE of a command about one campaign: it checks
// there is one NAME or ID, opens the status store, finds the campaign and
// calls fn, then closes the store.
func (a *cli) withCampaign(what string, fn func(ctx context.Context, st *store.Store, c store.Campaign) error) func(*cobra.Command, []string) error {
	run := a.withSignals(func(ctx context.Context, cfg *config.Config, args []string) error {
		st, c, err := report.OpenCampaign(ctx, cfg, args[0])
		if err != nil {
			return err
		}
		defer st.Close()
		return fn(ctx, st, c)
	})
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usagef("%s needs exactly one campaign NAME or ID", what)
		}
		return run(cmd, args)
	}
}

// withStore is the RunE of a command over the whole status store.
func (a *cli) withStore(fn func(ctx context.Context, st *store.Store, args []string) error) func(*cobra.Command, []string) error {
	return a.withSignals(func(ctx context.Context, cfg *config.Config, args []string) error {
		st, err := app.OpenStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		return fn(ctx, st, args)
	})
}

func (a *cli) campaignListCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use: "list [--json]", Short: "list the campaigns with their recipients per state",
		Args: exactArgs(0, "campaign list takes no arguments"),
		RunE: a.withStore(func(ctx context.Context, st *store.Store, _ []string) error {
			return report.List(ctx, st, a.stdout, asJSON)
		}),
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return c
}

func (a *cli) campaignStatusCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use: "status [--json] NAME|ID", Short: "one campaign's progress, final codes by class and attempt rate",
		RunE: a.withCampaign("campaign status", func(ctx context.Context, st *store.Store, c store.Campaign) error {
			return report.Status(ctx, st, c, a.stdout, asJSON)
		}),
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (a *cli) campaignReportCmd() *cobra.Command {
	var o report.Options
	c := &cobra.Command{
		Use:   "report [--lang en|ja] [--by code|domain|reason|mx|time] [--bucket 1m] [--json] NAME|ID",
		Short: "a campaign's results by code (with their meaning), domain, reason, MX host or time",
		Args: func(_ *cobra.Command, _ []string) error {
			if err := o.Check(); err != nil {
				return usageError{err.Error()}
			}
			return nil
		},
		RunE: a.withCampaign("campaign report", func(ctx context.Context, st *store.Store, c store.Campaign) error {
			return report.Report(ctx, st, c, o, a.stdout)
		}),
	}
	f := c.Flags()
	f.StringVar(&o.Lang, "lang", "en", `language of the labels and of the codes' meanings: "en" or "ja"`)
	f.StringVar(&o.By, "by", "code", `"code" (final results), "domain" (final results per destination domain), "reason" (final results per reason name: a bounce's, or the session reply's), "mx" (attempts per MX host) or "time" (attempts per --bucket)`)
	f.StringVar(&o.Bucket, "bucket", "1m", "width of a time bucket for --by time (30s, 1m, 1h…)")
	f.BoolVar(&o.JSON, "json", false, "print JSON")
	return c
}

func (a *cli) campaignExportCmd() *cobra.Command {
	var format, out string
	c := &cobra.Command{
		Use:   "export [--format tsv|csv|json] [--out FILE] NAME|ID",
		Short: "every recipient's result, streamed in list order",
		Args: func(_ *cobra.Command, _ []string) error {
			if err := report.CheckFormat(format); err != nil {
				return usageError{err.Error()}
			}
			return nil
		},
		RunE: a.withCampaign("campaign export", func(ctx context.Context, st *store.Store, c store.Campaign) error {
			return report.Export(ctx, st, c, format, out, a.stdout, a.stderr)
		}),
	}
	c.Flags().StringVar(&format, "format", "tsv", `"tsv" (tab, newline, CR and backslash escaped as \t \n \r \\), "csv" (RFC 4180) or "json" (one object per line)`)
	c.Flags().StringVar(&out, "out", "", "write to `FILE`, which appears only once complete (default standard output)")
	return c
}

func (a *cli) campaignSuppressCmd() *cobra.Command {
	var asJSON bool
	reason := "manual"
	list := &cobra.Command{
		Use: "list [--json] [ADDR…]", Short: "the suppression list (all, or only the ADDRs)",
		RunE: a.withStore(func(ctx context.Context, st *store.Store, addrs []string) error {
			return report.SuppressList(ctx, st, addrs, asJSON, a.stdout, a.stderr)
		}),
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON lines")
	edit := func(verb, use, short string) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short,
			Args: func(_ *cobra.Command, addrs []string) error {
				if len(addrs) == 0 {
					return usagef("campaign suppress %s needs at least one ADDR", verb)
				}
				for _, ad := range addrs {
					if err := report.CheckAddress(ad); err != nil {
						return usageError{err.Error()}
					}
				}
				return nil
			},
			RunE: a.withStore(func(ctx context.Context, st *store.Store, addrs []string) error {
				return report.SuppressEdit(ctx, st, verb, addrs, reason, a.stdout)
			}),
		}
	}
	add := edit("add", "add [--reason TEXT] ADDR…", "put addresses on the suppression list")
	add.Flags().StringVar(&reason, "reason", reason, "why the addresses are suppressed (kept with each)")
	return group(&cobra.Command{Use: "suppress", Short: "the suppression list: list, add, del"},
		list, add, edit("del", "del ADDR…", "take addresses off the suppression list and reset their scores"))
}
