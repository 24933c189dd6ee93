package admin

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/hikyaku/hikyaku/internal/app"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/mailbox"
)

// OpenDirectory opens the users and aliases of cfg, creating data_dir.
func OpenDirectory(cfg *config.Config) (*mailbox.Directory, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	dir, err := mailbox.OpenDirectory(app.DataPaths(cfg).Users, cfg.Local.Domains)
	if err != nil {
		return nil, err
	}
	// Passwords set from here get the secrets [auth] asks for.
	dir.SetCredentialOptions(mailbox.CredentialOptions{CRAMMD5: cfg.Auth.CRAMMD5, SCRAMIterations: cfg.Auth.SCRAMIterations})
	return dir, nil
}

// ReadPassword takes the first line of stdin, so that passwords never
// appear in the process list or shell history.
func ReadPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fmt.Errorf("empty password on standard input")
	}
	return pw, nil
}

// NewUser is a user for AddUser.
type NewUser struct {
	Address, Name string
	Quota         string // such as "1GiB"; "" for [local] quota
	// Password is read from PasswordFrom when it is not nil; without one
	// the user is a mailbox only and cannot log in.
	PasswordFrom io.Reader
}

// ParseQuota reads a quota such as "1GiB"; "" is none (the default).
func ParseQuota(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	sz, err := config.ParseSize(s)
	return int64(sz), err
}

// change opens cfg's directory, makes one change and says what it did.
func change(cfg *config.Config, stdout io.Writer, do func(*mailbox.Directory) error, done string) error {
	dir, err := OpenDirectory(cfg)
	if err != nil {
		return err
	}
	if err := do(dir); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, done)
	return err
}

// table opens cfg's directory and prints a header and one line per entry,
// tab-separated cells aligned.
func table(cfg *config.Config, stdout io.Writer, header string, lines func(*mailbox.Directory) []string) error {
	dir, err := OpenDirectory(cfg)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, l := range lines(dir) {
		fmt.Fprintln(tw, l)
	}
	return tw.Flush()
}

// AddUser adds a user to cfg's directory.
func AddUser(cfg *config.Config, nu NewUser, stdout io.Writer) error {
	quota, err := ParseQuota(nu.Quota)
	if err != nil {
		return fmt.Errorf("--quota: %w", err)
	}
	u := mailbox.User{Address: nu.Address, Name: nu.Name, Quota: quota}
	pw := ""
	if nu.PasswordFrom != nil {
		if pw, err = ReadPassword(nu.PasswordFrom); err != nil {
			return err
		}
	}
	return change(cfg, stdout, func(d *mailbox.Directory) error { return d.AddUser(u, pw) },
		"user "+strings.ToLower(u.Address)+" added")
}

// SetPassword sets addr's password to the first line of stdin.
func SetPassword(cfg *config.Config, addr string, stdin io.Reader, stdout io.Writer) error {
	pw, err := ReadPassword(stdin)
	if err != nil {
		return err
	}
	return change(cfg, stdout, func(d *mailbox.Directory) error { return d.SetPassword(addr, pw) },
		"password of "+addr+" changed")
}

// DelUser deletes a user; its mailbox files are kept.
func DelUser(cfg *config.Config, addr string, stdout io.Writer) error {
	return change(cfg, stdout, func(d *mailbox.Directory) error { return d.DelUser(addr) },
		"user "+addr+" deleted (its mailbox files are kept)")
}

// ListUsers prints every user: address, name, whether it can log in,
// quota and forwarding address.
func ListUsers(cfg *config.Config, stdout io.Writer) error {
	return table(cfg, stdout, "ADDRESS\tNAME\tLOGIN\tQUOTA\tMOVED TO", func(d *mailbox.Directory) []string {
		var out []string
		for _, u := range d.Users() {
			login := "no"
			if u.PasswordHash != "" {
				login = "yes"
			}
			quota := "default"
			if u.Quota > 0 {
				quota = fmt.Sprint(u.Quota)
			}
			out = append(out, strings.Join([]string{u.Address, u.Name, login, quota, u.MovedTo}, "\t"))
		}
		return out
	})
}

// AddAlias adds an alias (or a mailing list, which EXPN shows when [smtp]
// expn is on) of addr to targets.
func AddAlias(cfg *config.Config, addr string, targets []string, list bool, stdout io.Writer) error {
	a := mailbox.Alias{Address: addr, Targets: targets, List: list}
	return change(cfg, stdout, func(d *mailbox.Directory) error { return d.AddAlias(a) },
		"alias "+a.Address+" -> "+strings.Join(a.Targets, ", "))
}

// DelAlias deletes an alias.
func DelAlias(cfg *config.Config, addr string, stdout io.Writer) error {
	return change(cfg, stdout, func(d *mailbox.Directory) error { return d.DelAlias(addr) }, "alias "+addr+" deleted")
}

// ListAliases prints every alias and list with its targets.
func ListAliases(cfg *config.Config, stdout io.Writer) error {
	return table(cfg, stdout, "ADDRESS\tLIST\tTARGETS", func(d *mailbox.Directory) []string {
		var out []string
		for _, a := range d.Aliases() {
			out = append(out, fmt.Sprintf("%s\t%v\t%s", a.Address, a.List, strings.Join(a.Targets, ", ")))
		}
		return out
	})
}
