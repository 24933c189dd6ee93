package protocol

import (
	"bytes"
	"strings"
)

// Command is one command line split into its verb and argument.
type Command struct {
	Verb string // upper-cased ASCII ("mail" arrives as "MAIL", seed 003)
	Arg  string // the rest after the first SP, leading and trailing SP/HTAB trimmed
}

// ParseCommand splits a command line (without CRLF) at its first SP. The
// verb is upper-cased in ASCII only; any other octet, NUL included, is
// kept as it is, so an odd verb is simply unknown. Known verbs come from
// an intern table and cost no allocation.
func ParseCommand(line []byte) Command {
	verb, arg := line, []byte(nil)
	if i := bytes.IndexByte(line, ' '); i >= 0 {
		verb, arg = line[:i], line[i+1:]
	}
	var c Command
	var up [16]byte
	if len(verb) <= len(up) {
		for i, b := range verb {
			up[i] = upperASCII(b)
		}
		if s, ok := internedVerbs[string(up[:len(verb)])]; ok {
			c.Verb = s
		} else {
			c.Verb = string(up[:len(verb)])
		}
	} else {
		long := make([]byte, len(verb))
		for i, b := range verb {
			long[i] = upperASCII(b)
		}
		c.Verb = string(long)
	}
	arg = bytes.Trim(arg, " \t")
	if len(arg) > 0 {
		c.Arg = string(arg)
	}
	return c
}

func upperASCII(b byte) byte {
	if 'a' <= b && b <= 'z' {
		return b - ('a' - 'A')
	}
	return b
}

// VerbInfo describes one command for HELP <command> replies.
type VerbInfo struct {
	Verb     string
	Syntax   string // as RFC 821 (seeds 000, 004) writes it
	EN, JA   string // what the command does
	Obsolete bool   // in RFC 821, removed by RFC 5321 (answered 502)
}

// Verbs lists every command hikyaku knows, in the order HELP shows them.
var Verbs = []VerbInfo{
	{"HELO", "HELO <SP> <domain> <CRLF>", "identify the client (RFC 5321 §4.1.1.1)", "接続の確立 (クライアントの名乗り)", false},
	{"EHLO", "EHLO <SP> <domain or address-literal> <CRLF>", "identify the client and ask for the service extensions (RFC 5321 §4.1.1.1)", "接続の確立と拡張機能の問い合わせ", false},
	{"MAIL", "MAIL <SP> FROM:<reverse-path> [<SP> <mail-parameters>] <CRLF>", "start a mail transaction and give the sender (RFC 5321 §4.1.1.2)", "発信者の指定", false},
	{"RCPT", "RCPT <SP> TO:<forward-path> [<SP> <rcpt-parameters>] <CRLF>", "give one recipient (RFC 5321 §4.1.1.3)", "受信者の指定", false},
	{"DATA", "DATA <CRLF>", "send the message, ended by a line holding only a period (RFC 5321 §4.1.1.4)", "本文の送信", false},
	{"BDAT", "BDAT <SP> <chunk-size> [<SP> LAST] <CRLF>", "send the next chunk-size octets of the message, LAST on the final one (RFC 3030 §2)", "本文をチャンク単位で送信 (RFC 3030)", false},
	{"RSET", "RSET <CRLF>", "abort the current mail transaction (RFC 5321 §4.1.1.5)", "処理の中断", false},
	{"VRFY", "VRFY <SP> <string> <CRLF>", "ask whether a user or mailbox exists (RFC 5321 §4.1.1.6)", "受信者の確認", false},
	{"EXPN", "EXPN <SP> <string> <CRLF>", "ask for the members of a mailing list (RFC 5321 §4.1.1.7)", "メーリングリストの会員アドレスの要求", false},
	{"HELP", "HELP [<SP> <string>] <CRLF>", "ask for help, on one command when it is named (RFC 5321 §4.1.1.8)", "ヘルプメッセージの要求", false},
	{"NOOP", "NOOP [<SP> <string>] <CRLF>", "do nothing; the server answers 250 (RFC 5321 §4.1.1.9)", "ダミーコマンド", false},
	{"QUIT", "QUIT <CRLF>", "end the session (RFC 5321 §4.1.1.10)", "処理の終了", false},
	{"STARTTLS", "STARTTLS <CRLF>", "start TLS on this connection (RFC 3207 §4)", "TLS による暗号化の開始 (RFC 3207)", false},
	{"AUTH", "AUTH <SP> <mechanism> [<SP> <initial-response>] <CRLF>", "authenticate with a SASL mechanism (RFC 4954 §4)", "SASL による認証 (RFC 4954)", false},
	{"SEND", "SEND <SP> FROM:<reverse-path> <CRLF>", "deliver to the user's terminal (RFC 821; removed by RFC 5321)", "発信者の指定 (端末への送信; RFC 5321 で廃止)", true},
	{"SOML", "SOML <SP> FROM:<reverse-path> <CRLF>", "send to the terminal or else mail (RFC 821; removed by RFC 5321)", "発信者の指定 (端末または配送; RFC 5321 で廃止)", true},
	{"SAML", "SAML <SP> FROM:<reverse-path> <CRLF>", "send to the terminal and mail (RFC 821; removed by RFC 5321)", "発信者の指定 (端末と配送; RFC 5321 で廃止)", true},
	{"TURN", "TURN <CRLF>", "swap the client and server roles (RFC 821; removed by RFC 5321)", "クライアントとサーバの役割の逆転 (RFC 5321 で廃止)", true},
}

// LookupVerb finds a command by name, in any case.
func LookupVerb(v string) (VerbInfo, bool) {
	for _, vi := range Verbs {
		if strings.EqualFold(vi.Verb, v) {
			return vi, true
		}
	}
	return VerbInfo{}, false
}

var httpVerbs = []string{"GET", "POST", "HEAD", "PUT", "CONNECT", "OPTIONS", "DELETE", "PATCH", "TRACE"}

// IsHTTPVerb says whether v is an HTTP method: a client that sends one is
// a browser or proxy being abused for a cross-protocol attack, and the
// server hangs up (docs/conventions.md habit 7).
func IsHTTPVerb(v string) bool {
	for _, h := range httpVerbs {
		if strings.EqualFold(h, v) {
			return true
		}
	}
	return false
}

// internedVerbs maps each known verb to one shared string, so that
// ParseCommand allocates nothing for them.
var internedVerbs = func() map[string]string {
	m := map[string]string{}
	for _, v := range Verbs {
		m[v.Verb] = v.Verb
	}
	for _, v := range httpVerbs {
		m[v] = v
	}
	return m
}()
