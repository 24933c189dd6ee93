package bounce

import (
	"strings"
)

// dsnGroup is one per-recipient field group of an RFC 3464
// message/delivery-status body, values as written (types stripped).
type dsnGroup struct {
	final, original string
	action, status  string
	diag, diagType  string
	remoteMTA       string
	lastAttempt     string
}

// dsnReport is a parsed delivery-status body.
type dsnReport struct {
	reportingMTA string
	arrivalDate  string
	groups       []dsnGroup
}

// parseDSN reads RFC 3464 fields. It is tolerant of what real MTAs send:
// groups run together without the blank line, fields folded anywhere,
// unknown fields, a per-recipient group before any per-message field.
// A group counts when it names a recipient.
func parseDSN(text string) dsnReport {
	var rep dsnReport
	var cur dsnGroup
	have := false // cur names a recipient
	lastName := ""
	flush := func() {
		if have {
			rep.groups = append(rep.groups, cur)
		}
		cur, have = dsnGroup{}, false
	}
	for len(text) > 0 {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			if have && cur.final != "" {
				flush()
			}
			lastName = ""
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if lastName != "" {
				appendDSN(&cur, &rep, lastName, strings.TrimSpace(line))
			}
			continue
		}
		c := strings.IndexByte(line, ':')
		if c <= 0 || hasBlank(line[:c]) {
			lastName = ""
			continue
		}
		name := dsnName(line[:c])
		value := strings.TrimSpace(line[c+1:])
		switch name {
		case "final-recipient", "x-actual-recipient":
			if name == "x-actual-recipient" {
				if cur.final == "" && value != "" {
					cur.final, have = stripType(value), true
				}
				lastName = ""
				continue
			}
			if cur.final != "" {
				flush()
			}
			cur.final, have = stripType(value), true
		case "original-recipient":
			if cur.original != "" || cur.final != "" && (cur.status != "" || cur.diag != "") {
				flush()
			}
			cur.original, have = stripType(value), true
		case "action":
			cur.action = strings.ToLower(value)
		case "status":
			cur.status = value
		case "diagnostic-code":
			cur.diagType, cur.diag = splitType(value)
		case "remote-mta":
			cur.remoteMTA = stripType(value)
		case "last-attempt-date":
			cur.lastAttempt = value
		case "reporting-mta":
			rep.reportingMTA = stripType(value)
		case "arrival-date":
			rep.arrivalDate = value
		default:
			lastName = ""
			continue
		}
		lastName = name
	}
	flush()
	return rep
}

// dsnNames are the fields parseDSN reads.
var dsnNames = []string{"final-recipient", "x-actual-recipient", "original-recipient", "action", "status", "diagnostic-code",
	"remote-mta", "last-attempt-date", "reporting-mta", "arrival-date"}

// dsnName is the field name lower-cased when parseDSN reads that field,
// else "": without a lower-cased copy of every name of every line.
func dsnName(s string) string {
	ascii := isASCIIString(s)
	if !ascii {
		s = strings.ToLower(s) // "ſtatus" stays unknown, as before
	}
	for _, n := range dsnNames {
		if ascii && len(n) == len(s) && strings.EqualFold(s, n) || !ascii && s == n {
			return n
		}
	}
	return ""
}

// appendDSN adds a folded continuation to the field last seen.
func appendDSN(g *dsnGroup, rep *dsnReport, name, more string) {
	switch name {
	case "diagnostic-code":
		if len(g.diag) < 4096 {
			g.diag = strings.TrimSpace(g.diag + " " + more)
		}
	case "final-recipient":
		if g.final == "" {
			g.final = more
		}
	case "status":
		if g.status == "" {
			g.status = more
		}
	case "reporting-mta":
		if rep.reportingMTA == "" {
			rep.reportingMTA = more
		}
	}
}

// splitType cuts "smtp; 550 ..." into its type and the rest; a value with
// no type is all rest.
func splitType(v string) (string, string) {
	if i := strings.IndexByte(v, ';'); i > 0 && i < 16 && !strings.ContainsAny(v[:i], " \t<>@") {
		return strings.ToLower(strings.TrimSpace(v[:i])), strings.TrimSpace(v[i+1:])
	}
	return "", strings.TrimSpace(v)
}

func stripType(v string) string {
	_, rest := splitType(v)
	return rest
}

// hasDSNFields tells a text part that carries delivery-status fields
// without the content type saying so (broken DSNs).
func hasDSNFields(s string) bool {
	l := s
	if len(l) > 65536 {
		l = l[:65536]
	}
	return (strings.Contains(l, "Final-Recipient:") || strings.Contains(l, "Final-recipient:") || strings.Contains(l, "final-recipient:")) &&
		(strings.Contains(l, "Status:") || strings.Contains(l, "Action:"))
}
