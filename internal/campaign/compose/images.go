package compose

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// image is one inline image, read and encoded once per campaign.
type image struct {
	name      string // as referenced, relative to the folder
	cid       string // Content-ID without brackets
	mediaType string
	header    []byte // the part's header fields, CRLF-terminated
	body      []byte // base64 lines
}

// imageRef finds src= and background= attributes that point into the
// image folder, quoted or not.
var imageRef = regexp.MustCompile(`(?i)(\b(?:src|background)\s*=\s*)(["']?)(cid:|images/)([^"'\s>]*)`)

// loadImages reads the images the HTML names, from opt.Images or else
// from the folder opt.ImagesDir, and rewrites the references to their
// Content-IDs. The folder is opened even when the HTML names no image: a
// folder given but missing is a mistake worth -13.
func (t *Template) loadImages(html *[]byte, opt Options) error {
	dir := opt.ImagesDir
	var root *os.Root
	if opt.Images == nil && dir != "" {
		r, err := os.OpenRoot(dir)
		if err != nil {
			return &codes.SystemError{Code: CodeImageFolder, Err: err, File: dir}
		}
		defer r.Close()
		root = r
	}
	if *html == nil {
		return nil
	}
	byName := map[string]string{} // name → cid
	var firstErr error
	out := imageRef.ReplaceAllFunc(*html, func(m []byte) []byte {
		if firstErr != nil {
			return m
		}
		sub := imageRef.FindSubmatch(m)
		ref := string(sub[3]) + string(sub[4])
		name, err := url.PathUnescape(string(sub[4]))
		switch {
		case err != nil || name == "":
			firstErr = fmt.Errorf("compose: HTML image reference %q is not a file name", ref)
			return m
		case strings.Contains(name, "{{"):
			firstErr = fmt.Errorf("compose: HTML image reference %q is a merge field; inline images must be named literally", ref)
			return m
		case root == nil && opt.Images == nil:
			firstErr = &codes.SystemError{Code: CodeImageFolder, Detail: codes.DetailNoImageFolder.EN + ": " + ref}
			return m
		}
		cid, ok := byName[name]
		if !ok {
			img, err := t.readImage(root, opt.Images, dir, name)
			if err != nil {
				firstErr = err
				return m
			}
			t.images = append(t.images, img)
			cid = img.cid
			byName[name] = cid
		}
		return append(append(append([]byte(nil), sub[1]...), sub[2]...), "cid:"+cid...)
	})
	if firstErr != nil {
		return firstErr
	}
	*html = out
	return nil
}

// readImage reads one image from files when it is set, else from root.
// Its errors name the file inside the operator's folder dir.
func (t *Template) readImage(root *os.Root, files map[string][]byte, dir, name string) (image, error) {
	full := filepath.Join(dir, filepath.FromSlash(name))
	var data []byte
	if files != nil {
		b, ok := files[path.Clean(name)]
		if !ok {
			return image{}, &codes.SystemError{Code: CodeImage, Detail: codes.DetailImageMissing.EN, File: full}
		}
		data = b
	} else {
		b, err := root.ReadFile(filepath.FromSlash(name))
		if errors.Is(err, fs.ErrNotExist) {
			return image{}, &codes.SystemError{Code: CodeImage, Detail: codes.DetailImageMissing.EN, File: full, Err: err}
		}
		if err != nil {
			return image{}, &codes.SystemError{Code: CodeImage, Err: err, File: full}
		}
		data = b
	}
	if len(data) == 0 {
		return image{}, &codes.SystemError{Code: CodeImage, Detail: codes.DetailFileEmpty.EN, File: full}
	}
	mt := imageType(name, data)
	if mt == "" {
		return image{}, &codes.SystemError{Code: CodeImage, Detail: codes.DetailNotImage.EN, File: full}
	}
	base := path.Base(name)
	img := image{
		name:      name,
		cid:       "img" + strconv.Itoa(len(t.images)+1) + "." + cidSafe(base) + "@" + t.hostname,
		mediaType: mt,
		body:      base64Lines(data),
	}
	var h bytes.Buffer
	h.WriteString("Content-Type: " + mime.FormatMediaType(mt, map[string]string{"name": base}) + "\r\n")
	h.WriteString("Content-Transfer-Encoding: base64\r\n")
	h.WriteString("Content-ID: <" + img.cid + ">\r\n")
	h.WriteString("Content-Disposition: " + mime.FormatMediaType("inline", map[string]string{"filename": base}) + "\r\n")
	img.header = h.Bytes()
	return img, nil
}

// imageType trusts the content over the name: a .jpg that is a PNG is
// sent as image/png, which is what a reader will decode it as anyway.
func imageType(name string, b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte("\xFF\xD8\xFF")):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "image/gif"
	case len(b) >= 12 && bytes.HasPrefix(b, []byte("RIFF")) && string(b[8:12]) == "WEBP":
		return "image/webp"
	case bytes.HasPrefix(b, []byte("BM")) && strings.EqualFold(path.Ext(name), ".bmp"):
		return "image/bmp"
	case strings.EqualFold(path.Ext(name), ".svg") && bytes.Contains(b[:min(len(b), 1024)], []byte("<svg")):
		return "image/svg+xml"
	}
	return ""
}

// cidSafe keeps a file name readable in a Content-ID (RFC 2392 msg-id,
// dot-atom-text) and in the cid: URL that points at it.
func cidSafe(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' && i > 0 && s[i-1] != '.' {
			b.WriteByte(c)
		} else if !strings.HasSuffix(b.String(), "_") {
			b.WriteByte('_') // one for a run: a UTF-8 name is not nine underscores
		}
	}
	return strings.Trim(b.String(), ".")
}
