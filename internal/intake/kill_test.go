package intake

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/outcome"
	"github.com/hikyaku/hikyaku/internal/store"
)

const killEnv = "HIKYAKU_INTAKE_KILL_TEST"

// killStore opens the status store of the kill test.
func killStore(tb testing.TB, dir string) *store.Store {
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "status.db"), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

func killIntake(tb testing.TB, dir string, st Store) *Intake {
	in, err := New(Options{Dir: filepath.Join(dir, "data", DirName), Hostname: "mx.test", Domain: "bounce.example.test",
		Key: testKey, Store: st, Retry: 50 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	return in
}

// killChild is the process the test kills: it replays what an earlier
// one left, then delivers rows FIRST..LAST four at a time, printing
// "ack ROW" for each delivery Deliver acknowledged (the router would now
// let the spool forget it), and waits to be killed.
func killChild(t *testing.T, dir string) {
	first, _ := strconv.ParseInt(os.Getenv(killEnv+"_FIRST"), 10, 64)
	last, _ := strconv.ParseInt(os.Getenv(killEnv+"_LAST"), 10, 64)
	in := killIntake(t, dir, killStore(t, dir))
	in.Start()
	out := bufio.NewWriter(os.Stdout)
	for row := first; row <= last; row += 4 {
		var ds []mailbox.Delivery
		for r := row; r < row+4 && r <= last; r++ {
			ds = append(ds, rowDSN(r))
		}
		for i, err := range in.Deliver(ds, false) {
			if err == nil {
				fmt.Fprintf(out, "ack %d\n", row+int64(i))
			}
		}
		out.Flush()
	}
	fmt.Fprintln(out, "done")
	out.Flush()
	time.Sleep(time.Minute)
}

// kill -9 of a process taking bounces in, at some moment of its work, four
// times over one data directory (each new process replaying what the one
// before left): afterwards every delivery that was acknowledged is in
// cur/, whole, once, and recorded exactly once; none is recorded twice.
func TestJournalKill(t *testing.T) {
	if dir := os.Getenv(killEnv); dir != "" {
		killChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	const perRound, rounds = 120, 4
	ctx := context.Background()
	st := killStore(t, dir)
	cid, err := st.CreateCampaign(ctx, store.Campaign{Name: "spring"})
	if err != nil {
		t.Fatal(err)
	}
	var rs []store.Recipient
	for r := int64(1); r <= perRound*rounds; r++ {
		rs = append(rs, store.Recipient{Row: r, Email: fmt.Sprintf("user%d@d.test", r)})
	}
	if err := st.AddRecipients(ctx, cid, rs); err != nil {
		t.Fatal(err)
	}
	ids := map[int64]int64{} // row → recipient id
	var fs []store.Final
	page, err := st.Recipients(ctx, cid, 0, len(rs))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page {
		ids[r.Row] = r.ID
		fs = append(fs, store.Final{RecipientID: r.ID, Result: outcome.Result{Code: 250, Enhanced: "2.0.0"}})
	}
	if _, err := st.FinishBatch(ctx, fs); err != nil {
		t.Fatal(err)
	}
	st.Close()

	acked := map[int64]bool{}
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestJournalKill$")
		cmd.Env = append(os.Environ(), killEnv+"="+dir,
			fmt.Sprintf("%s_FIRST=%d", killEnv, round*perRound+1), fmt.Sprintf("%s_LAST=%d", killEnv, (round+1)*perRound))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Killed after a different share of its deliveries each round,
		// the last round only once it has delivered everything.
		stopAt := []int{5, 40, 90, perRound + 1}[round]
		lines := bufio.NewScanner(out)
		n := 0
		for lines.Scan() {
			f := strings.Fields(lines.Text())
			if len(f) == 2 && f[0] == "ack" {
				row, _ := strconv.ParseInt(f[1], 10, 64)
				acked[row] = true
				n++
			}
			if n >= stopAt || f[0] == "done" {
				break
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	if len(acked) < perRound {
		t.Fatalf("only %d deliveries acknowledged", len(acked))
	}

	st = killStore(t, dir)
	defer st.Close()
	in := killIntake(t, dir, st)
	in.Start()
	waitFor(t, "every acknowledged delivery recorded", func() bool {
		for row := range acked {
			if bs, err := st.Bounces(ctx, ids[row]); err != nil || len(bs) == 0 {
				return false
			}
		}
		return true
	})
	waitFor(t, "new/ empty", func() bool { p, _ := in.Pending(); return p == 0 })
	in.Stop()
	cur := map[string]int{}
	for _, n := range files(t, in, "cur") {
		b, err := os.ReadFile(filepath.Join(in.Dir(), "cur", n))
		if err != nil || !strings.HasSuffix(string(b), "--b--\r\n") {
			t.Errorf("cur/%s not whole (%d octets, %v)", n, len(b), err)
		}
		_, rest, _ := strings.Cut(n, ".")
		qid, _, _ := strings.Cut(rest, "_")
		cur[qid]++
	}
	for row := int64(1); row <= perRound*rounds; row++ {
		bs, err := st.Bounces(ctx, ids[row])
		if err != nil {
			t.Fatal(err)
		}
		qid := fmt.Sprintf("R%d", row)
		switch {
		case len(bs) > 1:
			t.Errorf("row %d recorded %d times", row, len(bs))
		case acked[row] && (len(bs) != 1 || cur[qid] != 1):
			t.Errorf("row %d acknowledged: %d bounces recorded, %d files in cur/", row, len(bs), cur[qid])
		case cur[qid] > 1:
			t.Errorf("row %d: %d files in cur/", row, cur[qid])
		}
	}
	if s := segments(t, in); len(s) != 0 {
		t.Errorf("journal segments left after Stop: %v", s)
	}
}
