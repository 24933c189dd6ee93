package mimepart

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/textproto"
)

// Part is one part of a multipart body: its header and its body with the
// Content-Transfer-Encoding not undone.
type Part struct {
	Header textproto.MIMEHeader
	Body   []byte
}

// Raw splits body at boundary into its parts, in order.
func Raw(body []byte, boundary string) ([]Part, error) {
	var parts []Part
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return parts, nil
		}
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, err
		}
		parts = append(parts, Part{p.Header, b})
	}
}
