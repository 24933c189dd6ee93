package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/hikyaku/hikyaku/internal/campaign"
	"github.com/hikyaku/hikyaku/internal/campaign/compose"
	"github.com/hikyaku/hikyaku/internal/campaign/tsv"
	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/store"
	"github.com/hikyaku/hikyaku/internal/verp"
)

func runCampaignRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("campaign run", "campaign run [--config FILE] --list LIST.tsv --template MSG.eml [--images DIR] [--from ADDR] [--rate N] [--lifetime D] [--name NAME] [--dry-run | --load-only] [--json]", stderr)
	cfgPath := configFlag(fs)
	list := fs.String("list", "", "recipient list: TSV with a header line holding an email column")
	tmplPath := fs.String("template", "", "the message: an RFC 5322 file with {{.field}} merge fields")
	images := fs.String("images", "", "folder of the inline images the HTML part names")
	from := fs.String("from", "", "From header (and return path, without VERP); default: the template's From")
	rate := fs.Int("rate", -1, "messages per second from this process; 0: no limit; -1: campaign.rate")
	lifetime := fs.Duration("lifetime", 0, "how long transient failures are retried (default campaign.lifetime)")
	name := fs.String("name", "", "campaign name (default: the list's name and the template's hash); the same name resumes")
	dryRun := fs.Bool("dry-run", false, "compose every message, send nothing, store nothing")
	loadOnly := fs.Bool("load-only", false, "create the campaign and load the list, send nothing (the sending is left to campaign worker processes)")
	owner := fs.String("owner", "", "name of this process's claims (default run@HOST/NAME)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *list == "" || *tmplPath == "" || fs.NArg() > 0 {
		return usagef("campaign run needs --list and --template (and no other arguments)")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	spec, err := campaignSpec(cfg, *tmplPath, *images, *from, *lifetime)
	if err != nil {
		return err
	}
	tmpl, err := compileSpec(cfg, spec)
	if err != nil {
		return err
	}
	rd, err := tsv.Open(*list)
	if err != nil {
		return err
	}
	defer rd.Close()
	if missing := campaign.MissingFields(tmpl, rd.Header()); len(missing) > 0 {
		return fmt.Errorf("%d the template uses merge fields the list has no column for: %s (%s)",
			tsv.CodeHeaderUnparsed, strings.Join(missing, ", "), *list)
	}
	if *dryRun {
		return dryRunCampaign(rd, tmpl, orDefault(*name, "dry-run"), stdout)
	}
	if *name == "" {
		*name = strings.TrimSuffix(filepath.Base(*list), filepath.Ext(*list)) + "-" + spec.Hash()[:8]
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := findOrCreateCampaign(ctx, st, *name, *list, spec)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr).With("campaign", c.Name)
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
	if *loadOnly {
		fmt.Fprintf(stdout, "campaign %s loaded; start `hikyaku campaign worker %s` on the sending nodes\n", c.Name, c.Name)
		return nil
	}
	if *owner == "" {
		host, _ := os.Hostname()
		*owner = "run@" + host + "/" + c.Name
	}
	if *rate >= 0 {
		cfg.Campaign.Rate = *rate
	}
	runErr := sendCampaign(ctx, cfg, st, c, *owner, logger, stderr)
	if err := printCampaignSummary(ctx, st, c, stdout, *asJSON); err != nil && runErr == nil {
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
	key, err := loadVERPKey(cfg)
	if err != nil {
		return nil, err
	}
	tmpl.SetVERPKey(key)
	return tmpl, nil
}

// loadVERPKey reads (creating it when missing) the VERP key that
// campaigns sign with and serve checks with.
func loadVERPKey(cfg *config.Config) ([]byte, error) {
	path := verpKeyPath(cfg)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("VERP key: %w", err)
	}
	key, err := verp.LoadKey(path, true)
	if err != nil {
		return nil, fmt.Errorf("VERP key %s: %w", path, err)
	}
	return key, nil
}

func verpKeyPath(cfg *config.Config) string {
	if cfg.Bounce.VERPSecretFile != "" {
		return cfg.Bounce.VERPSecretFile
	}
	return filepath.Join(cfg.DataDir, verp.KeyFile)
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
	rules, _, err := loadReplyRules(cfg)
	if err != nil {
		return err
	}
	weights, err := cfg.CampaignWeights()
	if err != nil {
		return err
	}
	eng, err := newEngine(cfg, logger, nil)
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

func runCampaignWorker(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("campaign worker", "campaign worker [--config FILE] [--owner NAME] [--follow] [CAMPAIGN…]", stderr)
	cfgPath := configFlag(fs)
	owner := fs.String("owner", "", "name of this worker's claims (default worker@HOST:PID); a restarted worker under the same name takes its claims back at once")
	follow := fs.Bool("follow", false, "keep waiting for running campaigns instead of exiting when none is left")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *owner == "" {
		host, _ := os.Hostname()
		*owner = fmt.Sprintf("worker@%s:%d", host, os.Getpid())
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	want := map[string]bool{}
	for _, n := range fs.Args() {
		want[n] = true
	}
	logger := newLogger(cfg, stderr).With("owner", *owner)
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
			if err := sendCampaign(ctx, cfg, st, c, *owner, logger.With("campaign", c.Name), stderr); err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("worker interrupted; claims handed back")
				}
				return err
			}
			fmt.Fprintf(stdout, "campaign %s: done\n", c.Name)
		}
		if !ran && !*follow {
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
