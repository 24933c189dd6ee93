package bounce

import (
	"encoding/json"
	"strings"
)

// sesNotice is the part of an Amazon SES notification (sent as mail by
// SNS, a JSON body) that names recipients and what happened to them.
type sesNotice struct {
	Type      string `json:"notificationType"`
	EventType string `json:"eventType"`
	Message   string `json:"Message"` // SNS envelope: the notice as a string
	Bounce    struct {
		Type       string `json:"bounceType"`
		Recipients []struct {
			Address string `json:"emailAddress"`
			Action  string `json:"action"`
			Status  string `json:"status"`
			Diag    string `json:"diagnosticCode"`
		} `json:"bouncedRecipients"`
		ReportingMTA string `json:"reportingMTA"`
	} `json:"bounce"`
	Complaint struct {
		Recipients []struct {
			Address string `json:"emailAddress"`
		} `json:"complainedRecipients"`
		FeedbackType string `json:"complaintFeedbackType"`
	} `json:"complaint"`
	Delivery struct {
		Recipients []string `json:"recipients"`
		Response   string   `json:"smtpResponse"`
	} `json:"delivery"`
}

// sesJSON reads an Amazon SES bounce, complaint or delivery notification.
func (r *reader) sesJSON(rep *Report) bool {
	text := r.bodyText()
	i := strings.IndexByte(text, '{')
	j := strings.LastIndexByte(text, '}')
	if i < 0 || j < i || !strings.Contains(text[i:j], `notificationType`) && !strings.Contains(text[i:j], `eventType`) {
		return false
	}
	// Mail transport folds the long JSON line with "!" and a newline.
	raw := strings.NewReplacer("!\n ", "", "!\r\n ", "", "\r", "", "\n", "").Replace(text[i : j+1])
	var n sesNotice
	if json.Unmarshal([]byte(raw), &n) != nil {
		return false
	}
	if n.Message != "" && n.Type == "" {
		var inner sesNotice
		if json.Unmarshal([]byte(n.Message), &inner) != nil {
			return false
		}
		n = inner
	}
	kind := n.Type
	if kind == "" {
		kind = n.EventType
	}
	switch kind {
	case "Bounce":
		for _, b := range n.Bounce.Recipients {
			res := Result{Recipient: cleanAddr(b.Address), ReportingMTA: stripType(n.Bounce.ReportingMTA), Format: "amazonses"}
			_, diag := splitType(b.Diag)
			r.judge(&res, oneLine(diag), "", cleanStatus(b.Status), strings.ToLower(b.Action))
			rep.Results = append(rep.Results, res)
		}
		rep.Kind = KindBounce
	case "Complaint":
		info, _ := LookupReason("feedback")
		ft := strings.ToLower(n.Complaint.FeedbackType)
		if ft == "" {
			ft = "abuse"
		}
		for _, c := range n.Complaint.Recipients {
			rep.Results = append(rep.Results, Result{Recipient: cleanAddr(c.Address), Code: info.Code, Reason: "feedback",
				Blame: info.Blame, Feedback: ft, Format: "amazonses"})
		}
		rep.Kind = KindFeedback
	case "Delivery":
		for _, a := range n.Delivery.Recipients {
			res := Result{Recipient: cleanAddr(a), Reason: "delivered", Format: "amazonses"}
			r.judge(&res, oneLine(n.Delivery.Response), "", "", "delivered")
			rep.Results = append(rep.Results, res)
		}
		rep.Kind = KindBounce
	default:
		return false
	}
	return len(rep.Results) > 0
}
