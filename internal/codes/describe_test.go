package codes

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

func TestDescribe(t *testing.T) {
	cases := []struct {
		name, query string
		kind        Kind
		code        string
		known       bool
		class       Class
		weight      string // "" when no weight applies
		reason      string
		enhanced    string // code of the enhanced part, "" when none
		notes       int
		replyText   string
		why         string
	}{
		{"reply", "550", KindReply, "550", true, ClassPermanent, "1", "", "", 0, "", "the basic form"},
		{"enhanced", "5.7.1", KindEnhanced, "5.7.1", true, ClassPermanent, "", "securityerror", "", 0, "", "an enhanced code alone"},
		{"registry form", "X.1.10", KindEnhanced, "X.1.10", true, ClassUnknown, "", "notaccept", "", 0, "", "the registry's spelling has no class"},
		{"registry form lower", "x.1.10", KindEnhanced, "X.1.10", true, ClassUnknown, "", "notaccept", "", 0, "", "people type x"},
		{"via X form", "5.1.10", KindEnhanced, "5.1.10", true, ClassPermanent, "", "notaccept", "", 0, "", "found through X.1.10"},
		{"success has no failure reason", "2.7.0", KindEnhanced, "2.7.0", true, ClassSuccess, "", "", "", 0, "", "AUTH success is not a securityerror"},
		{"success delivered", "2.1.5", KindEnhanced, "2.1.5", true, ClassSuccess, "", "delivered", "", 0, "", "Sisimai's one success reason"},
		{"result", "623", KindResult, "623", true, ClassTransient, "0", "networkerror", "", 0, "", "phase-exact code"},
		{"expired", "606", KindResult, "606", true, ClassPermanent, "0.1", "expired", "", 0, "", "the 0.1 weight"},
		{"system", "-11", KindSystem, "-11", true, ClassSystem, "0", "", "", 0, "", "negative codes"},
		{"reply and enhanced", "550 5.7.1", KindReply, "550", true, ClassPermanent, "1", "securityerror", "5.7.1", 0, "", "enhanced reason wins"},
		{"multiline separator", "421-4.7.0", KindReply, "421", true, ClassTransient, "0", "securityerror", "4.7.0", 0, "", "first line of a multi-line reply"},
		{"odd separator", "550/5.1.1", KindReply, "550", true, ClassPermanent, "1", "userunknown", "5.1.1", 0, "", "forgiving about separators"},
		{"pasted line", "550 5.1.1 <bob@example.jp>: user unknown", KindReply, "550", true, ClassPermanent, "1", "userunknown", "5.1.1", 0, "<bob@example.jp>: user unknown", "a whole reply line from a log"},
		{"reply with text only", "554 no SMTP service here", KindReply, "554", true, ClassPermanent, "1", "", "", 0, "no SMTP service here", "old servers send no enhanced code"},
		{"class mismatch", "552 4.3.4", KindReply, "552", true, ClassPermanent, "0.1", "mesgtoobig", "4.3.4", 1, "", "RFC 2034 wants matching classes"},
		{"unknown reply", "559", KindReply, "559", false, ClassPermanent, "0", "", "", 0, "", "explained by digits, weighs 0"},
		{"unknown enhanced", "5.9.99", KindEnhanced, "5.9.99", false, ClassPermanent, "", "", "", 0, "", "explained by class"},
		{"unknown detail", "4.1.99", KindEnhanced, "4.1.99", false, ClassTransient, "", "", "", 0, "", "known subject, unknown detail"},
		{"unknown result", "699", KindResult, "699", false, ClassUnknown, "", "", "", 0, "", "a result code hikyaku never makes"},
		{"unknown system", "-14", KindSystem, "-14", false, ClassSystem, "", "", "", 0, "", "explained by range"},
		{"first digit pattern", "5xx", KindPattern, "5xx", false, ClassPermanent, "", "", "", 0, "", "seed 000's 5xx row"},
		{"second digit pattern", "x5x", KindPattern, "x5x", false, ClassUnknown, "", "", "", 0, "", "seed 000's x5x row"},
		{"result pattern", "62x", KindPattern, "62x", false, ClassUnknown, "", "", "", 0, "", "a family of phase codes"},
		{"enhanced class pattern", "4.x.x", KindPattern, "4.x.x", false, ClassTransient, "", "", "", 0, "", "class only"},
		{"enhanced subject pattern", "X.7.x", KindPattern, "X.7.x", false, ClassUnknown, "", "", "", 0, "", "subject only"},
		{"full width", "５５０", KindReply, "550", true, ClassPermanent, "1", "", "", 0, "", "typed with a Japanese IME"},
		{"full width enhanced", "５．７．１", KindEnhanced, "5.7.1", true, ClassPermanent, "", "securityerror", "", 0, "", "typed with a Japanese IME"},
		{"spaces", "  250  ", KindReply, "250", true, ClassSuccess, "0", "delivered", "", 0, "", "shell quoting leaves spaces"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Describe(c.query)
			if err != nil {
				t.Fatalf("Describe(%q): %v (%s)", c.query, err, c.why)
			}
			weight := ""
			if d.Weight != nil {
				weight = d.Weight.String()
			}
			enh := ""
			if d.Enhanced != nil {
				enh = d.Enhanced.Code
			}
			if d.Kind != c.kind || d.Code != c.code || d.Known != c.known || d.Class != c.class ||
				weight != c.weight || d.Reason != c.reason || enh != c.enhanced ||
				len(d.Notes) != c.notes || d.ReplyText != c.replyText {
				t.Errorf("Describe(%q) = kind %s code %s known %v class %v weight %q reason %q enhanced %q notes %d text %q (%s)",
					c.query, d.Kind, d.Code, d.Known, d.Class, weight, d.Reason, enh, len(d.Notes), d.ReplyText, c.why)
			}
			if d.Query != c.query {
				t.Errorf("Query = %q, want the input as given", d.Query)
			}
			if d.EN == "" || d.JA == "" {
				t.Errorf("EN and JA must always be set")
			}
			if d.Kind != KindSystem && len(d.Digits) == 0 {
				t.Errorf("no digit breakdown")
			}
		})
	}
}

func TestDescribeRejects(t *testing.T) {
	cases := map[string]string{
		"":           "empty",
		"   ":        "only space",
		"hello":      "words",
		"55":         "too short",
		"5500":       "too long",
		"050":        "first digit 0",
		"950":        "first digit 9",
		"570":        "second digit of a reply code runs 0-5",
		"5.7":        "two parts",
		"5.7.1.2":    "four parts",
		"3.1.1":      "class 3 does not exist",
		"5.01.1":     "leading zero",
		"5.7.1234":   "detail over three digits",
		"5.7.":       "empty detail",
		"623 5.1.1":  "result codes are not on the wire",
		"550x":       "no separator",
		"550 5.01.1": "bad enhanced part after a good code",
		"--11":       "double minus",
		"-0":         "minus zero",
		"-":          "minus alone",
		"-12345":     "too long a system code",
		"-11 foo":    "system code with text",
		"xxx":        "pattern with no digit",
		"x.x.x":      "enhanced pattern with no digit",
		"5.7.1 text": "enhanced code with text",
		"\x00\xff":   "binary",
	}
	for q, why := range cases {
		t.Run(why, func(t *testing.T) {
			d, err := Describe(q)
			if err == nil {
				t.Fatalf("Describe(%q) = %+v, want an error (%s)", q, d, why)
			}
			if !errors.Is(err, ErrNotACode) {
				t.Errorf("error %v does not wrap ErrNotACode", err)
			}
		})
	}
}

func TestDescribeKeepsOddText(t *testing.T) {
	// Whatever follows the codes is only echoed, never parsed or folded.
	for q, want := range map[string]string{
		"550\u3000abc\xff":           "abc\xff",
		"550 5.1.1 ユーザー不明 ＡＢＣ":       "ユーザー不明 ＡＢＣ",
		"５５０\u3000５．１．１\u3000ユーザー不明": "ユーザー不明",
	} {
		d, err := Describe(q)
		if err != nil || d.Code != "550" || d.ReplyText != want {
			t.Errorf("Describe(%q) = %+v, %v; want reply text %q", q, d, err, want)
		}
	}
}

func TestDescribeEveryTableEntry(t *testing.T) {
	for _, c := range Codes() {
		d, err := Describe(strconv.Itoa(c.Code))
		if err != nil || !d.Known || d.EN != c.EN || d.Weight == nil || *d.Weight != c.Weight {
			t.Errorf("%d: %+v, %v", c.Code, d, err)
		}
	}
	for _, e := range Enhanceds() {
		d, err := Describe(e.Status)
		if err != nil || !d.Known || d.EN != e.EN {
			t.Errorf("%s: %+v, %v", e.Status, d, err)
		}
	}
}

func hasJapanese(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) {
			return true
		}
	}
	return false
}

func TestText(t *testing.T) {
	d, err := Describe("550 5.7.1 relaying denied")
	if err != nil {
		t.Fatal(err)
	}
	enText, jaText, both := d.Text("en"), d.Text("ja"), d.Text("")
	for _, want := range []string{"550  Requested action not taken: mailbox unavailable", "5.7.1  Delivery not authorized", "weight", "permanent failure", "relaying denied"} {
		if !strings.Contains(enText, want) {
			t.Errorf("English text lacks %q:\n%s", want, enText)
		}
	}
	if hasJapanese(enText) {
		t.Errorf("English text holds Japanese:\n%s", enText)
	}
	for _, want := range []string{"550  要求された処理は実行されない", "5.7.1  配送が許可されず", "カウント", "恒久的エラー"} {
		if !strings.Contains(jaText, want) {
			t.Errorf("Japanese text lacks %q:\n%s", want, jaText)
		}
	}
	if both != enText+"\n"+jaText {
		t.Errorf("Text(\"\") must be English, a blank line, then Japanese")
	}
	if d.Text("EN") != enText {
		t.Errorf("lang is case-insensitive")
	}
	for _, l := range strings.Split(enText, "\n") {
		if displayWidth(l) > 80 {
			t.Errorf("line wider than 80 columns: %q", l)
		}
	}
}

func TestTextOfEveryCode(t *testing.T) {
	// Every table entry renders, starts with its code, and wraps English.
	var queries []string
	for _, c := range Codes() {
		queries = append(queries, strconv.Itoa(c.Code))
	}
	for _, e := range Enhanceds() {
		queries = append(queries, e.Status)
	}
	for _, q := range queries {
		d, err := Describe(q)
		if err != nil {
			t.Fatal(err)
		}
		s := d.Text("en")
		if !strings.HasPrefix(s, d.Code+"  ") {
			t.Errorf("%s: text starts %q", q, s[:min(len(s), 20)])
		}
		for _, l := range strings.Split(s, "\n") {
			// The heading line is the table's EN text and is not wrapped.
			if displayWidth(l) > 80 && !strings.HasPrefix(l, d.Code) {
				t.Errorf("%s: line wider than 80 columns: %q", q, l)
			}
		}
	}
}

func TestDescriptionJSON(t *testing.T) {
	d, err := Describe("550 5.7.1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"kind": "reply", "code": "550", "class": "permanent", "blame": "user", "weight": 1.0, "known": true}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v in %s", k, m[k], v, b)
		}
	}
	if e, _ := m["enhanced"].(map[string]any); e == nil || e["code"] != "5.7.1" || e["class"] != "permanent" {
		t.Errorf("enhanced part wrong in %s", b)
	}
	if _, ok := m["status"]; ok {
		t.Errorf("empty fields must be left out: %s", b)
	}
	var back Description
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, d) {
		t.Errorf("JSON round trip changed the description:\n%+v\n%+v", back, d)
	}
}
