package dkim

import (
	"bytes"
	"crypto"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"github.com/hikyaku/hikyaku/internal/protocol"
)

// SignedHeaders are the fields signed when present, in this order (RFC
// 6376 §5.4.1's list, trimmed to what a receiver shows or acts on, plus
// RFC 8058's one-click unsubscribe pair, which must be signed to count).
var SignedHeaders = []string{
	"From", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding", "List-Unsubscribe",
	"List-Unsubscribe-Post", "Reply-To", "In-Reply-To", "References",
}

// Signer signs with the keys of the From: domain.
type Signer struct {
	// Keys by lower-case A-label domain. A domain may have several keys
	// (an ed25519 and an RSA one, as RFC 8463 §6 recommends while
	// verifiers catch up): the message gets one signature per key.
	Keys map[string][]Key
}

// Sign adds DKIM-Signature fields to msg, a message in wire form (CRLF
// line ends), for every key of the domain of its first From: address. The
// signatures are relaxed/relaxed and cover SignedHeaders as present, each
// occurrence; From is listed once more than it occurs ("oversigned"), so
// a From: added on the way breaks the signature instead of riding on it.
//
// When the From domain has no key, the keys of its closest parent domain
// that has one sign (d=example.com for mail from news.example.com: DMARC's
// relaxed alignment accepts it). No key, or no From address, returns msg
// unchanged and no error.
func (s *Signer) Sign(msg []byte) ([]byte, error) {
	if s == nil || len(s.Keys) == 0 {
		return msg, nil
	}
	fields, body := scanHeader(msg)
	domain := fromDomain(fields)
	if domain == "" {
		return msg, nil
	}
	keys := s.keysFor(domain)
	if len(keys) == 0 {
		return msg, nil
	}
	hk := headerKeys(fields)
	signed := withSeparator(msg, body)
	var sigs bytes.Buffer
	for _, k := range keys {
		sig, err := signOne(signed, k, hk)
		if err != nil {
			return nil, fmt.Errorf("dkim: signing for %s with selector %s: %w", k.Domain, k.Selector, err)
		}
		sigs.WriteString(sig)
	}
	out := make([]byte, 0, sigs.Len()+len(msg))
	return append(append(out, sigs.Bytes()...), msg...), nil
}

func signOne(msg []byte, k Key, hk []string) (string, error) {
	signer, err := msgdkim.NewSigner(&msgdkim.SignOptions{
		Domain:                 k.Domain,
		Selector:               k.Selector,
		Signer:                 k.Signer,
		Hash:                   crypto.SHA256,
		HeaderCanonicalization: msgdkim.CanonicalizationRelaxed,
		BodyCanonicalization:   msgdkim.CanonicalizationRelaxed,
		HeaderKeys:             hk,
	})
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(signer, bytes.NewReader(msg)); err != nil {
		signer.Close()
		return "", err
	}
	if err := signer.Close(); err != nil {
		return "", err
	}
	return signer.Signature(), nil
}

// withSeparator adds the empty line that ends the header when msg has
// none, as the library's header reader needs it. The body is empty either
// way (RFC 6376 §3.4.3, §3.4.4), so signatures do not change.
func withSeparator(msg []byte, body int) []byte {
	if body < len(msg) || bytes.HasSuffix(msg, []byte("\r\n\r\n")) || bytes.HasSuffix(msg, []byte("\n\n")) {
		return msg
	}
	out := append([]byte(nil), msg...)
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, "\r\n"...)
	}
	return append(out, "\r\n"...)
}

// keysFor finds the keys of domain or of its closest parent.
func (s *Signer) keysFor(domain string) []Key {
	for d := domain; strings.Contains(d, "."); d = d[strings.IndexByte(d, '.')+1:] {
		if ks := s.Keys[d]; len(ks) > 0 {
			return ks
		}
	}
	return nil
}

// headerKeys is the h= list: each signed field as often as it occurs,
// then From once more.
func headerKeys(fields []field) []string {
	count := map[string]int{}
	for _, f := range fields {
		count[strings.ToLower(f.name)]++
	}
	var hk []string
	for _, name := range SignedHeaders {
		for range count[strings.ToLower(name)] {
			hk = append(hk, name)
		}
	}
	return append(hk, "From")
}

// field is one header field: its name and its value, unfolded.
type field struct{ name, value string }

// scanHeader splits off the header fields of msg; body is the offset of
// the body (len(msg) when there is none). Lines that are not fields
// (no colon) are skipped, as the verifier's parser does.
func scanHeader(msg []byte) (fields []field, body int) {
	i := 0
	for i < len(msg) {
		end := bytes.IndexByte(msg[i:], '\n')
		var line []byte
		next := len(msg)
		if end >= 0 {
			line, next = msg[i:i+end], i+end+1
		} else {
			line = msg[i:]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			return fields, next
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1].value += " " + strings.TrimSpace(string(line))
		} else if name, value, ok := strings.Cut(string(line), ":"); ok {
			fields = append(fields, field{strings.TrimSpace(name), strings.TrimSpace(value)})
		}
		i = next
	}
	return fields, len(msg)
}

// fromDomain is the lower-case A-label domain of the first address of the
// first From: field, "" when there is none.
func fromDomain(fields []field) string {
	for _, f := range fields {
		if !strings.EqualFold(f.name, "From") {
			continue
		}
		addr := ""
		// Any charset in encoded words: only the address matters here, and
		// net/mail refuses ISO-2022-JP display names otherwise.
		p := mail.AddressParser{WordDecoder: &mime.WordDecoder{
			CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
		}}
		if list, err := p.ParseList(f.value); err == nil && len(list) > 0 {
			addr = list[0].Address
		} else {
			addr = roughAddress(f.value)
		}
		_, domain, ok := protocol.SplitAddress(addr)
		if !ok {
			return ""
		}
		d, err := normDomain(domain)
		if err != nil {
			return ""
		}
		return d
	}
	return ""
}

// roughAddress digs the address out of a From: value net/mail cannot
// parse (Japanese mobile local parts like "taro..yamada"): the last <…>,
// else the last word with an '@'.
func roughAddress(v string) string {
	if i := strings.LastIndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return v[i+1 : i+j]
		}
	}
	words := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' })
	for i := len(words) - 1; i >= 0; i-- {
		if strings.Contains(words[i], "@") {
			return strings.Trim(words[i], "<>\"")
		}
	}
	return ""
}
