package campaignctl

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hikyaku/hikyaku/internal/app"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/store"
)

// Worker sends, under owner's claims ("": worker@HOST:PID), every running
// campaign (only those named, when names are given) until none is left;
// with follow it keeps waiting for more until ctx is done.
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
