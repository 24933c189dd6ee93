package main

import (
	"crypto"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/dkim"
)

// DKIM keys live at <data_dir>/dkim/<domain>/<selector>.pem: keygen
// writes them and serve/send sign outgoing mail with every key there whose
// domain is the From: domain (or its parent).
func dkimDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "dkim") }

func runDKIM(args []string, stdout, stderr io.Writer) error {
	return subcommand("dkim", args, map[string]func([]string) error{
		"keygen": func(args []string) error {
			fs := newFlags("dkim keygen", "dkim keygen [--config FILE] [--alg ed25519|rsa] [--selector NAME] DOMAIN", stderr)
			cfgPath := configFlag(fs)
			alg := fs.String("alg", "ed25519", `"ed25519" (RFC 8463) or "rsa" (2048 bits, for verifiers without ed25519)`)
			selector := fs.String("selector", "", `selector (default "hk<yyyymm><alg initial>", e.g. hk202611e)`)
			if err := parseFlags(fs, args); err != nil {
				return err
			}
			if fs.NArg() != 1 {
				return usagef("dkim keygen needs exactly one DOMAIN")
			}
			if *alg != "ed25519" && *alg != "rsa" {
				return usagef(`--alg must be "ed25519" or "rsa"`)
			}
			cfg, err := loadConfig(*cfgPath)
			if err != nil {
				return err
			}
			domain := strings.ToLower(strings.TrimSuffix(fs.Arg(0), "."))
			sel := *selector
			if sel == "" {
				sel = "hk" + time.Now().UTC().Format("200601") + (*alg)[:1]
			}
			signer, pemBytes, err := dkim.GenerateKey(*alg)
			if err != nil {
				return err
			}
			dir := filepath.Join(dkimDir(cfg), domain)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			path := filepath.Join(dir, sel+".pem")
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("key file %s: %w (choose another --selector)", path, err)
			}
			if _, err := f.Write(pemBytes); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			// Check the file loads as serve will load it.
			if _, err := dkim.LoadKey(domain, sel, path); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "private key written to %s; publish this record, then mail From: @%s is signed:\n", path, domain)
			fmt.Fprintln(stdout, dkim.DNSRecord(sel, domain, signer.Public().(crypto.PublicKey)))
			return nil
		},
	}, stderr)
}

// loadDKIM reads every key under <data_dir>/dkim; nil when there are none.
func loadDKIM(cfg *config.Config) (*dkim.Signer, error) {
	root := dkimDir(cfg)
	domains, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := &dkim.Signer{Keys: map[string][]dkim.Key{}}
	for _, d := range domains {
		if !d.IsDir() {
			continue
		}
		files, err := filepath.Glob(filepath.Join(root, d.Name(), "*.pem"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			sel := strings.TrimSuffix(filepath.Base(f), ".pem")
			k, err := dkim.LoadKey(d.Name(), sel, f)
			if err != nil {
				return nil, fmt.Errorf("DKIM key %s: %w", f, err)
			}
			s.Keys[d.Name()] = append(s.Keys[d.Name()], k)
		}
	}
	if len(s.Keys) == 0 {
		return nil, nil
	}
	return s, nil
}
