package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/hikyaku/hikyaku/internal/app"
)

func (a *cli) sendCmd() *cobra.Command {
	var o app.SendOptions
	c := &cobra.Command{
		Use:   "send --from ADDR --to ADDR [--to ADDR…] [--json] [FILE]",
		Short: "deliver one message now to the recipients' mail hosts",
		Long:  "send delivers one message (FILE, or standard input without it) now, without the\nqueue, and prints one line per recipient: its code, what the code means, the\nhost and the remote's reply. It fails when a recipient was not delivered.",
		Args:  maxArgs(1, "send takes at most one FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(o.To) == 0 {
				return usagef("send needs at least one --to")
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				o.Data, err = os.ReadFile(args[0])
			} else {
				o.Data, err = io.ReadAll(cmd.InOrStdin())
			}
			if err != nil {
				return fmt.Errorf("reading the message: %w", err)
			}
			return app.Send(cfg, o, a.stdout, a.stderr)
		},
	}
	f := c.Flags()
	f.StringVar(&o.From, "from", "", `envelope sender ("" for a null sender)`)
	f.StringArrayVar(&o.To, "to", nil, "envelope recipient (repeat for more)")
	f.BoolVar(&o.JSON, "json", false, "one JSON object per recipient")
	return c
}
