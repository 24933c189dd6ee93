package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/app"
	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/store"
)

// OpenCampaign opens cfg's status store and finds the campaign ref names
// (its name, else its numeric id): the opening every command about one
// campaign shares. The caller closes the store; on an error nothing is
// left open.
func OpenCampaign(ctx context.Context, cfg *config.Config, ref string) (*store.Store, store.Campaign, error) {
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return nil, store.Campaign{}, err
	}
	c, err := FindCampaign(ctx, st, ref)
	if err != nil {
		st.Close()
		return nil, c, err
	}
	return st, c, nil
}

// FindCampaign finds a campaign by name, else by numeric id.
func FindCampaign(ctx context.Context, st *store.Store, ref string) (store.Campaign, error) {
	c, err := st.CampaignByName(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
			c, err = st.Campaign(ctx, id)
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return c, fmt.Errorf("campaign %q not found (`hikyaku campaign list` shows the campaigns)", ref)
	}
	return c, err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// campaignRef is how JSON output names a campaign.
type campaignRef struct {
	ID      int64               `json:"id"`
	Name    string              `json:"name"`
	State   store.CampaignState `json:"state"`
	Created time.Time           `json:"created"`
}

func refOf(c store.Campaign) campaignRef {
	return campaignRef{ID: c.ID, Name: c.Name, State: c.State, Created: c.Created}
}

// classOrder is the order of the classes a final code can be in.
var classOrder = []string{"delivered", "transient", "permanent", "system", "unknown"}

// classOf names a code's class as the code table gives it (a 700 is
// permanent, a 720 transient); a 2xx is "delivered".
func classOf(code int) string {
	switch cl := describe(code).Class; cl {
	case codes.ClassSuccess:
		return "delivered"
	case codes.ClassTransient, codes.ClassPermanent, codes.ClassSystem:
		return cl.String()
	default:
		return "unknown"
	}
}

// describe is the code table's description of a numeric code; codes no
// table lists are described by their digits.
func describe(code int) codes.Description {
	d, err := codes.Describe(strconv.Itoa(code))
	if err != nil {
		return codes.Description{Code: strconv.Itoa(code)}
	}
	return d
}

// meaning is a code's short text from the table in lang.
func meaning(code int, lang string) string {
	d := describe(code)
	if lang == "ja" {
		return d.JA
	}
	return d.EN
}

// codeList formats counts per code as "250×3 550×1".
func codeList(m map[int]int) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d×%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func sum[K comparable](m map[K]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func percent(n, total int) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) * 100 / float64(total)
}

func pct(n, total int) string { return fmt.Sprintf("%.1f%%", percent(n, total)) }

func itoa(n int) string { return strconv.Itoa(n) }

// clock formats a time for people, in local time; "-" for none.
func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}
