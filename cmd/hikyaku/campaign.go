package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/hikyaku/hikyaku/internal/campaign/rules"
	"github.com/hikyaku/hikyaku/internal/campaignctl"
	"github.com/hikyaku/hikyaku/internal/config"
)

func (a *cli) campaignCmd() *cobra.Command {
	return group(&cobra.Command{
		Use:   "campaign",
		Short: "bulk campaigns: run, worker, status, report, list, export, suppress, rules",
	}, a.campaignRunCmd(), a.campaignWorkerCmd(), a.campaignRulesCmd(),
		a.campaignListCmd(), a.campaignStatusCmd(), a.campaignReportCmd(), a.campaignExportCmd(), a.campaignSuppressCmd())
}

func (a *cli) campaignRunCmd() *cobra.Command {
	var o campaignctl.RunOptions
	c := &cobra.Command{
		Use:   "run --list LIST.tsv --template MSG.eml [--images DIR] [--from ADDR] [--rate N] [--lifetime D] [--name NAME] [--dry-run | --load-only] [--json]",
		Short: "send a campaign (the same --name resumes it)",
		Long: "run composes one message per row of the list from the template, loads the list\n" +
			"into the status store and sends, then prints the final codes with their meaning.\n" +
			"Interrupted, the same command resumes where it stopped.",
		Args: exactArgs(0, "campaign run needs --list and --template (and no other arguments)"),
		RunE: a.withSignals(func(ctx context.Context, cfg *config.Config, _ []string) error {
			if o.List == "" || o.Template == "" {
				return usagef("campaign run needs --list and --template (and no other arguments)")
			}
			return campaignctl.Run(ctx, cfg, o, a.stdout, a.stderr)
		}),
	}
	f := c.Flags()
	f.StringVar(&o.List, "list", "", "recipient list: TSV with a header line holding an email column")
	f.StringVar(&o.Template, "template", "", "the message: an RFC 5322 file with {{.field}} merge fields")
	f.StringVar(&o.Images, "images", "", "folder of the inline images the HTML part names")
	f.StringVar(&o.From, "from", "", "From header (and return path, without VERP); default: the template's From")
	f.IntVar(&o.Rate, "rate", -1, "messages per second from this process; 0: no limit; -1: campaign.rate")
	f.DurationVar(&o.Lifetime, "lifetime", 0, "how long transient failures are retried (default campaign.lifetime)")
	f.StringVar(&o.Name, "name", "", "campaign name (default: the list's name and the template's hash); the same name resumes")
	f.BoolVar(&o.DryRun, "dry-run", false, "compose every message, send nothing, store nothing")
	f.BoolVar(&o.LoadOnly, "load-only", false, "create the campaign and load the list, send nothing (the sending is left to campaign worker processes)")
	f.StringVar(&o.Owner, "owner", "", "name of this process's claims (default run@HOST/NAME)")
	f.BoolVar(&o.JSON, "json", false, "print the summary as JSON")
	return c
}

func (a *cli) campaignWorkerCmd() *cobra.Command {
	var owner string
	var follow bool
	c := &cobra.Command{
		Use:   "worker [--owner NAME] [--follow] [CAMPAIGN…]",
		Short: "send the running campaigns (all, or those named) from this node",
		RunE: a.withSignals(func(ctx context.Context, cfg *config.Config, names []string) error {
			return campaignctl.Worker(ctx, cfg, owner, names, follow, a.stdout, a.stderr)
		}),
	}
	c.Flags().StringVar(&owner, "owner", "", "name of this worker's claims (default worker@HOST:PID); a restarted worker under the same name takes its claims back at once")
	c.Flags().BoolVar(&follow, "follow", false, "keep waiting for running campaigns instead of exiting when none is left")
	return c
}

func (a *cli) campaignRulesCmd() *cobra.Command {
	var check string
	var defaults bool
	c := &cobra.Command{
		Use:   "rules [--check FILE] [--defaults]",
		Short: "the reply-text rules in effect (801/850), the built-in file, or a check of one",
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("campaign rules takes no arguments (got %q)", args[0])
			}
			switch {
			case check != "":
				return campaignctl.CheckRules(check, a.stdout, a.stderr)
			case defaults:
				return campaignctl.PrintDefaultRules(a.stdout)
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			return campaignctl.PrintRules(cfg, a.stdout)
		},
	}
	c.Flags().StringVar(&check, "check", "", "parse `FILE` as a rules file and report its errors (exit 1) or how many rules it holds")
	c.Flags().BoolVar(&defaults, "defaults", false, "print the built-in rules file with its comments, a start for data_dir/"+rules.FileName)
	return c
}
