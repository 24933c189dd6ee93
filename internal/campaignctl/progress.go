package campaignctl

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/hikyaku/hikyaku/internal/campaign"
)

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
