package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/outcome"
	"github.com/hikyaku/hikyaku/internal/report"
	"github.com/hikyaku/hikyaku/internal/store"
)

// The read side of campaigns, through the real binary: a status store
// filled through the store API with one result of each kind (250, 550,
// 552, 623, 700, an invalid row, an address suppressed before the
// campaign, one still claimed and one pending), then list, status,
// report (en and ja, by code, domain, MX and time), export (tsv, csv and
// json, parsed back) and suppress, as an operator runs them.

// hkRun runs the binary and returns its stdout, stderr and exit status.
func hkRun(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(hikyakuBin(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("hikyaku %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// hkOK runs the binary and fails the test unless it exits 0.
func hkOK(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := hkRun(t, args...)
	if code != 0 {
		t.Fatalf("hikyaku %s: exit %d\n%s", strings.Join(args, " "), code, errs)
	}
	return out
}

// exportRow is a recipient as every export format must give it back.
type exportRow map[string]string

// reportFixture fills the store under dataDir and returns the rows the
// export must hold, in list order.
func reportFixture(t *testing.T, dataDir string) []exportRow {
	t.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dataDir, store.DefaultFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Suppress(ctx, "f@softbank.ne.jp", "unsubscribed by phone"); err != nil {
		t.Fatal(err)
	}
	cid, err := st.CreateCampaign(ctx, store.Campaign{Name: "spring-sale", ListPath: "spring.tsv", State: store.CampaignRunning})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateCampaign(ctx, store.Campaign{Name: "autumn", ListPath: "autumn.tsv"}); err != nil {
		t.Fatal(err)
	}
	fields := func(name, city, note string) map[string]string {
		return map[string]string{"name": name, "city": city, "note": note}
	}
	invalid := outcome.Own(800, "no @")
	rs := []store.Recipient{
		{Row: 1, Email: "a@docomo.ne.jp", Fields: fields("Taro\tYamada", "東京", "line1\nline2, \"quoted\"")},
		{Row: 2, Email: "b@docomo.ne.jp", Fields: fields("Hanako", "大阪", `back\slash`)},
		{Row: 3, Email: "c@ezweb.ne.jp", Fields: fields("Jiro", "名古屋", "")},
		{Row: 4, Email: "d@ezweb.ne.jp", Fields: fields("Saburo", "札幌", "")},
		{Row: 5, Email: "e@nx.example", Fields: fields("Shiro", "福岡", "")},
		{Row: 6, Email: "not an address", Fields: fields("Goro", "", ""), State: store.StateInvalid,
			FinalCode: invalid.Code, FinalEnhanced: invalid.Enhanced, FinalText: invalid.Text},
		{Row: 7, Email: "f@softbank.ne.jp", Fields: fields("Rokuro", "仙台", "")},
		{Row: 8, Email: "g@example.com", Fields: fields("Nanami", "", "")},
	}
	if err := st.AddRecipients(ctx, cid, rs); err != nil {
		t.Fatal(err)
	}
	claimed, err := st.Claim(ctx, cid, "e2e", 6, time.Hour)
	if err != nil || len(claimed) != 6 {
		t.Fatalf("claimed %d: %v", len(claimed), err)
	}
	id := map[string]int64{}
	for _, r := range claimed {
		id[r.Email] = r.ID
	}
	// Added after the claim: still pending.
	if err := st.AddRecipients(ctx, cid, []store.Recipient{{Row: 9, Email: "h@example.com", Fields: fields("Hachiro", "", "")}}); err != nil {
		t.Fatal(err)
	}
	reply := func(code int, enh, text, host string) outcome.Result {
		return outcome.Result{Code: code, Enhanced: enh, Text: text, Host: host, IP: "192.0.2.25", Phase: codes.PhaseRcpt}
	}
	own := func(code int, detail, host string) outcome.Result {
		r := outcome.Own(code, detail)
		r.Host = host
		return r
	}
	res := map[string]outcome.Result{
		"a@docomo.ne.jp": reply(250, "2.0.0", "ok queued as 4F2", "mx2.docomo.ne.jp"),
		"b@docomo.ne.jp": reply(550, "5.1.1", "<b@docomo.ne.jp>: user unknown\nsecond\tline", "mx1.docomo.ne.jp"),
		"c@ezweb.ne.jp":  reply(552, "5.2.2", "mailbox full", "mx.ezweb.ne.jp"),
		"d@ezweb.ne.jp":  own(623, "connection reset", "mx.ezweb.ne.jp"),
		"e@nx.example":   own(700, "nx.example", ""),
	}
	now := time.Now()
	as := []store.Attempt{
		// Ninety seconds ago: not in the last minute's rate.
		{RecipientID: id["a@docomo.ne.jp"], At: now.Add(-90 * time.Second), Result: reply(451, "4.7.1", "greylisted", "mx1.docomo.ne.jp")},
	}
	var finals []store.Final
	for i, addr := range []string{"a@docomo.ne.jp", "b@docomo.ne.jp", "c@ezweb.ne.jp", "d@ezweb.ne.jp", "e@nx.example"} {
		as = append(as, store.Attempt{RecipientID: id[addr], At: now.Add(time.Duration(i-5) * time.Second), Result: res[addr]})
		finals = append(finals, store.Final{RecipientID: id[addr], Result: res[addr], Weight: codes.Weight(res[addr].Code)})
	}
	if err := st.RecordAttempt(ctx, as...); err != nil {
		t.Fatal(err)
	}
	if n, err := st.FinishBatch(ctx, finals); err != nil || n != 5 {
		t.Fatalf("FinishBatch: %d, %v", n, err)
	}

	// What the export must say, row by row.
	states := map[int64]string{6: "invalid", 7: "suppressed", 8: "claimed", 9: "pending"}
	attempts := map[string]string{"a@docomo.ne.jp": "2"}
	// The final's reason: the code table's for the enhanced code, else the
	// code's; a 2xx is delivered. The score: the finals' weights.
	reasons := map[int64]string{1: "delivered", 2: "userunknown", 3: "mailboxfull", 4: "networkerror", 5: "hostunknown", 6: "userunknown"}
	scores := map[int64]string{2: "1", 3: "0.1", 5: "1"}
	var want []exportRow
	for _, r := range append(rs, store.Recipient{Row: 9, Email: "h@example.com", Fields: fields("Hachiro", "", "")}) {
		row := exportRow{"row": fmt.Sprint(r.Row), "email": r.Email, "state": states[r.Row], "attempts": "0",
			"name": r.Fields["name"], "city": r.Fields["city"], "note": r.Fields["note"],
			"async": "", "reason": reasons[r.Row], "score": "0"}
		if sc, ok := scores[r.Row]; ok {
			row["score"] = sc
		}
		if r.Row == 6 {
			row["code"], row["enhanced"], row["text"] = "800", invalid.Enhanced, invalid.Text
		}
		if f, ok := res[r.Email]; ok {
			row["state"] = "failed"
			if f.Code == 250 {
				row["state"] = "sent"
			}
			row["code"], row["enhanced"], row["text"], row["mx_host"], row["attempts"] = fmt.Sprint(f.Code), f.Enhanced, f.Text, f.Host, "1"
			if n, ok := attempts[r.Email]; ok {
				row["attempts"] = n
			}
		}
		for _, k := range []string{"code", "enhanced", "text", "mx_host"} {
			if _, ok := row[k]; !ok {
				row[k] = ""
			}
		}
		want = append(want, row)
	}
	return want
}

func TestE2EReportCampaign(t *testing.T) {
	hikyakuBin(t) // built before the fixture's clock starts
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hikyaku.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("hostname = \"mx.example.test\"\ndata_dir = %q\n", filepath.Join(dir, "data"))), 0o644); err != nil {
		t.Fatal(err)
	}
	want := reportFixture(t, filepath.Join(dir, "data"))

	t.Run("list", func(t *testing.T) {
		out := hkOK(t, "campaign", "list", "--config", cfg)
		if !regexp.MustCompile(`(?m)^ 1\s+spring-sale\s+running\s+\S+ \S+\s+9\s+1\s+4\s+1\s+1\s+1\s+1$`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^ 2\s+autumn\s+loading\s+\S+ \S+\s+0\s+0`).MatchString(out) ||
			!strings.HasPrefix(out, "ID  NAME") {
			t.Errorf("campaign list:\n%s", out)
		}
		var rows []report.ListRow
		if err := json.Unmarshal([]byte(hkOK(t, "campaign", "list", "--json", "--config", cfg)), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[1].Name != "spring-sale" || rows[1].Recipients != 9 || rows[1].Sent != 1 ||
			rows[1].Failed != 4 || rows[1].Invalid != 1 || rows[1].Suppressed != 1 || rows[1].Claimed != 1 || rows[1].Pending != 1 {
			t.Errorf("campaign list --json: %+v", rows)
		}
	})

	t.Run("status", func(t *testing.T) {
		out := hkOK(t, "campaign", "status", "--config", cfg, "spring-sale")
		for _, re := range []string{
			`^campaign 1 "spring-sale": running, created `,
			`(?m)^recipients\s+9$`, `(?m)^  failed\s+4\s+44\.4%$`, `(?m)^  pending\s+1\s+11\.1%$`,
			`(?m)^done\s+7\s+77\.8%$`,
			`(?m)^  delivered\s+1\s+250×1$`, `(?m)^  transient\s+1\s+623×1$`,
			`(?m)^  permanent\s+4\s+550×1 552×1 700×1 800×1$`,
			`(?m)^attempts: 6, first \S+ \S+, last \S+ \S+$`,
			`(?m)^last minute: 5 attempts, 1 delivered \(0\.1/s\)$`,
		} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("campaign status: no match for %s in\n%s", re, out)
			}
		}
		var s report.StatusJSON
		// By id, with the flag after it.
		if err := json.Unmarshal([]byte(hkOK(t, "campaign", "status", "--config", cfg, "1", "--json")), &s); err != nil {
			t.Fatal(err)
		}
		if s.Campaign.Name != "spring-sale" || s.Recipients != 9 || s.Done != 7 || s.Attempts != 6 ||
			fmt.Sprint(s.Classes) != "map[delivered:1 permanent:4 transient:1]" ||
			fmt.Sprint(s.Codes) != "map[250:1 550:1 552:1 623:1 700:1 800:1]" ||
			s.LastMinute.Attempts != 5 || s.LastMinute.Delivered != 1 || s.FirstAttempt == nil ||
			s.LastAttempt.Sub(*s.FirstAttempt) != 89*time.Second {
			t.Errorf("campaign status --json: %+v", s)
		}
	})

	t.Run("report", func(t *testing.T) {
		en := hkOK(t, "campaign", "report", "--config", cfg, "spring-sale")
		ja := hkOK(t, "campaign", "report", "--config", cfg, "--lang", "ja", "spring-sale")
		for _, code := range []int{250, 550, 552, 623, 700, 800} {
			c, ok := codes.LookupCode(code)
			if !ok || c.EN == "" || c.JA == "" {
				t.Fatalf("code table has no texts for %d", code)
			}
			re := fmt.Sprintf(`(?m)^%d\s+1\s+16\.7%%\s+`, code)
			if !regexp.MustCompile(re + regexp.QuoteMeta(c.EN) + "$").MatchString(en) {
				t.Errorf("report (en) has no line for %d with %q:\n%s", code, c.EN, en)
			}
			if !regexp.MustCompile(re + regexp.QuoteMeta(c.JA) + "$").MatchString(ja) {
				t.Errorf("report (ja) has no line for %d with %q:\n%s", code, c.JA, ja)
			}
		}
		for _, s := range []string{"CODE   COUNT   SHARE  MEANING\n", "\ntotal      6  100.0%\n", "not final yet: 1 pending, 1 claimed\n",
			"not sent, address already suppressed: 1\n", "suppressed by this campaign's results: 2 addresses\n"} {
			if !strings.Contains(en, s) {
				t.Errorf("report (en) lacks %q:\n%s", s, en)
			}
		}
		for _, s := range []string{"キャンペーン 1「spring-sale」(running): コード別の最終結果 6 件\n", "コード  件数    割合  説明\n",
			"\n合計       6  100.0%\n", "未完了: 待機中 1 件、処理中 1 件\n", "このキャンペーンの結果で配信停止になったアドレス: 2 件\n"} {
			if !strings.Contains(ja, s) {
				t.Errorf("report (ja) lacks %q:\n%s", s, ja)
			}
		}
		var r struct {
			report.ReportJSON
			Rows []report.CodeRow `json:"rows"`
		}
		if err := json.Unmarshal([]byte(hkOK(t, "campaign", "report", "--json", "--config", cfg, "spring-sale")), &r); err != nil {
			t.Fatal(err)
		}
		c700, _ := codes.LookupCode(700)
		if r.Total != 6 || len(r.Rows) != 6 || r.Rows[4].Code != 700 || r.Rows[4].JA != c700.JA || r.Rows[4].Class != "permanent" ||
			r.Rows[3].Class != "transient" || *r.SuppressedBy != 2 || *r.Pending != 1 || *r.Skipped != 1 {
			t.Errorf("report --json: %+v", r)
		}

		dom := hkOK(t, "campaign", "report", "--config", cfg, "--by", "domain", "spring-sale")
		for _, re := range []string{`(?m)^DOMAIN\s+RECIPIENTS\s+DELIVERED\s+CODES$`,
			`(?m)^docomo\.ne\.jp\s+2\s+1\s+250×1 550×1$`, `(?m)^ezweb\.ne\.jp\s+2\s+0\s+552×1 623×1$`,
			`(?m)^nx\.example\s+1\s+0\s+700×1$`, `(?m)^\(none\)\s+1\s+0\s+800×1$`,
			`(?m)^total\s+6\s+250×1 550×1 552×1 623×1 700×1 800×1$`,
			`(?m)^  623\s+` + regexp.QuoteMeta(describe(623).EN) + `$`} {
			if !regexp.MustCompile(re).MatchString(dom) {
				t.Errorf("report --by domain: no match for %s in\n%s", re, dom)
			}
		}
		mx := hkOK(t, "campaign", "report", "--config", cfg, "--by", "mx", "--lang", "ja", "spring-sale")
		for _, re := range []string{`(?m)^MXホスト\s+試行数\s+配信成功\s+コード別件数$`,
			`(?m)^mx1\.docomo\.ne\.jp\s+2\s+0\s+451×1 550×1$`, `(?m)^mx\.ezweb\.ne\.jp\s+2\s+0\s+552×1 623×1$`,
			`(?m)^mx2\.docomo\.ne\.jp\s+1\s+1\s+250×1$`, `(?m)^\(なし\)\s+1\s+0\s+700×1$`,
			`(?m)^  451\s+` + regexp.QuoteMeta(describe(451).JA) + `$`} {
			if !regexp.MustCompile(re).MatchString(mx) {
				t.Errorf("report --by mx --lang ja: no match for %s in\n%s", re, mx)
			}
		}
		var tl struct {
			report.ReportJSON
			Rows []report.GroupRow `json:"rows"`
		}
		if err := json.Unmarshal([]byte(hkOK(t, "campaign", "report", "--config", cfg, "--by", "time", "--bucket", "24h", "--json", "spring-sale")), &tl); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, g := range tl.Rows {
			n += g.Codes["451"] + g.Codes["250"]
		}
		if tl.Total != 6 || tl.Bucket != "24h" || len(tl.Rows) < 1 || len(tl.Rows) > 2 || tl.Rows[0].Start == nil || n != 2 {
			t.Errorf("report --by time --json: %+v", tl)
		}
		if out := hkOK(t, "campaign", "report", "--config", cfg, "--by", "time", "spring-sale"); !regexp.MustCompile(`(?m)^TIME\s+ATTEMPTS\s+DELIVERED\s+CODES$`).MatchString(out) ||
			!strings.Contains(out, "attempts per 1m") || !regexp.MustCompile(`(?m)^total\s+6\s+250×1 451×1 550×1 552×1 623×1 700×1$`).MatchString(out) {
			t.Errorf("report --by time:\n%s", out)
		}
	})

	t.Run("export", func(t *testing.T) {
		tsv := hkOK(t, "campaign", "export", "--config", cfg, "spring-sale")
		lines := strings.Split(strings.TrimSuffix(tsv, "\n"), "\n")
		if len(lines) != 10 || lines[0] != "row\temail\tstate\tcode\tenhanced\ttext\tattempts\tmx_host\tcity\tname\tnote\tasync\treason\tscore" {
			t.Fatalf("tsv export: %d lines, header %q\n%s", len(lines), lines[0], tsv)
		}
		compareExport(t, "tsv", tableRows(t, lines[0], splitTSV(lines)), want)

		csvOut := hkOK(t, "campaign", "export", "--config", cfg, "--format", "csv", "1")
		recs, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		compareExport(t, "csv", tableRows(t, strings.Join(recs[0], "\t"), recs), want)

		out := filepath.Join(t.TempDir(), "spring.jsonl")
		_, errs, code := hkRun(t, "campaign", "export", "--config", cfg, "--format", "json", "--out", out, "spring-sale")
		if code != 0 || !strings.Contains(errs, "exported 9 recipients of campaign 1 \"spring-sale\" to "+out) {
			t.Fatalf("export --out: exit %d\n%s", code, errs)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
			t.Errorf("export --out left %d files", len(entries))
		}
		var got []exportRow
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			var rec report.ExportRecord
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("json line %q: %v", line, err)
			}
			row := exportRow{"row": fmt.Sprint(rec.Row), "email": rec.Email, "state": string(rec.State), "code": "",
				"enhanced": rec.Enhanced, "text": rec.Text, "attempts": fmt.Sprint(rec.Attempts), "mx_host": rec.MXHost,
				"name": rec.Fields["name"], "city": rec.Fields["city"], "note": rec.Fields["note"],
				"async": "", "reason": rec.Reason, "score": rec.Score.String()}
			if rec.Async {
				row["async"] = "1"
			}
			if rec.Code != 0 {
				row["code"] = fmt.Sprint(rec.Code)
			}
			got = append(got, row)
		}
		compareExport(t, "json", got, want)
	})

	t.Run("suppress", func(t *testing.T) {
		out := hkOK(t, "campaign", "suppress", "list", "--config", cfg)
		for _, re := range []string{`(?m)^ADDRESS\s+SINCE\s+SCORE\s+REASON$`,
			`(?m)^b@docomo\.ne\.jp\s+\S+ \S+\s+1\s+score 1 reached threshold 1 \(last 550 5\.1\.1\)$`,
			`(?m)^e@nx\.example\s+\S+ \S+\s+1\s+score 1 reached threshold 1 \(last 700 5\.1\.2\)$`,
			`(?m)^f@softbank\.ne\.jp\s+\S+ \S+\s+0\s+unsubscribed by phone$`, `(?m)^3 suppressed addresses$`} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("suppress list: no match for %s in\n%s", re, out)
			}
		}
		if strings.Contains(out, "c@ezweb") {
			t.Errorf("552 (weight 0.1) suppressed c@ezweb.ne.jp:\n%s", out)
		}
		if out := hkOK(t, "campaign", "suppress", "add", "--config", cfg, "Zed@Example.org", "--reason", "complaint"); out != "Zed@Example.org: suppressed (complaint)\n" {
			t.Errorf("suppress add: %q", out)
		}
		if out := hkOK(t, "campaign", "suppress", "add", "--config", cfg, "zed@example.org"); !strings.Contains(out, "already suppressed since") {
			t.Errorf("suppress add twice: %q", out)
		}
		var p report.SuppressionJSON
		if err := json.Unmarshal([]byte(hkOK(t, "campaign", "suppress", "list", "--json", "--config", cfg, "ZED@example.org")), &p); err != nil {
			t.Fatal(err)
		}
		if p.Address != "zed@example.org" || p.Reason != "complaint" || p.Score != 0 || time.Since(p.Since) > time.Minute {
			t.Errorf("suppress list --json: %+v", p)
		}
		if out := hkOK(t, "campaign", "suppress", "del", "--config", cfg, "b@docomo.ne.jp"); !strings.Contains(out, "taken off the suppression list") {
			t.Errorf("suppress del: %q", out)
		}
		if _, errs, code := hkRun(t, "campaign", "suppress", "list", "--config", cfg, "b@docomo.ne.jp"); code != 1 || !strings.Contains(errs, "not on the suppression list") {
			t.Errorf("suppress list after del: exit %d\n%s", code, errs)
		}
		if _, _, code := hkRun(t, "campaign", "suppress", "add", "--config", cfg, "no-at-sign"); code != 2 {
			t.Errorf("suppress add of a non-address: exit %d, want 2", code)
		}
	})

	t.Run("errors", func(t *testing.T) {
		if _, errs, code := hkRun(t, "campaign", "status", "--config", cfg, "nope"); code != 1 || !strings.Contains(errs, `campaign "nope" not found`) {
			t.Errorf("unknown campaign: exit %d\n%s", code, errs)
		}
		if _, errs, code := hkRun(t, "campaign", "report", "--config", cfg, "--by", "color", "spring-sale"); code != 2 || !strings.Contains(errs, "--by") {
			t.Errorf("bad --by: exit %d\n%s", code, errs)
		}
		// A file where the store's directory should be: it can be neither
		// created nor opened.
		blocker := filepath.Join(dir, "not-a-dir")
		if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ dsn, want string }{
			{"sqlite:" + filepath.Join(blocker, "status.db"), "hikyaku: -100 "},
			{"mysql://u:secret@127.0.0.1:1/db", "hikyaku: -101 "},
		} {
			bad := filepath.Join(t.TempDir(), "bad.toml")
			os.WriteFile(bad, []byte(fmt.Sprintf("data_dir = %q\n[store]\ndsn = %q\n", dir, c.dsn)), 0o644)
			_, errs, code := hkRun(t, "campaign", "list", "--config", bad)
			if code != 1 || !strings.HasPrefix(errs, c.want) || strings.Contains(errs, "secret") {
				t.Errorf("store %s: exit %d, stderr %q, want %q…", c.dsn, code, errs, c.want)
			}
		}
	})
}

// splitTSV splits TSV lines into cells and undoes the escapes.
func splitTSV(lines []string) [][]string {
	unescape := strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n", `\r`, "\r")
	var out [][]string
	for _, l := range lines {
		cells := strings.Split(l, "\t")
		for i := range cells {
			cells[i] = unescape.Replace(cells[i])
		}
		out = append(out, cells)
	}
	return out
}

// tableRows turns a header and rows of cells into exportRows.
func tableRows(t *testing.T, header string, recs [][]string) []exportRow {
	t.Helper()
	cols := strings.Split(header, "\t")
	var out []exportRow
	for _, rec := range recs[1:] {
		if len(rec) != len(cols) {
			t.Fatalf("row %q has %d cells, header %d", rec, len(rec), len(cols))
		}
		row := exportRow{}
		for i, c := range cols {
			row[c] = rec[i]
		}
		out = append(out, row)
	}
	return out
}

func compareExport(t *testing.T, format string, got, want []exportRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s export: %d rows, want %d", format, len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s export row %d:\n got %v\nwant %v", format, i+1, got[i], want[i])
		}
	}
	if _, err := strconv.Atoi(got[0]["row"]); err != nil {
		t.Errorf("%s export: row column %q", format, got[0]["row"])
	}
}

// Bounce-derived results (issue 12) in report, report --by reason and
// export: a store filled through the store API as serve's intake fills it.
func TestE2EReportBounces(t *testing.T) {
	hikyakuBin(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hikyaku.toml")
	data := filepath.Join(dir, "data")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("hostname = \"mx.example.test\"\ndata_dir = %q\n", data)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	os.MkdirAll(data, 0o755)
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(data, store.DefaultFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cid, err := st.CreateCampaign(ctx, store.Campaign{Name: "bounced", ListPath: "b.tsv", State: store.CampaignDone})
	if err != nil {
		t.Fatal(err)
	}
	addrs := []string{"a@example.jp", "b@example.jp", "c@example.jp", "d@example.jp", "e@example.jp"}
	var rs []store.Recipient
	for i, a := range addrs {
		rs = append(rs, store.Recipient{Row: int64(i + 1), Email: a})
	}
	if err := st.AddRecipients(ctx, cid, rs); err != nil {
		t.Fatal(err)
	}
	claimed, err := st.Claim(ctx, cid, "e2e", 5, time.Hour)
	if err != nil || len(claimed) != 5 {
		t.Fatalf("claimed %d: %v", len(claimed), err)
	}
	ok := outcome.Result{Code: 250, Enhanced: "2.0.0", Text: "ok", Host: "mx.example.jp"}
	unknown := outcome.Result{Code: 550, Enhanced: "5.1.1", Text: "user unknown", Host: "mx.example.jp"}
	var finals []store.Final
	for _, r := range claimed {
		f := store.Final{RecipientID: r.ID, Result: ok}
		if r.Row == 3 {
			f = store.Final{RecipientID: r.ID, Result: unknown, Weight: codes.Weight(550)}
		}
		finals = append(finals, f)
	}
	if n, err := st.FinishBatch(ctx, finals); err != nil || n != 5 {
		t.Fatalf("FinishBatch: %d, %v", n, err)
	}
	for _, c := range []struct {
		b    store.Bounce
		want store.BounceOutcome
	}{
		{store.Bounce{Row: 1, Key: "m1", Code: 550, Enhanced: "5.1.1", Text: "550 5.1.1 unknown user", Reason: "userunknown", Blame: "recipient"}, store.BounceRecorded},
		{store.Bounce{Row: 1, Key: "m1", Code: 550, Enhanced: "5.1.1", Text: "550 5.1.1 unknown user", Reason: "userunknown", Blame: "recipient"}, store.BounceDuplicate},
		{store.Bounce{Row: 2, Key: "m2", Code: 550, Enhanced: "5.7.1", Text: "550 5.7.1 blocked by reputation", Reason: "blocked", Blame: "sender"}, store.BounceRecorded},
		{store.Bounce{Row: 3, Key: "m3", Code: 550, Enhanced: "5.1.1", Text: "550 5.1.1 unknown user", Reason: "userunknown", Blame: "recipient"}, store.BounceNoted},
		{store.Bounce{Row: 4, Key: "m4", Complaint: true, Blame: "recipient"}, store.BounceRecorded},
	} {
		c.b.Campaign = "bounced"
		if got, err := st.RecordBounce(ctx, c.b); err != nil || got != c.want {
			t.Fatalf("RecordBounce row %d: %q, %v; want %q", c.b.Row, got, err, c.want)
		}
	}
	st.Close()

	en := hkOK(t, "campaign", "report", "--config", cfg, "bounced")
	for _, re := range []string{`(?m)^CODE\s+COUNT\s+SHARE\s+ASYNC\s+MEANING$`,
		`(?m)^250\s+1\s+20\.0%\s+0\s+`, `(?m)^550\s+3\s+60\.0%\s+2\s+`, `(?m)^860\s+1\s+20\.0%\s+1\s+` + regexp.QuoteMeta(describe(860).EN) + `$`,
		`(?m)^total\s+5\s+100\.0%\s+3$`, `(?m)^ASYNC: of them, set by a bounce mail after the session: 3$`} {
		if !regexp.MustCompile(re).MatchString(en) {
			t.Errorf("report: no match for %s in\n%s", re, en)
		}
	}
	var byCode struct {
		report.ReportJSON
		Rows []report.CodeRow `json:"rows"`
	}
	if err := json.Unmarshal([]byte(hkOK(t, "campaign", "report", "--json", "--config", cfg, "bounced")), &byCode); err != nil {
		t.Fatal(err)
	}
	if len(byCode.Rows) != 3 || byCode.Rows[1].Code != 550 || byCode.Rows[1].Async != 2 || byCode.Rows[2].Async != 1 || byCode.Rows[0].Async != 0 {
		t.Errorf("report --json: %+v", byCode.Rows)
	}

	byReason := hkOK(t, "campaign", "report", "--config", cfg, "--by", "reason", "bounced")
	for _, re := range []string{`^campaign \d+ "bounced" \(done\): final results by reason\n`,
		`(?m)^REASON\s+RECIPIENTS\s+DELIVERED\s+ASYNC\s+CODES$`,
		`(?m)^userunknown\s+2\s+0\s+1\s+550×2$`, `(?m)^blocked\s+1\s+0\s+1\s+550×1$`,
		`(?m)^feedback\s+1\s+0\s+1\s+860×1$`, `(?m)^delivered\s+1\s+1\s+0\s+250×1$`,
		`(?m)^total\s+5\s+3\s+250×1 550×3 860×1$`} {
		if !regexp.MustCompile(re).MatchString(byReason) {
			t.Errorf("report --by reason: no match for %s in\n%s", re, byReason)
		}
	}
	ja := hkOK(t, "campaign", "report", "--config", cfg, "--by", "reason", "--lang", "ja", "bounced")
	if !regexp.MustCompile(`(?m)^理由\s+宛先数\s+配信成功\s+非同期\s+コード別件数$`).MatchString(ja) {
		t.Errorf("report --by reason --lang ja:\n%s", ja)
	}
	var reasons struct {
		report.ReportJSON
		Rows []report.GroupRow `json:"rows"`
	}
	if err := json.Unmarshal([]byte(hkOK(t, "campaign", "report", "--json", "--by", "reason", "--config", cfg, "bounced")), &reasons); err != nil {
		t.Fatal(err)
	}
	if reasons.Total != 5 || len(reasons.Rows) != 4 || *reasons.Rows[0].Key != "userunknown" || reasons.Rows[0].Count != 2 ||
		reasons.Rows[0].Async == nil || *reasons.Rows[0].Async != 1 || reasons.Rows[0].Codes["550"] != 2 {
		t.Errorf("report --by reason --json: %+v", reasons)
	}

	tsv := hkOK(t, "campaign", "export", "--config", cfg, "bounced")
	lines := strings.Split(strings.TrimSuffix(tsv, "\n"), "\n")
	got := tableRows(t, lines[0], splitTSV(lines))
	want := []struct{ state, code, async, reason, score string }{
		{"failed", "550", "1", "userunknown", "1"},
		{"failed", "550", "1", "blocked", "0"},
		{"failed", "550", "", "userunknown", "1"},
		{"failed", "860", "1", "feedback", "1"},
		{"sent", "250", "", "delivered", "0"},
	}
	if len(got) != len(want) {
		t.Fatalf("export: %d rows\n%s", len(got), tsv)
	}
	for i, w := range want {
		g := got[i]
		if g["state"] != w.state || g["code"] != w.code || g["async"] != w.async || g["reason"] != w.reason ||
			g["score"] != w.score || g["attempts"] != "0" {
			t.Errorf("export row %d: %v, want %+v", i+1, g, w)
		}
	}
	if got[0]["text"] != "550 5.1.1 unknown user" || got[2]["text"] != "user unknown" {
		t.Errorf("export texts: the bounce's for row 1 (%q), the session's for row 3 (%q)", got[0]["text"], got[2]["text"])
	}
	sup := hkOK(t, "campaign", "suppress", "list", "--config", cfg)
	for _, re := range []string{`(?m)^d@example\.jp\s+\S+ \S+\s+1\s+feedback$`, `(?m)^a@example\.jp\s+\S+ \S+\s+1\s+score 1 reached`} {
		if !regexp.MustCompile(re).MatchString(sup) {
			t.Errorf("suppress list: no match for %s in\n%s", re, sup)
		}
	}
	if strings.Contains(sup, "b@example.jp") {
		t.Errorf("a sender-side bounce suppressed b@example.jp:\n%s", sup)
	}
}

// describe is the code table's entry for a code, whose texts the reports
// print.
func describe(code int) codes.Description {
	d, _ := codes.Describe(fmt.Sprint(code))
	return d
}
