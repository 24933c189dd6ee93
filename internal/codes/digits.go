package codes

import "strconv"

// What each digit of a three-digit code says. For 1xx-5xx this is seed
// 000's table (RFC 5321 §4.2.1); for 6xx-8xx it is the grouping of seed
// 001's result codes (docs/spec.md §4.2, §4.3), where the second digit of a 62x-68x
// code says what went wrong and the third names the SMTP phase.

type digitText struct{ en, ja string }

var firstDigits = map[byte]digitText{
	'1': {"Positive Preliminary reply", "肯定的事前応答"},
	'2': {"Positive Completion reply", "肯定的完了応答"},
	'3': {"Positive Intermediate reply", "肯定的中間応答"},
	'4': {"Transient Negative Completion reply: try again later", "一時的な否定的完了応答:後で再試行"},
	'5': {"Permanent Negative Completion reply: do not repeat as is", "恒久的な否定的完了応答:同じ形では再試行しない"},
	'6': {"hikyaku result code (seed 001): connection or timeout", "配信結果コード(seed 001 独自コード):接続・タイムアウト"},
	'7': {"hikyaku result code (seed 001): DNS and routing", "配信結果コード(seed 001 独自コード):DNS・経路"},
	'8': {"hikyaku result code (seed 001): the recipient address", "配信結果コード(seed 001 独自コード):宛先アドレス"},
}

// replySecond is seed 000's x0x-x5x table; x3x and x4x are left
// unspecified by RFC 5321 §4.2.1.
var replySecond = map[byte]digitText{
	'0': {"Syntax: syntax errors, commands not implemented or out of place", "文法:文法エラーまたは未実装や不適切なコマンド"},
	'1': {"Information: replies to requests for information such as status or help", "情報:ステータスやヘルプ要求への応答"},
	'2': {"Connections: replies about the transmission channel", "接続:通信チャネルに関する応答"},
	'3': {"Unspecified", "未定義"},
	'4': {"Unspecified", "未定義"},
	'5': {"Mail system: the state of the receiving mail system", "メールシステム:受信側メールシステムの問題等のステータス"},
}

var replyThird = digitText{"finer gradation within the second digit's category", "2桁目の分類の中でのより細かな区別"}

var resultSecond = map[byte]map[byte]digitText{
	'6': {
		'0': {"outside the SMTP phases: connect, lost link, expiry, DNS servers, sockets (the third digit names the condition)", "SMTP の段階以外:接続、切断、期限切れ、DNS サーバ、ソケット(3桁目が条件を表す)"},
		'1': {"outside the SMTP phases: timeout (610), unusable address (611)", "SMTP の段階以外:タイムアウト(610)、配送に使えないアドレス(611)"},
		'2': {"connection lost while waiting for the reply (the third digit names the phase)", "応答待ち時にコネクションが切れた(3桁目が段階を表す)"},
		'4': {"timeout while waiting for the reply (the third digit names the phase)", "応答待ち時にタイムアウト(3桁目が段階を表す)"},
		'6': {"connection lost while sending (the third digit names the phase)", "送信時にコネクションが切れた(3桁目が段階を表す)"},
		'8': {"timeout while sending (the third digit names the phase)", "送信時にタイムアウト(3桁目が段階を表す)"},
	},
	'7': {
		'0': {"the recipient domain does not exist", "宛先ドメインが存在しない"},
		'1': {"the domain has no usable mail host", "ドメインに使えるメールホストがない"},
		'2': {"DNS answered with an error (transient)", "DNS がエラーを返した(一時的)"},
		'3': {"address loop", "アドレスループ"},
	},
	'8': {
		'0': {"the recipient address or account", "宛先アドレス・アカウント"},
		'5': {"refused by a rule on the recipient's side", "受信者側の拒否設定"},
	},
}

// The third digit of 62x/64x: the reply being waited for.
var waitingPhase = map[byte]digitText{
	'0': {"the opening greeting", "オープニング(接続時の挨拶)"},
	'1': {"the reply to HELO/EHLO", "HELO/EHLO の応答"},
	'2': {"the reply to MAIL FROM", "MAIL FROM(FROM)の応答"},
	'3': {"the reply to RCPT TO", "RCPT TO(RCPT)の応答"},
	'4': {"the reply to the DATA command", "DATA コマンドの応答"},
	'5': {"the reply to the end of data (the final dot)", "データ終端(END、最後のドット)の応答"},
	'7': {"the reply to RSET", "RSET の応答"},
}

// The third digit of 66x/68x: what was being sent. It differs from the
// waiting side: there is no greeting to send, and the DATA command (3) is
// told apart from the content (4).
var sendingPhase = map[byte]digitText{
	'0': {"sending HELO/EHLO", "HELO/EHLO の送信"},
	'1': {"sending MAIL FROM", "MAIL FROM(FROM)の送信"},
	'2': {"sending RCPT TO", "RCPT TO(RCPT)の送信"},
	'3': {"sending the DATA command", "DATA コマンド(DCMD)の送信"},
	'4': {"sending the message content", "メッセージ本文(DATA)の送信"},
	'5': {"sending the final dot", "最後のドット(DEND)の送信"},
	'6': {"sending QUIT", "QUIT の送信"},
	'7': {"sending RSET", "RSET の送信"},
}

var (
	notAssigned    = digitText{"not assigned", "未割り当て"}
	notInRFC       = digitText{"not defined by RFC 5321 (the second digit runs 0-5)", "RFC 5321 では定義されていない(2桁目は 0-5)"}
	resultThird    = digitText{"names the condition; see the code's meaning", "条件を表す(コードの意味を参照)"}
	groupThird     = digitText{"tells the codes of the group apart", "グループ内のコードを区別する"}
	digitPositions = [3]string{"first digit", "second digit", "third digit"}
)

// Digits explains a three-digit reply or result code digit by digit. It
// returns nil for anything that is not three digits starting with 1-8.
func Digits(code int) []Meaning {
	if code < 100 || code > 899 {
		return nil
	}
	return digitsOf(strconv.Itoa(code))
}

// digitsOf explains a three-character code where any position may be 'x'
// (seed 000's "5xx", "x5x"); positions given as 'x' are skipped.
func digitsOf(s string) []Meaning {
	if len(s) != 3 {
		return nil
	}
	var out []Meaning
	add := func(pos int, t digitText) {
		v := []byte("xxx")
		v[pos] = s[pos]
		out = append(out, Meaning{Part: digitPositions[pos], Value: string(v), EN: t.en, JA: t.ja})
	}
	first, second, third := s[0], s[1], s[2]
	if t, ok := firstDigits[first]; ok {
		add(0, t)
	}
	if second != 'x' {
		add(1, secondDigit(first, second))
	}
	if third != 'x' {
		add(2, thirdDigit(first, second, third))
	}
	return out
}

func secondDigit(first, second byte) digitText {
	switch {
	case first >= '1' && first <= '5':
		if t, ok := replySecond[second]; ok {
			return t
		}
		return notInRFC
	case first >= '6' && first <= '8':
		if t, ok := resultSecond[first][second]; ok {
			return t
		}
		return notAssigned
	}
	// First digit unknown ("x2x"): the reply-code meaning is the one a
	// reader of seed 000 asks for.
	if t, ok := replySecond[second]; ok {
		return t
	}
	return notAssigned
}

func thirdDigit(first, second, third byte) digitText {
	if first == '6' {
		var table map[byte]digitText
		switch second {
		case '0', '1':
			return resultThird
		case '2', '4':
			table = waitingPhase
		case '6', '8':
			table = sendingPhase
		default:
			return notAssigned
		}
		if t, ok := table[third]; ok {
			return t
		}
		return notAssigned
	}
	if first == '7' || first == '8' {
		return groupThird
	}
	return replyThird
}

// Phase is a step of an outgoing SMTP session, for the phase-exact result
// codes 62x-68x.
type Phase int

const (
	PhaseOther    Phase = iota // not a named phase (TLS handshake, …): 602 / 610
	PhaseGreeting              // the opening greeting
	PhaseHelo                  // HELO or EHLO
	PhaseMail                  // MAIL FROM
	PhaseRcpt                  // RCPT TO
	PhaseData                  // the DATA command (or BDAT)
	PhaseContent               // the message content
	PhaseDot                   // the final dot (end of data)
	PhaseQuit                  // QUIT
	PhaseRset                  // RSET
)

// Third digits per phase. A phase missing from a table has no code on that
// side: nothing is sent for the greeting, and seed 001 names no wait for a
// reply to the content (that is the final dot's) or to QUIT.
var (
	waitingDigit = map[Phase]int{PhaseGreeting: 0, PhaseHelo: 1, PhaseMail: 2, PhaseRcpt: 3, PhaseData: 4, PhaseDot: 5, PhaseRset: 7}
	sendingDigit = map[Phase]int{PhaseHelo: 0, PhaseMail: 1, PhaseRcpt: 2, PhaseData: 3, PhaseContent: 4, PhaseDot: 5, PhaseQuit: 6, PhaseRset: 7}
)

// ConnectionResult gives the result code for a connection lost (timeout
// false) or timed out (timeout true) in phase p, while sending (sending
// true) or while waiting for the reply. A phase with no code on that side
// falls back to 602 (lost) or 610 (timeout), as docs/spec.md §4.2 says.
func ConnectionResult(p Phase, timeout, sending bool) int {
	base, table := 620, waitingDigit
	if sending {
		base, table = 660, sendingDigit
	}
	if timeout {
		base += 20
	}
	d, ok := table[p]
	if !ok {
		if timeout {
			return 610
		}
		return 602
	}
	return base + d
}
