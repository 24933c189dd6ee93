package campaignctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/app"
	"github.com/hikyaku/hikyaku/internal/campaign"
	"github.com/hikyaku/hikyaku/internal/campaign/compose"
	"github.com/hikyaku/hikyaku/internal/campaign/tsv"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/store"
)

// RunOptions are the command line of `campaign run`.
type RunOptions struct {
	List     string        // recipient list: TSV with a header line holding an email column
	Template string        // the message: an RFC 5322 file with {{.field}} merge fields
	Images   string        // folder of the inline images the HTML part names
	From     string        // From header (and return path, without VERP); "": the template's
	Rate     int           // messages per second from this process; 0: no limit; -1: campaign.rate
	Lifetime time.Duration // how long transient failures are retried; 0: campaign.lifetime
	Name     string        // campaign name; "": the list's name and the template's hash
	DryRun   bool          // compose every message, send nothing, store nothing
	LoadOnly bool          // load the list, leave the sending to workers
	Owner    string        // name of this process's claims; "": run@HOST/NAME
	JSON     bool          // print the summary as JSON
}

// Run sends a campaign (or resumes the one of that name) until every row
// is final or ctx is done, then prints the summary of its codes. It loads
// the list first when the campaign is new or was stopped.
func Run(ctx context.Context, cfg *config.Config, o RunOptions, stdout, stderr io.Writer) error {
	spec, err := campaignSpec(cfg, o.Template, o.Images, o.From, o.Lifetime)
	if err != nil {
		return err
	}
	tmpl, err := compileSpec(cfg, spec)
	if err != nil {
		return err
	}
	rd, err := tsv.Open(o.List)
	if err != nil {
		return err
	}
	defer rd.Close()
	if err := campaign.CheckFields(tmpl, o.List, rd.Header()); err != nil {
		return err
	}
	if o.DryRun {
		return dryRunCampaign(rd, tmpl, app.OrDefault(o.Name, "dry-run"), stdout)
	}
	if o.Name == "" {
		o.Name = strings.TrimSuffix(filepath.Base(o.List), filepath.Ext(o.List)) + "-" + spec.Hash()[:8]
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := findOrCreateCampaign(ctx, st, o.Name, o.List, spec)
	if err != nil {
		return err
	}
	logger := app.NewLogger(cfg, stderr).With("campaign", c.Name)
	if c.State == store.CampaignLoading || c.State == store.CampaignStopped || c.State == store.CampaignPaused {
		res, err := campaign.Load(ctx, st, c.ID, rd, nil)
		if err != nil {
			return err
		}
		logger.Info("list loaded", "rows", res.Rows, "already_loaded", res.Skipped, "invalid", res.Invalid)
		if err := st.SetCampaignState(ctx, c.ID, store.CampaignRunning); err != nil {
			return err
		}
		c.State = store.CampaignRunning
	}
	if o.LoadOnly {
		fmt.Fprintf(stdout, "campaign %s loaded; start `hikyaku campaign worker %s` on the sending nodes\n", c.Name, c.Name)
		return nil
	}
	if o.Owner == "" {
		host, _ := os.Hostname()
		o.Owner = "run@" + host + "/" + c.Name
	}
	if o.Rate >= 0 {
		cfg.Campaign.Rate = o.Rate
	}
	runErr := sendCampaign(ctx, cfg, st, c, o.Owner, logger, stderr)
	if err := printCampaignSummary(ctx, st, c, stdout, o.JSON); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil && ctx.Err() != nil {
		return fmt.Errorf("campaign %s interrupted; run the same command again to resume", c.Name)
	}
	return runErr
}

// campaignSpec gathers what makes the campaign's messages: the template
// and images from the command line, the rest from [campaign].
func campaignSpec(cfg *config.Config, tmplPath, imagesDir, from string, lifetime time.Duration) (campaign.Spec, error) {
	eml, err := os.ReadFile(tmplPath)
	if err != nil {
		return campaign.Spec{}, fmt.Errorf("reading the template: %w", err)
	}
	imgs, err := campaign.ReadImages(imagesDir)
	if err != nil {
		return campaign.Spec{}, err
	}
	if lifetime <= 0 {
		lifetime = cfg.Campaign.Lifetime.D()
	}
	k := cfg.Campaign
	return campaign.Spec{
		Template: eml, Images: imgs, ImagesDir: imagesDir, From: from, Charset: strings.ToUpper(k.Charset), MobileISO2022JP: k.MobileISO2022JP,
		ReturnPathDomain: k.ReturnPathDomain, ListUnsubscribe: k.ListUnsubscribe, ListUnsubscribeMailto: k.ListUnsubscribeMailto,
		Hostname: cfg.Hostname, Lifetime: lifetime,
	}, nil
}

// compileSpec parses the Spec's template and, when it sends with VERP,
// gives it the key that signs the return paths: data_dir/verp.key (or
// bounce.verp_secret_file), created on first use. The key is not part of
// the Spec, which is stored in the status store.
func compileSpec(cfg *config.Config, spec campaign.Spec) (*compose.Template, error) {
	tmpl, err := spec.Compile()
	if err != nil || spec.ReturnPathDomain == "" {
		return tmpl, err
	}
	key, err := app.LoadVERPKey(cfg)
	if err != nil {
		return nil, err
	}
	tmpl.SetVERPKey(key)
	return tmpl, nil
}

// findOrCreateCampaign resumes the campaign of that name, refusing one
// that sends another message, or records a new one.
func findOrCreateCampaign(ctx context.Context, st *store.Store, name, list string, spec campaign.Spec) (store.Campaign, error) {
	c, err := st.CampaignByName(ctx, name)
	if err == nil {
		if c.TemplateHash != spec.Hash() {
			return c, fmt.Errorf("campaign %q exists with another template, images or settings; give a new --name to send this one", name)
		}
		return c, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return c, err
	}
	opts, err := json.Marshal(spec)
	if err != nil {
		return c, err
	}
	abs, _ := filepath.Abs(list)
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: name, TemplateHash: spec.Hash(), ListPath: abs, Options: opts})
	if err != nil {
		return c, err
	}
	return st.Campaign(ctx, id)
}

// sendCampaign runs one Runner over c with a progress bar on a terminal
// and a log line every ten seconds otherwise.
func sendCampaign(ctx context.Context, cfg *config.Config, st *store.Store, c store.Campaign, owner string, logger *slog.Logger, stderr io.Writer) error {
	var spec campaign.Spec
	if err := json.Unmarshal(c.Options, &spec); err != nil {
		return fmt.Errorf("campaign %s: stored settings unreadable: %w", c.Name, err)
	}
	tmpl, err := compileSpec(cfg, spec)
	if err != nil {
		return err
	}
	rules, _, err := app.LoadReplyRules(cfg)
	if err != nil {
		return err
	}
	weights, err := cfg.CampaignWeights()
	if err != nil {
		return err
	}
	eng, err := app.NewEngine(cfg, logger, nil)
	if err != nil {
		return err
	}
	defer eng.Close()
	k := cfg.Campaign
	r := campaign.NewRunner(c, tmpl, spec.Lifetime, campaign.Options{
		Store: st, Engine: eng, Rules: rules, Owner: owner,
		Concurrency: k.Concurrency, Batch: k.Batch, Lease: k.Lease.D(), RetryMin: k.RetryMin.D(), RetryMax: k.RetryMax.D(),
		Rate: k.Rate, Weights: weights, StopWindow: k.StopWindow, StopPercent: k.StopPercent, ResendInDoubt: k.ResendInDoubt,
		Logger: logger,
	})
	prog, err := st.Progress(ctx, c.ID)
	if err != nil {
		return err
	}
	left := prog[store.StatePending] + prog[store.StateClaimed]
	stopShow := showProgress(r, c.Name, left, logger, stderr)
	err = r.Run(ctx)
	stopShow()
	return err
}
