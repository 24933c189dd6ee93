package dsn

import (
	"bytes"
	"fmt"
	"mime/quotedprintable"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// prose is the wording around the code table's texts, per language.
type prose struct {
	intro                    string // %s: our host
	failed, delayed, success string
	attachedFull, attachedHd string
	help                     string // %s: postmaster address
	actions                  map[string]string
	result, host, replyTo    string
	retryUntil, lastAttempt  string
}

var english = prose{
	intro:        "This is the mail system at host %s.",
	failed:       "Your message could not be delivered to one or more of its recipients. What happened to each is below.",
	delayed:      "Your message has not been delivered yet to one or more of its recipients. Delivery is still being retried; you do not need to send it again. What happened so far is below.",
	success:      "Your message was delivered to the recipients below, as you asked to be told.",
	attachedFull: "A copy of your message is attached.",
	attachedHd:   "The header of your message is attached.",
	help:         "If you need help, write to <%s> and include this report.",
	actions: map[string]string{
		ActionFailed: "failed", ActionDelayed: "delayed, still trying", ActionDelivered: "delivered",
		ActionRelayed: "relayed to a server that sends no reports", ActionExpanded: "delivered and expanded",
	},
	result: "Result", host: "Host", replyTo: "in reply to",
	retryUntil: "Will retry until", lastAttempt: "Last attempt",
}

var japanese = prose{
	intro:        "このメールは %s のメールシステムが自動で送っています。",
	failed:       "お送りいただいたメールを、次の宛先に配送できませんでした。宛先ごとの状況は以下のとおりです。",
	delayed:      "お送りいただいたメールは、次の宛先にまだ配送できていません。配送は引き続き再試行していますので、送り直す必要はありません。これまでの状況は以下のとおりです。",
	success:      "ご依頼により、次の宛先への配送完了をお知らせします。",
	attachedFull: "お送りいただいたメールを添付します。",
	attachedHd:   "お送りいただいたメールのヘッダを添付します。",
	help:         "ご不明な点は <%s> までこの通知を添えてお問い合わせください。",
	actions: map[string]string{
		ActionFailed: "配送失敗", ActionDelayed: "配送遅延(再試行中)", ActionDelivered: "配送完了",
		ActionRelayed: "配送通知に対応しないサーバへ中継済み", ActionExpanded: "配送完了(転送先に展開)",
	},
	result: "結果", host: "ホスト", replyTo: "への応答",
	retryUntil: "再試行の期限", lastAttempt: "最後の試行",
}

// humanPart writes the text/plain notification: the prose, then for each
// recipient its result and the code table's explanation of the reply (or
// result) code and of the status, in English and, for Lang "ja", again in
// Japanese. It returns the body and its Content-Transfer-Encoding.
func (r *Report) humanPart(kind string) ([]byte, string) {
	var b bytes.Buffer
	r.writeText(&b, kind, english, false)
	if r.Lang == "ja" {
		b.WriteString("\r\n" + strings.Repeat("-", 64) + "\r\n\r\n")
		r.writeText(&b, kind, japanese, true)
	}
	body := b.Bytes()
	long := false
	for _, l := range bytes.Split(body, []byte("\r\n")) {
		long = long || len(l) > 998
	}
	switch {
	case !long && isASCII(string(body)):
		return body, "7bit"
	case !long && r.SMTPUTF8:
		// An SMTPUTF8 peer takes 8bit (RFC 6531 §3.1 requires 8BITMIME).
		return body, "8bit"
	}
	var q bytes.Buffer
	w := quotedprintable.NewWriter(&q)
	w.Write(body)
	w.Close()
	return q.Bytes(), "quoted-printable"
}

func (r *Report) writeText(b *bytes.Buffer, kind string, p prose, ja bool) {
	para := func(s string) {
		for _, l := range wrap(s, 72, ja) {
			b.WriteString(l + "\r\n")
		}
		b.WriteString("\r\n")
	}
	para(fmt.Sprintf(p.intro, clean(r.ReportingMTA)))
	lead := map[string]string{ActionFailed: p.failed, ActionDelayed: p.delayed, ActionDelivered: p.success}[kind]
	if len(r.Original) > 0 {
		if r.returnsFull(kind) {
			lead += " " + p.attachedFull
		} else {
			lead += " " + p.attachedHd
		}
	}
	para(lead)
	para(fmt.Sprintf(p.help, clean(r.Postmaster)))
	for _, rc := range r.Recipients {
		r.writeRecipient(b, rc, p, ja)
	}
}

func (r *Report) writeRecipient(b *bytes.Buffer, rc Recipient, p prose, ja bool) {
	res := rc.Result
	fmt.Fprintf(b, "<%s>: %s\r\n", clean(rc.Final), p.actions[rc.Action])
	item := func(label, text string) {
		if text == "" {
			return
		}
		for i, l := range wrap(text, 64, ja) {
			if i == 0 {
				b.WriteString("    " + label + ": " + l + "\r\n")
			} else {
				b.WriteString("        " + l + "\r\n")
			}
		}
	}
	if res.Code != 0 {
		item(p.result, clean(strings.ReplaceAll(res.String(), "\n", " ")))
	}
	host := clean(res.Host)
	if res.IP != "" {
		host = strings.TrimSpace(host + " [" + clean(res.IP) + "]")
	}
	if host != "" && res.Command != "" {
		if ja {
			host += " (" + clean(res.Command) + " " + p.replyTo + ")"
		} else {
			host += ", " + p.replyTo + " " + clean(res.Command)
		}
	}
	item(p.host, host)
	if c, ok := codes.LookupCode(res.Code); ok {
		text := c.EN + ". " + c.DetailEN
		if ja {
			text = c.JA + "。" + c.DetailJA
		}
		item(fmt.Sprint(res.Code), text)
	}
	status := Status(rc)
	if e, ok := codes.LookupEnhanced(status); ok {
		meaning := e.EN
		if ja {
			meaning = e.JA
		}
		item(status, meaning)
	}
	if !rc.LastAttempt.IsZero() {
		item(p.lastAttempt, rc.LastAttempt.Format(time.RFC1123Z))
	}
	if rc.Action == ActionDelayed && !rc.WillRetryUntil.IsZero() {
		item(p.retryUntil, rc.WillRetryUntil.Format(time.RFC1123Z))
	}
	b.WriteString("\r\n")
}

// wrap breaks text into lines of about width columns at spaces. Japanese
// text has no spaces to break at; it is broken after "。" instead, and
// otherwise left long (quoted-printable keeps such a line legal).
func wrap(text string, width int, ja bool) []string {
	if ja {
		var out []string
		for _, s := range strings.SplitAfter(text, "。") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	var out []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			out = append(out, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}
