package app

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

// DKIMKeygen makes a key of alg ("ed25519" or "rsa") for domain under
// data_dir/dkim, refusing to overwrite one, prints the DNS record to
// publish on stdout and where the key went on stderr. An empty selector
// is "hk<yyyymm><alg initial>".
func DKIMKeygen(cfg *config.Config, alg, selector, domain string, stdout, stderr io.Writer) error {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if selector == "" {
		selector = "hk" + time.Now().UTC().Format("200601") + alg[:1]
	}
	signer, pemBytes, err := dkim.GenerateKey(alg)
	if err != nil {
		return err
	}
	dir := filepath.Join(DataPaths(cfg).DKIM, domain)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, selector+".pem")
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
	if _, err := dkim.LoadKey(domain, selector, path); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "private key written to %s; publish this record, then mail From: @%s is signed:\n", path, domain)
	_, err = fmt.Fprintln(stdout, dkim.DNSRecord(selector, domain, signer.Public().(crypto.PublicKey)))
	return err
}
