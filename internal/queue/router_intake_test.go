package queue

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/intake"
	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/spool"
)

// Recipients for the bounce intake go to RouterOptions.Intake, not to the
// local mailboxes; the spool record is reclaimed only once the intake has
// them durably (a first failure keeps the message and retries).
func TestRouteIntake(t *testing.T) {
	dir := t.TempDir()
	local := mailbox.NewStore(filepath.Join(dir, "mail"), "mx.test", mailbox.StoreOptions{})
	bounces := &flakyLocal{fails: 1, real: mailbox.NewStore(filepath.Join(dir, "b"), "mx.test", mailbox.StoreOptions{})}
	var got []mailbox.Delivery
	in := deliverFunc(func(ds []mailbox.Delivery, recovering bool) []error {
		errs := bounces.Deliver(rewrite(ds), recovering)
		if errs[0] == nil {
			got = append(got, ds...)
		}
		return errs
	})
	relay := openStore(t, filepath.Join(dir, "queue"))
	rec := &reclaimed{}
	r := NewRouter(local, relay, rec, RouterOptions{RetryDelay: 20 * time.Millisecond, Intake: in})
	r.Start()
	t.Cleanup(r.Stop)
	verpAddr := "bounce+spring-3-abcdefghij@bounce.example.test"
	r.Route(message("Q1",
		spool.Recipient{Address: verpAddr, Mailbox: intake.MailboxPrefix + verpAddr},
		spool.Recipient{Address: "a@example.test", Mailbox: "example.test/a"},
	))
	wait(t, r)
	if len(got) != 1 || got[0].EnvelopeTo != verpAddr || got[0].Index != 0 {
		t.Fatalf("intake got %+v", got)
	}
	if n := countFiles(t, filepath.Join(dir, "mail", "example.test", "a", "new")); n != 1 {
		t.Errorf("%d files in the local mailbox, want 1", n)
	}
	if ids := rec.list(); len(ids) != 1 || bounces.calls != 2 {
		t.Errorf("reclaimed %v after %d intake calls", ids, bounces.calls)
	}
}

type deliverFunc func([]mailbox.Delivery, bool) []error

func (f deliverFunc) Deliver(ds []mailbox.Delivery, recovering bool) []error {
	return f(ds, recovering)
}

func rewrite(ds []mailbox.Delivery) []mailbox.Delivery {
	out := append([]mailbox.Delivery(nil), ds...)
	for i := range out {
		out[i].Mailbox = "bounces/in"
	}
	return out
}
