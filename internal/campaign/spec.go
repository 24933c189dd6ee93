package campaign

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/campaign/compose"
	"github.com/hikyaku/hikyaku/internal/campaign/tsv"
	"github.com/hikyaku/hikyaku/internal/codes"
)

// MaxImages bounds the inline images stored with a campaign, so that the
// Spec fits the store's text column (16 MiB on MySQL) with room to spare.
const MaxImages = 8 << 20

// CodeStopped is the system code of a run stopped because errors were too
// frequent (docs/spec.md §4.4).
const CodeStopped = -11

// Spec is everything that makes a campaign's messages. It is stored as the
// campaign's options, as JSON.
type Spec struct {
	Template []byte            `json:"template"`
	Images   map[string][]byte `json:"images,omitempty"` // path relative to the images folder → content
	// ImagesDir is the operator's images folder (--images), named in a -12
	// for an image the HTML names but the folder lacks; "" when none was
	// given. It is not part of Hash: the same files elsewhere are the same
	// message.
	ImagesDir             string `json:"images_dir,omitempty"`
	From                  string `json:"from,omitempty"`
	Charset               string `json:"charset,omitempty"`
	MobileISO2022JP       bool   `json:"mobile_iso2022jp,omitempty"`
	ReturnPathDomain      string `json:"return_path_domain,omitempty"`
	ListUnsubscribe       string `json:"list_unsubscribe,omitempty"`
	ListUnsubscribeMailto string `json:"list_unsubscribe_mailto,omitempty"`
	Hostname              string `json:"hostname,omitempty"`
	// Lifetime is how long, from the campaign's creation, transient
	// results are retried before they end as 606.
	Lifetime time.Duration `json:"lifetime"`
}

// ReadImages reads every regular file under dir (the --images folder) for
// a Spec. It fails with -13 when the folder cannot be opened and -12 when a
// file cannot be read or the images pass MaxImages.
func ReadImages(dir string) (map[string][]byte, error) {
	if dir == "" {
		return nil, nil
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		e := &codes.SystemError{Code: compose.CodeImageFolder, Err: err, File: dir}
		if err == nil {
			e.Detail = codes.DetailNotDirectory.EN
		}
		return nil, e
	}
	out := map[string][]byte{}
	total := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return &codes.SystemError{Code: compose.CodeImage, Err: err, File: path}
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return &codes.SystemError{Code: compose.CodeImage, Err: err, File: path}
		}
		if total += len(b); total > MaxImages {
			return &codes.SystemError{Code: compose.CodeImage,
				Detail: fmt.Sprintf("%s: %d MiB", codes.DetailImagesTooBig.EN, MaxImages>>20), File: dir}
		}
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Hash identifies what a campaign sends: a run resumed with another
// template or other images is refused rather than mixing two messages.
func (s Spec) Hash() string {
	h := sha256.New()
	settings, _ := json.Marshal(Spec{From: s.From, Charset: s.Charset, MobileISO2022JP: s.MobileISO2022JP,
		ReturnPathDomain: s.ReturnPathDomain, ListUnsubscribe: s.ListUnsubscribe,
		ListUnsubscribeMailto: s.ListUnsubscribeMailto})
	fmt.Fprintf(h, "%d:%s%d:%s", len(s.Template), s.Template, len(settings), settings)
	names := make([]string, 0, len(s.Images))
	for n := range s.Images {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%d:%s%d:%s", len(n), n, len(s.Images[n]), s.Images[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Compile parses the Spec's template. The composer takes the images from
// the Spec itself, so that an error names the operator's file in
// ImagesDir rather than a copy.
func (s Spec) Compile() (*compose.Template, error) {
	opt := compose.Options{
		Charset: s.Charset, From: s.From, ListUnsubscribe: s.ListUnsubscribe,
		ListUnsubscribeMailto: s.ListUnsubscribeMailto, ReturnPathDomain: s.ReturnPathDomain,
		Hostname: s.Hostname, ImagesDir: s.ImagesDir, Images: s.Images,
	}
	// A folder given but empty loses its empty map in the stored JSON; it
	// was still given.
	if opt.Images == nil && s.ImagesDir != "" {
		opt.Images = map[string][]byte{}
	}
	if s.MobileISO2022JP {
		opt.CharsetByDomain = compose.MobileCarrierCharsets()
	}
	return compose.ParseTemplate(s.Template, opt)
}

// MissingFields lists the merge fields the template uses that the list's
// header lacks, so a run refuses to start instead of failing row by row.
func MissingFields(t *compose.Template, header []string) []string {
	have := map[string]bool{"email": true, "campaign": true, "row": true}
	for _, h := range header {
		have[h] = true
	}
	var missing []string
	for _, f := range t.Fields() {
		if !have[f] {
			missing = append(missing, f)
		}
	}
	return missing
}

// CheckFields refuses a list whose header lacks merge fields the template
// uses: a -10 naming them and the list, so that a run stops before its
// first row rather than failing row by row.
func CheckFields(t *compose.Template, list string, header []string) error {
	missing := MissingFields(t, header)
	if len(missing) == 0 {
		return nil
	}
	return &codes.SystemError{Code: tsv.CodeHeaderUnparsed,
		Detail: codes.DetailMissingFields.EN + ": " + strings.Join(missing, ", "), File: list, Line: 1}
}

// IsStopped says err is a -11 stop (a *codes.SystemError with
// CodeStopped); a run that ended because the store stayed unwritable
// carries the store's code instead.
func IsStopped(err error) bool { return codes.IsSystem(err, CodeStopped) }
