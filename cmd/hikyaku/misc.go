package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/hikyaku/hikyaku/internal/admin"
	"github.com/hikyaku/hikyaku/internal/app"
	"github.com/hikyaku/hikyaku/internal/config"
)

func (a *cli) dkimCmd() *cobra.Command {
	alg, selector := "ed25519", ""
	keygen := &cobra.Command{
		Use:   "keygen [--alg ed25519|rsa] [--selector NAME] DOMAIN",
		Short: "make a DKIM key for DOMAIN and print the DNS record to publish",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("dkim keygen needs exactly one DOMAIN")
			}
			if alg != "ed25519" && alg != "rsa" {
				return usagef(`--alg must be "ed25519" or "rsa"`)
			}
			return nil
		},
		RunE: a.withConfig(func(cfg *config.Config, args []string) error {
			return app.DKIMKeygen(cfg, alg, selector, args[0], a.stdout, a.stderr)
		}),
	}
	keygen.Flags().StringVar(&alg, "alg", alg, `"ed25519" (RFC 8463) or "rsa" (2048 bits, for verifiers without ed25519)`)
	keygen.Flags().StringVar(&selector, "selector", "", `selector (default "hk<yyyymm><alg initial>", e.g. hk202611e)`)
	return group(&cobra.Command{Use: "dkim", Short: "DKIM keys: keygen DOMAIN prints the DNS record to publish"}, keygen)
}

func (a *cli) explainCmd() *cobra.Command {
	var lang string
	var asJSON bool
	c := &cobra.Command{
		Use:     `explain [--lang en|ja] [--json] CODE...`,
		Short:   "explain reply codes, enhanced status codes and result codes",
		Example: "  hikyaku explain 550 5.7.1 \"550 5.7.1\" 623\n  hikyaku explain -500 250 5.7.1   (negative result codes need no --)",
		Args:    minArgs(1, "explain needs at least one CODE"),
		RunE: func(_ *cobra.Command, args []string) error {
			switch lang {
			case "", "en", "ja":
			default:
				return usagef(`--lang must be "en" or "ja"`)
			}
			for i := range args {
				args[i] = strings.TrimPrefix(args[i], negativeMark)
			}
			return admin.Explain(args, lang, asJSON, a.stdout, a.stderr)
		},
	}
	c.Flags().StringVar(&lang, "lang", "", `"en", "ja", or empty for both`)
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (a *cli) configCmd() *cobra.Command {
	return &cobra.Command{
		Use: "config", Short: "print the documented configuration keys and their defaults",
		Long: "config checks the configuration (--config FILE, else $HIKYAKU_CONFIG, else the\nembedded defaults) and lists every documented key with its type, default and doc.",
		Args: exactArgs(0, "config takes no arguments"),
		RunE: a.withConfig(func(cfg *config.Config, _ []string) error { return admin.PrintConfig(cfg, a.stdout) }),
	}
}

// commit names the commit built from when the build stamped none (go
// build -buildvcs=false, or outside a checkout):
// go build -ldflags "-X main.commit=$(git rev-parse HEAD)" ./cmd/hikyaku
var commit string

// versionText is the module version, the VCS commit the binary was built
// from (the build's stamp, else main.commit) and the Go version.
func versionText() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "hikyaku (no build information)\n"
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	rev := app.OrDefault(settings["vcs.revision"], app.OrDefault(commit, "unknown (built without VCS information)"))
	if settings["vcs.modified"] == "true" {
		rev += " (modified)"
	}
	if t := settings["vcs.time"]; t != "" {
		rev += " " + t
	}
	return fmt.Sprintf("hikyaku %s\nmodule %s\ncommit %s\ngo %s %s/%s\n", bi.Main.Version, bi.Main.Path, rev,
		bi.GoVersion, settings["GOOS"], settings["GOARCH"])
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "print the version, the commit built from and the Go version",
		Args: exactArgs(0, "version takes no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), versionText())
			return err
		},
	}
}

// manCmd writes a man page per command, from the same definitions as
// --help and the completions.
func manCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use: "man DIR", Short: "write the man pages (hikyaku.1, hikyaku-serve.1, …) into DIR",
		Args: exactArgs(1, "man needs exactly one DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			hdr := &doc.GenManHeader{Title: "HIKYAKU", Section: "1", Source: "hikyaku", Manual: "hikyaku manual"}
			if err := doc.GenManTree(root, hdr, args[0]); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "man pages written to %s\n", args[0])
			return err
		},
	}
}
