package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hikyaku/hikyaku/internal/app"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/queue"
)

// OpenQueue opens cfg's relay queue; the caller closes it.
func OpenQueue(cfg *config.Config) (*queue.Store, error) {
	return queue.OpenStore(app.DataPaths(cfg).Queue)
}

// ListQueue prints the relay queue: a table with a count, or one JSON
// object per message.
func ListQueue(q *queue.Store, asJSON bool, stdout io.Writer) error {
	items, listErr := q.List()
	if asJSON {
		enc := json.NewEncoder(stdout)
		for _, it := range items {
			if err := enc.Encode(it); err != nil {
				return err
			}
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
}

// ShowQueued prints one message's envelope as JSON, then its header, or
// the whole message when body is set.
func ShowQueued(q *queue.Store, id string, body bool, stdout io.Writer) error {
	it, data, err := q.Load(id)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(it, "", "  ")
	fmt.Fprintf(stdout, "%s\n\n", b)
	if !body {
		if i := strings.Index(string(data), "\r\n\r\n"); i >= 0 {
			data = data[:i+2]
		}
	}
	_, err = stdout.Write(data)
	return err
}

// A QueueAction is one of the changes `hikyaku queue` makes to messages.
type QueueAction struct {
	Done string // what is printed after each id
	Act  func(q *queue.Store, id string) error
}

// The queue actions by name.
var QueueActions = map[string]QueueAction{
	"hold":    {"held: the runner leaves it alone until released", func(q *queue.Store, id string) error { return q.SetHold(id, true) }},
	"release": {"released", func(q *queue.Store, id string) error { return q.SetHold(id, false) }},
	"retry":   {"will be retried at the runner's next scan", (*queue.Store).RequestRetry},
	"delete":  {"deleted", (*queue.Store).Delete},
}

// Apply runs a on every id in order, stopping at the first failure.
func (a QueueAction) Apply(q *queue.Store, ids []string, stdout io.Writer) error {
	for _, id := range ids {
		if err := a.Act(q, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %s\n", id, a.Done)
	}
	return nil
}
