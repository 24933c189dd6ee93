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
	"sort"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/hikyaku/hikyaku/internal/app"
	"github.com/hikyaku/hikyaku/internal/campaign"
	"github.com/hikyaku/hikyaku/internal/campaign/compose"
	"github.com/hikyaku/hikyaku/internal/campaign/tsv"
	"github.com/hikyaku/hikyaku/internal/codes"
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
		Template: eml, Images: imgs, From: from, Charset: strings.ToUpper(k.Charset), MobileISO2022JP: k.MobileISO2022JP,
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

// showProgress draws a bar on a terminal, or logs a line every ten
// seconds, until the returned function is called.
func showProgress(r *campaign.Runner, name string, left int, logger *slog.Logger, stderr io.Writer) func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	f, isFile := stderr.(*os.File)
	tty := isFile && isatty.IsTerminal(f.Fd())
	var bar *progressbar.ProgressBar
	every := 10 * time.Second
	if tty {
		bar = progressbar.NewOptions(left, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription(name),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("msg"),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
		every = 250 * time.Millisecond
	}
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			s := r.Stats()
			final := int(s.Sent + s.Failed)
			if bar != nil {
				bar.Describe(fmt.Sprintf("%s sent %d failed %d retrying %d", name, s.Sent, s.Failed, s.Retrying))
				_ = bar.Set(final)
				continue
			}
			el := time.Since(start).Seconds()
			rate := float64(final) / el
			eta := "-"
			if rate > 0 && left > final {
				eta = (time.Duration(float64(left-final)/rate) * time.Second).Round(time.Second).String()
			}
			logger.Info("campaign progress", "done", final, "of", left, "sent", s.Sent, "failed", s.Failed,
				"retrying", s.Retrying, "transient_attempts", s.Transient, "per_second", fmt.Sprintf("%.1f", rate), "eta", eta)
		}
	}()
	return func() {
		close(done)
		<-finished
		if bar != nil {
			_ = bar.Finish()
		}
	}
}

// printCampaignSummary prints the final codes so far with their meaning.
func printCampaignSummary(ctx context.Context, st *store.Store, c store.Campaign, w io.Writer, asJSON bool) error {
	counts, err := st.Counts(ctx, c.ID)
	if err != nil {
		return err
	}
	prog, err := st.Progress(ctx, c.ID)
	if err != nil {
		return err
	}
	c, err = st.Campaign(ctx, c.ID)
	if err != nil {
		return err
	}
	if asJSON {
		type codeCount struct {
			Code    int    `json:"code"`
			Count   int    `json:"count"`
			Meaning string `json:"meaning"`
		}
		out := struct {
			Campaign string         `json:"campaign"`
			State    string         `json:"state"`
			States   map[string]int `json:"states"`
			Codes    []codeCount    `json:"codes"`
		}{Campaign: c.Name, State: string(c.State), States: map[string]int{}}
		for s, n := range prog {
			out.States[string(s)] = n
		}
		for _, code := range sortedCodes(counts) {
			m, _ := codes.LookupCode(code)
			out.Codes = append(out.Codes, codeCount{code, counts[code], m.EN})
		}
		b, _ := json.Marshal(out)
		_, err := fmt.Fprintf(w, "%s\n", b)
		return err
	}
	fmt.Fprintf(w, "campaign %s: %s\n", c.Name, c.State)
	states := make([]string, 0, len(prog))
	for s, n := range prog {
		states = append(states, fmt.Sprintf("%s %d", s, n))
	}
	sort.Strings(states)
	fmt.Fprintf(w, "recipients: %s\n", strings.Join(states, ", "))
	for _, code := range sortedCodes(counts) {
		m, _ := codes.LookupCode(code)
		fmt.Fprintf(w, "%6d  %-5d %s\n", counts[code], code, m.EN)
	}
	return nil
}

func sortedCodes(m map[int]int) []int {
	out := make([]int, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	sort.Ints(out)
	return out
}

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

// Worker sends, under owner's claims, every running campaign (only those
// named, when names are given) until none is left; with follow it keeps
// waiting for more until ctx is done.
func Worker(ctx context.Context, cfg *config.Config, owner string, names []string, follow bool, stdout, stderr io.Writer) error {
	if owner == "" {
		host, _ := os.Hostname()
		owner = fmt.Sprintf("worker@%s:%d", host, os.Getpid())
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	logger := app.NewLogger(cfg, stderr).With("owner", owner)
	for ctx.Err() == nil {
		cs, err := st.ListCampaigns(ctx)
		if err != nil {
			return err
		}
		ran := false
		for _, c := range cs {
			if c.State != store.CampaignRunning || (len(want) > 0 && !want[c.Name]) {
				continue
			}
			ran = true
			logger.Info("working on campaign", "campaign", c.Name)
			if err := sendCampaign(ctx, cfg, st, c, owner, logger.With("campaign", c.Name), stderr); err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("worker interrupted; claims handed back")
				}
				return err
			}
			fmt.Fprintf(stdout, "campaign %s: done\n", c.Name)
		}
		if !ran && !follow {
			return nil
		}
		if !ran {
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}
	return nil
}
