package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/hikyaku/hikyaku/internal/admin"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/queue"
)

func (a *cli) userCmd() *cobra.Command {
	var nu admin.NewUser
	var pwStdin bool
	add := &cobra.Command{
		Use: "add [--name NAME] [--password-stdin] [--quota SIZE] ADDRESS", Short: "add a local user (a mailbox, and a login with a password)",
		Args: exactArgs(1, "user add needs exactly one ADDRESS"),
		RunE: a.withConfig(func(cfg *config.Config, args []string) error {
			if _, err := admin.ParseQuota(nu.Quota); err != nil {
				return usagef("--quota: %v", err)
			}
			nu.Address = args[0]
			if pwStdin {
				nu.PasswordFrom = os.Stdin
			}
			return admin.AddUser(cfg, nu, a.stdout)
		}),
	}
	add.Flags().StringVar(&nu.Name, "name", "", "full name (shown by VRFY when enabled)")
	add.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input (without it the user is a mailbox only and cannot log in)")
	add.Flags().StringVar(&nu.Quota, "quota", "", `mailbox quota such as "1GiB" (default: [local] quota)`)
	return group(&cobra.Command{Use: "user", Short: "manage local users: add, del, list, passwd"},
		add,
		&cobra.Command{
			Use: "passwd ADDRESS", Short: "set a user's password from the first line of standard input",
			Args: exactArgs(1, "user passwd needs exactly one ADDRESS"),
			RunE: a.withConfig(func(cfg *config.Config, args []string) error {
				return admin.SetPassword(cfg, args[0], os.Stdin, a.stdout)
			}),
		},
		&cobra.Command{
			Use: "del ADDRESS", Short: "delete a user (its mailbox files are kept)",
			Args: exactArgs(1, "user del takes 1 argument(s): ADDRESS"),
			RunE: a.withConfig(func(cfg *config.Config, args []string) error { return admin.DelUser(cfg, args[0], a.stdout) }),
		},
		&cobra.Command{
			Use: "list", Short: "list the users", Args: exactArgs(0, "user list takes 0 argument(s)"),
			RunE: a.withConfig(func(cfg *config.Config, _ []string) error { return admin.ListUsers(cfg, a.stdout) }),
		})
}

func (a *cli) aliasCmd() *cobra.Command {
	var list bool
	add := &cobra.Command{
		Use: "add [--list] ADDRESS TARGET...", Short: "add an alias or a mailing list",
		Args: minArgs(2, "alias add needs an ADDRESS and at least one TARGET"),
		RunE: a.withConfig(func(cfg *config.Config, args []string) error {
			return admin.AddAlias(cfg, args[0], args[1:], list, a.stdout)
		}),
	}
	add.Flags().BoolVar(&list, "list", false, "a mailing list: EXPN shows its members when [smtp] expn is on")
	return group(&cobra.Command{Use: "alias", Short: "manage aliases and lists: add, del, list"},
		add,
		&cobra.Command{
			Use: "del ADDRESS", Short: "delete an alias", Args: exactArgs(1, "alias del takes 1 argument(s): ADDRESS"),
			RunE: a.withConfig(func(cfg *config.Config, args []string) error { return admin.DelAlias(cfg, args[0], a.stdout) }),
		},
		&cobra.Command{
			Use: "list", Short: "list the aliases and lists", Args: exactArgs(0, "alias list takes 0 argument(s)"),
			RunE: a.withConfig(func(cfg *config.Config, _ []string) error { return admin.ListAliases(cfg, a.stdout) }),
		})
}

// withQueue is a RunE that opens the relay queue and calls fn.
func (a *cli) withQueue(fn func(q *queue.Store, args []string) error) func(*cobra.Command, []string) error {
	return a.withConfig(func(cfg *config.Config, args []string) error {
		q, err := admin.OpenQueue(cfg)
		if err != nil {
			return err
		}
		defer q.Close()
		return fn(q, args)
	})
}

func (a *cli) queueCmd() *cobra.Command {
	var asJSON, body bool
	list := &cobra.Command{
		Use: "list [--json]", Short: "list the messages in the relay queue", Args: exactArgs(0, "queue list takes no arguments"),
		RunE: a.withQueue(func(q *queue.Store, _ []string) error { return admin.ListQueue(q, asJSON, a.stdout) }),
	}
	list.Flags().BoolVar(&asJSON, "json", false, "one JSON object per message")
	show := &cobra.Command{
		Use: "show [--body] ID", Short: "show a queued message's envelope and header", Args: exactArgs(1, "queue show needs exactly one ID"),
		RunE: a.withQueue(func(q *queue.Store, args []string) error { return admin.ShowQueued(q, args[0], body, a.stdout) }),
	}
	show.Flags().BoolVar(&body, "body", false, "print the whole message, not only its header")
	g := group(&cobra.Command{Use: "queue", Short: "the relay queue: list, show, hold, release, retry, delete"}, list, show)
	for _, q := range []struct{ name, short string }{
		{"hold", "hold messages: the runner leaves them alone until released"},
		{"release", "release held messages"},
		{"retry", "retry messages at the runner's next scan"},
		{"delete", "delete messages from the relay queue"},
	} {
		name, act := q.name, admin.QueueActions[q.name]
		g.AddCommand(&cobra.Command{
			Use: name + " ID...", Short: q.short,
			Args: minArgs(1, "queue "+name+" needs at least one ID"),
			RunE: a.withQueue(func(q *queue.Store, args []string) error { return act.Apply(q, args, a.stdout) }),
		})
	}
	return g
}
