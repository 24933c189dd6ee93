package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/queue"
)

func openDirectory(cfgPath string) (*mailbox.Directory, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	dir, err := mailbox.OpenDirectory(dataPaths(cfg).users, cfg.Local.Domains)
	if err != nil {
		return nil, err
	}
	// Passwords set from here get the secrets [auth] asks for.
	dir.SetCredentialOptions(mailbox.CredentialOptions{CRAMMD5: cfg.Auth.CRAMMD5, SCRAMIterations: cfg.Auth.SCRAMIterations})
	return dir, nil
}

// readPassword takes the first line of stdin, so that passwords never
// appear in the process list or shell history.
func readPassword(stdin io.Reader) (string, error) {
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

func runUser(args []string, stdout, stderr io.Writer) error {
	return subcommand("user", args, map[string]func([]string) error{
		"add": func(args []string) error {
			fs := newFlags("user add", "user add [--config FILE] [--name NAME] [--password-stdin] [--quota SIZE] ADDRESS", stderr)
			cfgPath := configFlag(fs)
			name := fs.String("name", "", "full name (shown by VRFY when enabled)")
			pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (without it the user is a mailbox only and cannot log in)")
			quota := fs.String("quota", "", `mailbox quota such as "1GiB" (default: [local] quota)`)
			if err := parseFlags(fs, args); err != nil {
				return err
			}
			if fs.NArg() != 1 {
				return usagef("user add needs exactly one ADDRESS")
			}
			u := mailbox.User{Address: fs.Arg(0), Name: *name}
			if *quota != "" {
				sz, err := config.ParseSize(*quota)
				if err != nil {
					return usagef("--quota: %v", err)
				}
				u.Quota = int64(sz)
			}
			pw := ""
			if *pwStdin {
				var err error
				if pw, err = readPassword(os.Stdin); err != nil {
					return err
				}
			}
			dir, err := openDirectory(*cfgPath)
			if err != nil {
				return err
			}
			if err := dir.AddUser(u, pw); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "user %s added\n", strings.ToLower(u.Address))
			return nil
		},
		"passwd": func(args []string) error {
			fs := newFlags("user passwd", "user passwd [--config FILE] ADDRESS  (new password on standard input)", stderr)
			cfgPath := configFlag(fs)
			if err := parseFlags(fs, args); err != nil {
				return err
			}
			if fs.NArg() != 1 {
				return usagef("user passwd needs exactly one ADDRESS")
			}
			pw, err := readPassword(os.Stdin)
			if err != nil {
				return err
			}
			dir, err := openDirectory(*cfgPath)
			if err != nil {
				return err
			}
			if err := dir.SetPassword(fs.Arg(0), pw); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "password of %s changed\n", fs.Arg(0))
			return nil
		},
		"del": directoryCommand("user del", "ADDRESS", 1, stdout, stderr, func(dir *mailbox.Directory, args []string) (string, error) {
			return fmt.Sprintf("user %s deleted (its mailbox files are kept)", args[0]), dir.DelUser(args[0])
		}),
		"list": directoryCommand("user list", "", 0, stdout, stderr, func(dir *mailbox.Directory, _ []string) (string, error) {
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ADDRESS\tNAME\tLOGIN\tQUOTA\tMOVED TO")
			for _, u := range dir.Users() {
				login := "no"
				if u.PasswordHash != "" {
					login = "yes"
				}
				quota := "default"
				if u.Quota > 0 {
					quota = fmt.Sprint(u.Quota)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Address, u.Name, login, quota, u.MovedTo)
			}
			return "", tw.Flush()
		}),
	}, stderr)
}

// directoryCommand builds a user/alias sub-command that takes --config
// and exactly nargs arguments, runs fn on the directory and prints what
// fn reports.
func directoryCommand(name, args string, nargs int, stdout, stderr io.Writer, fn func(*mailbox.Directory, []string) (string, error)) func([]string) error {
	return func(argv []string) error {
		fs := newFlags(name, strings.TrimSpace(name+" [--config FILE] "+args), stderr)
		cfgPath := configFlag(fs)
		if err := parseFlags(fs, argv); err != nil {
			return err
		}
		if fs.NArg() != nargs {
			return usagef("%s takes %d argument(s): %s", name, nargs, args)
		}
		dir, err := openDirectory(*cfgPath)
		if err != nil {
			return err
		}
		msg, err := fn(dir, fs.Args())
		if err != nil {
			return err
		}
		if msg != "" {
			fmt.Fprintln(stdout, msg)
		}
		return nil
	}
}

func runAlias(args []string, stdout, stderr io.Writer) error {
	return subcommand("alias", args, map[string]func([]string) error{
		"add": func(args []string) error {
			fs := newFlags("alias add", "alias add [--config FILE] [--list] ADDRESS TARGET...", stderr)
			cfgPath := configFlag(fs)
			list := fs.Bool("list", false, "a mailing list: EXPN shows its members when [smtp] expn is on")
			if err := parseFlags(fs, args); err != nil {
				return err
			}
			if fs.NArg() < 2 {
				return usagef("alias add needs an ADDRESS and at least one TARGET")
			}
			dir, err := openDirectory(*cfgPath)
			if err != nil {
				return err
			}
			a := mailbox.Alias{Address: fs.Arg(0), Targets: fs.Args()[1:], List: *list}
			if err := dir.AddAlias(a); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "alias %s -> %s\n", a.Address, strings.Join(a.Targets, ", "))
			return nil
		},
		"del": directoryCommand("alias del", "ADDRESS", 1, stdout, stderr, func(dir *mailbox.Directory, args []string) (string, error) {
			return fmt.Sprintf("alias %s deleted", args[0]), dir.DelAlias(args[0])
		}),
		"list": directoryCommand("alias list", "", 0, stdout, stderr, func(dir *mailbox.Directory, _ []string) (string, error) {
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ADDRESS\tLIST\tTARGETS")
			for _, a := range dir.Aliases() {
				fmt.Fprintf(tw, "%s\t%v\t%s\n", a.Address, a.List, strings.Join(a.Targets, ", "))
			}
			return "", tw.Flush()
		}),
	}, stderr)
}

func openQueue(cfgPath string) (*queue.Store, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	return queue.OpenStore(dataPaths(cfg).queue)
}

func runQueue(args []string, stdout, stderr io.Writer) error {
	return subcommand("queue", args, map[string]func([]string) error{
		"list": func(args []string) error {
			fs := newFlags("queue list", "queue list [--config FILE] [--json]", stderr)
			cfgPath := configFlag(fs)
			asJSON := fs.Bool("json", false, "one JSON object per message")
			if err := parseFlags(fs, args); err != nil {
				return err
			}
			q, err := openQueue(*cfgPath)
			if err != nil {
				return err
			}
			defer q.Close()
			items, listErr := q.List()
			if *asJSON {
				enc := json.NewEncoder(stdout)
				for _, it := range items {
					enc.Encode(it)
				}
				return listErr
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tAGE\tSIZE\tFROM\tRECIPIENTS")
			for _, it := range items {
				var rs []string
				for _, r := range it.Recipients {
					rs = append(rs, r.Address+" ("+r.Status+")")
				}
				from := it.From
				if from == "" {
					from = "<>"
				}
				if it.Hold {
					rs = append(rs, "[held]")
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", it.ID, time.Since(it.ReceivedAt).Round(time.Second), it.Size, from, strings.Join(rs, ", "))
			}
			tw.Flush()
			fmt.Fprintf(stdout, "%d message(s) in the relay queue\n", len(items))
			return listErr
		},
		"show": func(args []string) error {
			fs := newFlags("queue show", "queue show [--config FILE] [--body] ID", stderr)
			cfgPath := configFlag(fs)
			body := fs.Bool("body", false, "print the whole message, not only its header")
			if err := parseFlags(fs, args); err != nil {
				return err
			}
			if fs.NArg() != 1 {
				return usagef("queue show needs exactly one ID")
			}
			q, err := openQueue(*cfgPath)
			if err != nil {
				return err
			}
			defer q.Close()
			it, data, err := q.Load(fs.Arg(0))
			if err != nil {
				return err
			}
			b, _ := json.MarshalIndent(it, "", "  ")
			fmt.Fprintf(stdout, "%s\n\n", b)
			if !*body {
				if i := strings.Index(string(data), "\r\n\r\n"); i >= 0 {
					data = data[:i+2]
				}
			}
			_, err = stdout.Write(data)
			return err
		},
		"hold":    queueControl("hold", "held: the runner leaves it alone until released", stdout, stderr, func(q *queue.Store, id string) error { return q.SetHold(id, true) }),
		"release": queueControl("release", "released", stdout, stderr, func(q *queue.Store, id string) error { return q.SetHold(id, false) }),
		"retry":   queueControl("retry", "will be retried at the runner's next scan", stdout, stderr, (*queue.Store).RequestRetry),
		"delete": func(args []string) error {
			fs := newFlags("queue delete", "queue delete [--config FILE] ID...", stderr)
			cfgPath := configFlag(fs)
			if err := parseFlags(fs, args); err != nil {
				return err
			}
			if fs.NArg() == 0 {
				return usagef("queue delete needs at least one ID")
			}
			q, err := openQueue(*cfgPath)
			if err != nil {
				return err
			}
			defer q.Close()
			for _, id := range fs.Args() {
				if err := q.Delete(id); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%s deleted\n", id)
			}
			return nil
		},
	}, stderr)
}

// queueControl builds the hold/release/retry sub-commands.
func queueControl(name, done string, stdout, stderr io.Writer, act func(*queue.Store, string) error) func([]string) error {
	return func(args []string) error {
		fs := newFlags("queue "+name, "queue "+name+" [--config FILE] ID...", stderr)
		cfgPath := configFlag(fs)
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			return usagef("queue %s needs at least one ID", name)
		}
		q, err := openQueue(*cfgPath)
		if err != nil {
			return err
		}
		defer q.Close()
		for _, id := range fs.Args() {
			if err := act(q, id); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s %s\n", id, done)
		}
		return nil
	}
}

func runExplain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("explain", "explain [--lang en|ja] [--json] CODE...   (550, 5.7.1, \"550 5.7.1\", 623, -11)", stderr)
	lang := fs.String("lang", "", `"en", "ja", or empty for both`)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("explain needs at least one CODE")
	}
	switch *lang {
	case "", "en", "ja":
	default:
		return usagef(`--lang must be "en" or "ja"`)
	}
	var failed error
	for i, q := range fs.Args() {
		d, err := codes.Describe(q)
		if err != nil {
			fmt.Fprintf(stderr, "hikyaku: %v\n", err)
			failed = fmt.Errorf("some codes could not be explained")
			continue
		}
		if *asJSON {
			b, _ := json.Marshal(d)
			fmt.Fprintf(stdout, "%s\n", b)
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprint(stdout, strings.TrimRight(d.Text(*lang), "\n")+"\n")
	}
	return failed
}

func runConfig(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("config", "config [--config FILE]   (check a file and list every key)", stderr)
	cfgPath := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# configuration %s is valid\n", orDefault(cfg.File, "(embedded defaults)"))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tTYPE\tDEFAULT\tDOC")
	for _, k := range config.Keys() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Name, k.Type, k.Default, k.Doc)
	}
	return tw.Flush()
}
