package browser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/smtp"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// What the command line says about a campaign, decoded from its --json
// output: the figures every page is compared with. Only the fields the
// test compares are declared.

type cliStatus struct {
	Campaign struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"campaign"`
	Recipients  int            `json:"recipients"`
	States      map[string]int `json:"states"`
	Done        int            `json:"done"`
	PercentDone float64        `json:"percent_done"`
	Attempts    int            `json:"attempts"`
}

type cliCodeRow struct {
	Code  int    `json:"code"`
	Count int    `json:"count"`
	Class string `json:"class"`
	EN    string `json:"en"`
	JA    string `json:"ja"`
}

type cliReport struct {
	Total                int          `json:"total"`
	Rows                 []cliCodeRow `json:"rows"`
	SuppressedByCampaign int          `json:"suppressed_by_campaign"`
	SkippedSuppressed    int          `json:"skipped_suppressed"`
}

type cliGroupRow struct {
	Key       string         `json:"key"`
	Delivered int            `json:"delivered"`
	Codes     map[string]int `json:"codes"`
}

type cliListRow struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	State      string `json:"state"`
	Recipients int    `json:"recipients"`
	Sent       int    `json:"sent"`
	Failed     int    `json:"failed"`
}

type cliExportRow struct {
	Row      int64   `json:"row"`
	Email    string  `json:"email"`
	State    string  `json:"state"`
	Code     int     `json:"code"`
	Enhanced string  `json:"enhanced"`
	Text     string  `json:"text"`
	Reason   string  `json:"reason"`
	Score    float64 `json:"score"`
}

type cliExplain struct {
	Code   string  `json:"code"`
	EN     string  `json:"en"`
	JA     string  `json:"ja"`
	Class  string  `json:"class"`
	Weight float64 `json:"weight"`
}

func decode[T any](w *world, what, text string) T {
	w.t.Helper()
	var v T
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		w.t.Fatalf("%s: %v\n%s", what, err, text)
	}
	return v
}

// jsonLines decodes one JSON object a line.
func jsonLines[T any](w *world, what, text string) []T {
	w.t.Helper()
	var out []T
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if l != "" {
			out = append(out, decode[T](w, what, l))
		}
	}
	return out
}

func (w *world) status(name string) cliStatus {
	return decode[cliStatus](w, "campaign status --json", w.hk("campaign", "status", "--json", name))
}

func (w *world) report(name string) cliReport {
	return decode[cliReport](w, "campaign report --json", w.hk("campaign", "report", "--json", name))
}

func (w *world) reportBy(name, by string) []cliGroupRow {
	r := decode[struct {
		Rows []cliGroupRow `json:"rows"`
	}](w, "campaign report --by "+by, w.hk("campaign", "report", "--json", "--by", by, name))
	return r.Rows
}

func (w *world) export(name string) []cliExportRow {
	return jsonLines[cliExportRow](w, "campaign export --format json", w.hk("campaign", "export", "--format", "json", name))
}

// explain is what `explain --json` says of each code, asked once.
func (w *world) explain(codes ...int) map[int]cliExplain {
	w.t.Helper()
	args := []string{"explain", "--json"}
	for _, c := range codes {
		args = append(args, fmt.Sprint(c))
	}
	out := map[int]cliExplain{}
	for _, e := range jsonLines[cliExplain](w, "explain --json", w.hk(args...)) {
		c, _ := strconv.Atoi(e.Code)
		out[c] = e
	}
	return out
}

// truth is everything the command line says about the finished campaign
// and the server, asked once and compared with every page in both
// languages.
type truth struct {
	status   cliStatus
	report   cliReport
	by       map[string][]cliGroupRow // domain, mx, reason
	export   []cliExportRow
	explain  map[int]cliExplain // the campaign's codes and a few more
	list     []cliListRow
	queue    []string
	show     string   // `queue show` of the queued message
	suppress []string // the suppression list's addresses
}

func (w *world) truth(name string) *truth {
	w.t.Helper()
	tr := &truth{status: w.status(name), report: w.report(name), by: map[string][]cliGroupRow{}, export: w.export(name),
		list: jsonLinesOrArray[cliListRow](w, w.hk("campaign", "list", "--json")), queue: w.queueIDs()}
	for _, by := range []string{"domain", "mx", "reason"} {
		tr.by[by] = w.reportBy(name, by)
	}
	codes := []int{421, 606, 800}
	for _, r := range tr.report.Rows {
		codes = append(codes, r.Code)
	}
	tr.explain = w.explain(codes...)
	if len(tr.queue) == 1 {
		tr.show = w.hk("queue", "show", tr.queue[0])
	}
	for _, e := range jsonLines[map[string]any](w, "campaign suppress list --json", w.hk("campaign", "suppress", "list", "--json")) {
		tr.suppress = append(tr.suppress, fmt.Sprint(e["address"]))
	}
	return tr
}

// queueIDs are the relay queue's message ids as `queue list --json` gives
// them.
func (w *world) queueIDs() []string {
	var ids []string
	for _, m := range jsonLines[map[string]any](w, "queue list --json", w.hk("queue", "list", "--json")) {
		ids = append(ids, fmt.Sprint(m["id"]))
	}
	return ids
}

// suppressed says whether addr is on the suppression list
// (`campaign suppress list ADDR`, which exits 1 for an address not on it).
func (w *world) suppressed(addr string) bool {
	w.t.Helper()
	cmd := exec.Command(w.bin, "campaign", "suppress", "list", "--json", addr, "--config", w.cfg)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	switch {
	case err == nil:
		return strings.Contains(string(out), `"`+addr+`"`)
	case cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 1 && strings.Contains(errb.String(), "not on the suppression list"):
		return false
	}
	w.t.Fatalf("campaign suppress list %s: %v\n%s", addr, err, errb.String())
	return false
}

// relay hands serve one message for remote.example, whose MX has no
// listener: it stays deferred in the relay queue, for the queue pages.
func (w *world) relay(smtpAddr string) {
	w.t.Helper()
	conn, err := net.DialTimeout("tcp", smtpAddr, 5*time.Second)
	if err != nil {
		w.t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := smtp.NewClient(conn, "client.example.test")
	if err != nil {
		w.t.Fatal(err)
	}
	defer c.Close()
	steps := []func() error{
		func() error { return c.Hello("client.example.test") },
		func() error { return c.Mail("sender@example.test") },
		func() error { return c.Rcpt("someone@remote.example") },
		func() error {
			d, err := c.Data()
			if err != nil {
				return err
			}
			fmt.Fprint(d, "From: sender@example.test\r\nTo: someone@remote.example\r\nSubject: queued for the dashboard\r\n\r\nhello\r\n")
			return d.Close()
		},
		c.Quit,
	}
	for _, s := range steps {
		if err := s(); err != nil {
			w.t.Fatalf("relaying a message through serve: %v\n%s", err, w.serveErr)
		}
	}
}
