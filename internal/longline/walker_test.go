package longline

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// The test decoder: an independent reading of a message with the standard
// library (net/mail, mime/multipart, mime/quotedprintable, base64), giving
// each leaf's content as a reader would see it after decoding. Fix must
// leave these unchanged.

type leafContent struct {
	path  string
	ctype string
	data  []byte
}

// readLeaves walks msg and returns its decoded leaves, or an error when the
// standard library cannot read it (the tests then have nothing to compare).
func readLeaves(msg []byte) ([]leafContent, error) {
	var out []leafContent
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		return nil, err
	}
	err = walk(textprotoHeader(m.Header), body, "", "text/plain", &out, 0)
	return out, err
}

type header interface{ Get(string) string }

func textprotoHeader(h mail.Header) header { return h }

func walk(h header, body []byte, path, def string, out *[]leafContent, depth int) error {
	if depth > 20 {
		return errors.New("too deep")
	}
	ct := h.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || mt == "" {
		mt, params, err = def, nil, nil
	}
	cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	if err == nil && strings.HasPrefix(mt, "multipart/") && params["boundary"] != "" {
		r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		childDef := "text/plain"
		if mt == "multipart/digest" {
			childDef = "message/rfc822"
		}
		for i := 1; ; i++ {
			p, err := r.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			b, err := io.ReadAll(p)
			if err != nil {
				return err
			}
			if err := walk(p.Header, b, join(path, i), childDef, out, depth+1); err != nil {
				return err
			}
		}
	}
	if mt == "message/rfc822" && isIdentity(cte) {
		m, err := mail.ReadMessage(bytes.NewReader(body))
		if err != nil {
			return err
		}
		b, err := io.ReadAll(m.Body)
		if err != nil {
			return err
		}
		return walk(textprotoHeader(m.Header), b, path+"/msg", "text/plain", out, depth+1)
	}
	data, err := decodeBody(body, cte)
	if err != nil {
		return fmt.Errorf("part %q: %w", path, err)
	}
	*out = append(*out, leafContent{path: path, ctype: mt, data: data})
	return nil
}

func join(path string, i int) string {
	if path == "" {
		return fmt.Sprint(i)
	}
	return fmt.Sprintf("%s.%d", path, i)
}

// decodeBody decodes a leaf body with the standard library's decoders.
func decodeBody(body []byte, cte string) ([]byte, error) {
	switch cte {
	case "base64":
		clean := strings.NewReplacer("\r", "", "\n", "").Replace(string(body))
		return base64.StdEncoding.DecodeString(clean)
	case "quoted-printable":
		return io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	}
	return body, nil
}
