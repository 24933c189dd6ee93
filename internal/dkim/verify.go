package dkim

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"github.com/hikyaku/hikyaku/internal/resolve"
)

// Result is a DKIM result as RFC 8601 §2.7.1 spells it.
type Result string

const (
	Pass      Result = "pass"
	Fail      Result = "fail"      // the signature or body hash does not verify
	Neutral   Result = "neutral"   // the signature could not be read at all
	Policy    Result = "policy"    // verifies, but we do not accept its terms (l= body length)
	TempError Result = "temperror" // the key could not be fetched now
	PermError Result = "permerror" // missing or bad key, missing tags, expired
	None      Result = "none"      // the message is not signed
)

// VerifyResult is the outcome of one DKIM-Signature field.
type VerifyResult struct {
	Domain     string // d=
	Selector   string // s=
	Algorithm  string // a=, "ed25519-sha256" or "rsa-sha256"
	Identifier string // i=, or "@" + d= when absent
	B          string // the first 8 characters of b=, header.b of RFC 6008
	Result     Result
	Reason     string // why it did not pass, "" for pass
}

// Verifier checks the DKIM signatures of received messages.
type Verifier struct {
	Resolver *resolve.Resolver
	// MaxSignatures bounds the signatures checked per message (each costs
	// a DNS question and a pass over the body); 0 means 5.
	MaxSignatures int
}

const defaultMaxSignatures = 5

// Verify checks every DKIM-Signature of msg (up to MaxSignatures, in
// header order) and returns one result per signature; an unsigned
// message gives one result, None. The key records are asked through
// Resolver: NXDOMAIN or no record is permerror, a failed lookup temperror.
func (v *Verifier) Verify(ctx context.Context, msg []byte) []VerifyResult {
	fields, body := scanHeader(msg)
	var sigs []VerifyResult
	for _, f := range fields {
		if strings.EqualFold(f.name, "DKIM-Signature") {
			sigs = append(sigs, sigInfo(f.value))
		}
	}
	if len(sigs) == 0 {
		return []VerifyResult{{Result: None, Reason: "message not signed"}}
	}
	max := v.MaxSignatures
	if max <= 0 {
		max = defaultMaxSignatures
	}
	if len(sigs) > max {
		sigs = sigs[:max]
	}
	if v.Resolver == nil {
		return failAll(sigs, TempError, "no DNS resolver configured for DKIM")
	}
	msg = withSeparator(msg, body)
	verifs, err := msgdkim.VerifyWithOptions(bytes.NewReader(msg), &msgdkim.VerifyOptions{
		LookupTXT:        func(name string) ([]string, error) { return lookupTXT(ctx, v.Resolver, name) },
		MaxVerifications: max,
	})
	if err != nil && !errors.Is(err, msgdkim.ErrTooManySignatures) {
		return failAll(sigs, PermError, strings.TrimPrefix(err.Error(), "dkim: "))
	}
	for i := range sigs {
		if i >= len(verifs) {
			sigs[i].Result, sigs[i].Reason = PermError, "signature not examined"
			continue
		}
		vr := verifs[i]
		if vr.Domain != "" {
			sigs[i].Domain = vr.Domain
		}
		if vr.Identifier != "" {
			sigs[i].Identifier = vr.Identifier
		}
		sigs[i].Result, sigs[i].Reason = classify(vr.Err)
		if sigs[i].Result == PermError && sigs[i].Domain == "" {
			sigs[i].Result = Neutral // no d=: nothing to attribute a failure to
		}
	}
	return sigs
}

func failAll(sigs []VerifyResult, r Result, reason string) []VerifyResult {
	for i := range sigs {
		sigs[i].Result, sigs[i].Reason = r, reason
	}
	return sigs
}

func classify(err error) (Result, string) {
	if err == nil {
		return Pass, ""
	}
	reason := strings.TrimPrefix(err.Error(), "dkim: ")
	switch {
	case msgdkim.IsTempFail(err):
		return TempError, reason
	case msgdkim.IsPermFail(err):
		return PermError, reason
	case strings.Contains(reason, "body length"):
		return Policy, reason
	}
	return Fail, reason
}

// sigInfo reads the tags worth reporting from a DKIM-Signature value.
func sigInfo(v string) VerifyResult {
	var r VerifyResult
	for tag := range strings.SplitSeq(v, ";") {
		k, val, ok := strings.Cut(tag, "=")
		if !ok {
			continue
		}
		val = strings.Join(strings.Fields(val), "")
		switch strings.TrimSpace(k) {
		case "d":
			r.Domain = strings.ToLower(val)
		case "s":
			r.Selector = val
		case "a":
			r.Algorithm = strings.ToLower(val)
		case "i":
			r.Identifier = val
		case "b":
			r.B = val[:min(8, len(val))]
		}
	}
	if r.Identifier == "" && r.Domain != "" {
		r.Identifier = "@" + r.Domain
	}
	return r
}

// lookupTXT asks the resolver and speaks the library's error language: a
// temporary *net.DNSError is its temperror, any other error its permerror
// ("no key for signature").
func lookupTXT(ctx context.Context, r *resolve.Resolver, name string) ([]string, error) {
	txts, err := r.LookupTXT(ctx, name)
	if err == nil {
		return txts, nil
	}
	var re *resolve.Error
	if errors.As(err, &re) {
		switch re.Result.Code {
		case 700, 611:
			return nil, &net.DNSError{Err: "no key record: " + re.Result.Text, Name: name, IsNotFound: true}
		}
		return nil, &net.DNSError{Err: re.Result.Text, Name: name, IsTemporary: true}
	}
	return nil, &net.DNSError{Err: err.Error(), Name: name, IsTimeout: true, IsTemporary: true}
}
