package mailbox

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hikyaku/hikyaku/internal/protocol"
)

// Limits from RFC 5321 §4.5.3.1.
const (
	maxLocalPart = 64
	maxDomain    = 255
	maxAddress   = 254 // a forward-path of 256 octets minus the angle brackets
)

// splitAddress cuts "local@domain" at the last '@' (a quoted local part may
// hold an '@') and normalises the domain: lower case, no trailing dot.
func splitAddress(addr string) (local, domain string, ok bool) {
	local, domain, ok = protocol.SplitAddress(addr)
	if !ok || local == "" || domain == "" {
		return "", "", false
	}
	return local, normDomain(domain), true
}

func normDomain(d string) string {
	return strings.ToLower(strings.TrimSuffix(d, "."))
}

// normAddress is the key the directory stores and looks up: the whole
// address lower-cased. Local parts are case-sensitive in principle (RFC 5321
// §2.4) but every real site treats them as insensitive, and so do we.
func normAddress(addr string) string {
	local, domain, ok := splitAddress(addr)
	if !ok {
		return strings.ToLower(addr)
	}
	return strings.ToLower(local) + "@" + domain
}

// checkDomain accepts host names made of LDH labels, or UTF-8 labels
// (internationalized names arrive as U-labels under SMTPUTF8).
func checkDomain(d string) error {
	if d == "" {
		return fmt.Errorf("the domain is empty")
	}
	if len(d) > maxDomain {
		return fmt.Errorf("the domain is longer than %d octets", maxDomain)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" {
			return fmt.Errorf("the domain %q has an empty label", d)
		}
		if len(label) > 63 {
			return fmt.Errorf("the domain %q has a label longer than 63 octets", d)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("a label of the domain %q starts or ends with a hyphen", d)
		}
		for _, r := range label {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			case r >= 0x80 && r != utf8.RuneError:
			default:
				return fmt.Errorf("the domain %q contains %q", d, r)
			}
		}
	}
	return nil
}

// checkAnyAddress is the lenient check for alias targets and moved-to
// addresses, which may name mailboxes anywhere, including the legacy
// Japanese mobile local parts ("taro..yamada") that break dot-atom rules.
func checkAnyAddress(addr string) error {
	if addr == "" {
		return fmt.Errorf("the address is empty")
	}
	if len(addr) > maxAddress {
		return fmt.Errorf("the address %q is longer than %d octets", addr, maxAddress)
	}
	if !utf8.ValidString(addr) {
		return fmt.Errorf("the address %q is not valid UTF-8", addr)
	}
	for _, r := range addr {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' || r == ',' {
			return fmt.Errorf("the address %q contains %q", addr, r)
		}
	}
	local, domain, ok := splitAddress(addr)
	if !ok {
		return fmt.Errorf("the address %q is not of the form user@domain", addr)
	}
	if len(local) > maxLocalPart {
		return fmt.Errorf("the local part of %q is longer than %d octets", addr, maxLocalPart)
	}
	if err := checkDomain(domain); err != nil {
		return fmt.Errorf("the address %q is not valid: %v", addr, err)
	}
	return nil
}

// checkLocalAddress is the strict check for addresses we own (users and
// alias names): a dot-atom local part, because it becomes a directory name
// under the mail root — so no '/', and never "." or "..".
func checkLocalAddress(addr string) error {
	if err := checkAnyAddress(addr); err != nil {
		return err
	}
	local, _, _ := splitAddress(addr)
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return fmt.Errorf("the local part of %q is not a dot-atom (a dot at either end or two in a row)", addr)
	}
	for _, r := range local {
		if r < 0x80 && !isAtext(byte(r)) && r != '.' {
			return fmt.Errorf("the local part of %q contains %q", addr, r)
		}
	}
	return nil
}

// isAtext is RFC 5322 §3.2.3 atext minus '/', which would be a path
// separator in the Maildir layout.
func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-=?^_`{|}~", c) >= 0
}

// MailboxAddress turns a mailbox key "<domain>/<local-part>" back into the
// address "local-part@domain".
func MailboxAddress(mailbox string) string {
	domain, local, ok := strings.Cut(mailbox, "/")
	if !ok {
		return mailbox
	}
	return local + "@" + domain
}

func mailboxKey(addr string) string {
	local, domain, _ := splitAddress(addr)
	return domain + "/" + local
}
