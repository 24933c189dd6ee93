package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hikyaku/hikyaku/internal/campaign"
	"github.com/hikyaku/hikyaku/internal/campaign/tsv"
	"github.com/hikyaku/hikyaku/internal/store"
)

// loadList loads a TSV list into a new campaign of a new embedded store,
// as campaign run does.
func loadList(t *testing.T, list string) (*store.Store, store.Campaign) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, store.DefaultFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	path := filepath.Join(dir, "list.tsv")
	if err := os.WriteFile(path, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	rd, err := tsv.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "spring", ListPath: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := campaign.Load(ctx, st, id, rd, nil); err != nil {
		t.Fatal(err)
	}
	c, err := FindCampaign(ctx, st, "spring")
	if err != nil {
		t.Fatal(err)
	}
	return st, c
}

// A row with the wrong column count is exported invalid (800) with the
// email column it has (issue 13), in every format.
func TestExportKeepsEmailOfBadRow(t *testing.T) {
	st, c := loadList(t, "email\tname\tcity\na@example.jp\tTaro\tTokyo\nb@example.jp\tHanako\nc@example.jp\tJiro\tOsaka\textra\n\tnone\tx\n")
	want := []struct{ email, state, code string }{
		{"a@example.jp", "pending", ""}, {"b@example.jp", "invalid", "800"}, {"c@example.jp", "invalid", "800"}, {"", "invalid", "800"},
	}
	ctx := context.Background()

	var out bytes.Buffer
	if err := Export(ctx, st, c, "json", "", &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("json: %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, l := range lines {
		var r ExportRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Email != want[i].email || string(r.State) != want[i].state || (r.Code == 800) != (want[i].code == "800") {
			t.Errorf("json row %d: email %q state %s code %d, want %+v", r.Row, r.Email, r.State, r.Code, want[i])
		}
	}

	out.Reset()
	if err := Export(ctx, st, c, "csv", "", &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(recs) != len(want)+1 {
		t.Fatalf("csv: %d records, %v", len(recs), err)
	}
	for i, w := range want {
		if r := recs[i+1]; r[1] != w.email || r[2] != w.state || r[3] != w.code {
			t.Errorf("csv row %d: %q, want %+v", i+1, r[:4], w)
		}
	}
}

// OpenCampaign finds by name or id and leaves nothing open on a miss.
func TestFindCampaign(t *testing.T) {
	st, c := loadList(t, "email\na@example.jp\n")
	ctx := context.Background()
	byID, err := FindCampaign(ctx, st, "1")
	if err != nil || byID.ID != c.ID {
		t.Errorf("by id: %+v, %v", byID, err)
	}
	if _, err := FindCampaign(ctx, st, "autumn"); err == nil || !strings.Contains(err.Error(), `campaign "autumn" not found`) {
		t.Errorf("unknown campaign: %v", err)
	}
}
