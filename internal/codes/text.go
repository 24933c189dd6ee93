package codes

import (
	"strings"
	"unicode/utf8"
)

// Labels and phrases of the human-readable form, per language.
type phrases struct {
	// Line labels.
	kind, class, blame, weight, status, reason, detail, digits, note, text string

	kinds       map[Kind]string
	classes     map[Class]string
	blames      map[Blame]string
	weightHint  string
	unknownHead string
}

var en = phrases{
	kind: "kind", class: "class", blame: "blame", weight: "weight", status: "DSN status",
	reason: "reason", detail: "detail", digits: "digits", note: "note", text: "reply text",
	kinds: map[Kind]string{
		KindReply: "SMTP reply code", KindResult: "delivery result code (seed 001)",
		KindSystem: "system code (seed 001)", KindEnhanced: "enhanced status code",
		KindPattern: "code pattern",
	},
	classes: map[Class]string{
		ClassPreliminary: "positive preliminary", ClassSuccess: "success",
		ClassIntermediate: "intermediate: more input expected",
		ClassTransient:    "transient failure: retried later",
		ClassPermanent:    "permanent failure: not retried",
		ClassSystem:       "system error: the run failed, no address is blamed",
	},
	blames: map[Blame]string{
		BlameUser:   "user: the recipient address",
		BlameSystem: "system: our side or the network",
	},
	weightHint:  "added to the address's error score for a final outcome",
	unknownHead: "(not registered)",
}

var ja = phrases{
	kind: "種類", class: "分類", blame: "問題箇所", weight: "カウント", status: "DSNステータス",
	reason: "理由", detail: "説明", digits: "各桁", note: "注意", text: "応答文",
	kinds: map[Kind]string{
		KindReply: "SMTP 応答コード", KindResult: "配信結果コード(seed 001)",
		KindSystem: "システムコード(seed 001)", KindEnhanced: "拡張ステータスコード",
		KindPattern: "コードのパターン",
	},
	classes: map[Class]string{
		ClassPreliminary: "肯定的事前応答", ClassSuccess: "成功",
		ClassIntermediate: "中間応答:続きの入力を待つ",
		ClassTransient:    "一時的エラー:後で再試行する",
		ClassPermanent:    "恒久的エラー:再試行しない",
		ClassSystem:       "システムエラー:処理自体の失敗で、アドレスの責任ではない",
	},
	blames: map[Blame]string{
		BlameUser:   "ユーザ(宛先アドレス)",
		BlameSystem: "システム(自システムまたはネットワーク)",
	},
	weightHint:  "最終結果ごとにアドレスのエラースコアに加算",
	unknownHead: "(未登録)",
}

// Text renders the description for people: lang "en" or "ja" for one
// language, anything else (normally "") for English then Japanese.
func (d Description) Text(lang string) string {
	var b strings.Builder
	switch strings.ToLower(lang) {
	case "en":
		d.write(&b, &en, false)
	case "ja":
		d.write(&b, &ja, true)
	default:
		d.write(&b, &en, false)
		b.WriteByte('\n')
		d.write(&b, &ja, true)
	}
	return b.String()
}

const labelWidth = 14 // columns of the label, wide enough for "DSNステータス"

func (d Description) write(b *strings.Builder, p *phrases, isJA bool) {
	pick := func(e, j string) string {
		if isJA {
			return j
		}
		return e
	}
	head := d.Code + "  " + pick(d.EN, d.JA)
	if !d.Known && d.Kind != KindPattern {
		head = d.Code + "  " + p.unknownHead
	}
	b.WriteString(head + "\n")
	// Japanese has no spaces to wrap at; the terminal wraps it.
	wrap := !isJA
	line := func(label, value string, hang int) { writeLine(b, label, value, hang, wrap) }
	if !d.Known && d.Kind != KindPattern {
		line("", pick(d.EN, d.JA), 0)
	}
	kind := p.kinds[d.Kind]
	if d.Ref != "" {
		kind += " — " + d.Ref
	}
	line(p.kind, kind, 0)
	if s, ok := p.classes[d.Class]; ok {
		line(p.class, s, 0)
	}
	if s, ok := p.blames[d.Blame]; ok {
		line(p.blame, s, 0)
	}
	if d.Weight != nil {
		line(p.weight, d.Weight.String()+"  ("+p.weightHint+")", 0)
	}
	if d.Status != "" {
		line(p.status, d.Status, 0)
	}
	if d.Reason != "" {
		line(p.reason, d.Reason, 0)
	}
	if s := pick(d.DetailEN, d.DetailJA); s != "" {
		line(p.detail, s, 0)
	}
	// A one-digit pattern's meaning is already the heading.
	if d.Kind != KindPattern || len(d.Digits) > 1 {
		for i, m := range d.Digits {
			label := ""
			if i == 0 {
				label = p.digits
			}
			line(label, m.Value+"  "+pick(m.EN, m.JA), len(m.Value)+2)
		}
	}
	for _, n := range d.Notes {
		line(p.note, pick(n.EN, n.JA), 0)
	}
	if d.ReplyText != "" {
		line(p.text, d.ReplyText, 0)
	}
	if d.Enhanced != nil {
		d.Enhanced.write(b, p, isJA)
	}
}

// writeLine writes "  label         value", wrapping the value at spaces
// (when wrap is set) to fit an 80-column terminal, continuation lines
// indented hang more columns than the value's start.
func writeLine(b *strings.Builder, label, value string, hang int, wrap bool) {
	const width = 78 - 2 - labelWidth
	indent := strings.Repeat(" ", 2+labelWidth+hang)
	b.WriteString("  " + label + strings.Repeat(" ", max(1, labelWidth-displayWidth(label))))
	if !wrap {
		b.WriteString(value + "\n")
		return
	}
	col := 0
	for i, w := range strings.Split(value, " ") {
		ww := displayWidth(w)
		if i > 0 {
			if col+1+ww > width && col > hang {
				b.WriteString("\n" + indent)
				col = hang
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(w)
		col += ww
	}
	b.WriteByte('\n')
}

// displayWidth counts East Asian wide characters as two columns.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1100 && utf8.RuneLen(r) >= 3 && !(r >= 0x2000 && r <= 0x206F) {
			n += 2
		} else {
			n++
		}
	}
	return n
}
