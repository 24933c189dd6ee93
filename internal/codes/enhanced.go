package codes

// Enhanced status codes: RFC 3463 and the IANA "SMTP Enhanced Status Codes"
// registry it became (RFC 5248), with every later registration through
// X.7.30. Stored in the registry's "X.subject.detail" form; EN is the
// registry's title. Reason follows Sisimai's own table of status codes
// (its permanent form) where Sisimai has one.

const (
	rfc3463s1 = "RFC 3463 §3.2"
	rfc3463s2 = "RFC 3463 §3.3"
	rfc3463s3 = "RFC 3463 §3.4"
	rfc3463s4 = "RFC 3463 §3.5"
	rfc3463s5 = "RFC 3463 §3.6"
	rfc3463s6 = "RFC 3463 §3.7"
	rfc3463s7 = "RFC 3463 §3.8"
)

var enhancedCodes = []Enhanced{
	{Status: "X.0.0", Ref: "RFC 3463 §3.1",
		EN: "Other undefined Status", JA: "その他の未定義のステータス"},

	{Status: "X.1.0", Ref: rfc3463s1, Reason: "userunknown",
		EN: "Other address status", JA: "その他のアドレスのステータス"},
	{Status: "X.1.1", Ref: rfc3463s1, Reason: "userunknown",
		EN: "Bad destination mailbox address", JA: "宛先メールボックスのアドレスが不正(存在しない)"},
	{Status: "X.1.2", Ref: rfc3463s1, Reason: "hostunknown",
		EN: "Bad destination system address", JA: "宛先システムのアドレスが不正(ドメインが存在しないかメールを受け付けない)"},
	{Status: "X.1.3", Ref: rfc3463s1, Reason: "userunknown",
		EN: "Bad destination mailbox address syntax", JA: "宛先メールボックスのアドレスの書式が不正"},
	{Status: "X.1.4", Ref: rfc3463s1, Reason: "filtered",
		EN: "Destination mailbox address ambiguous", JA: "宛先メールボックスのアドレスが曖昧"},
	{Status: "X.1.5", Ref: rfc3463s1, Reason: "delivered",
		EN: "Destination address valid", JA: "宛先アドレスは有効"},
	{Status: "X.1.6", Ref: rfc3463s1, Reason: "hasmoved",
		EN: "Destination mailbox has moved, No forwarding address", JA: "宛先メールボックスは移動した(転送先なし)"},
	{Status: "X.1.7", Ref: rfc3463s1, Reason: "rejected",
		EN: "Bad sender's mailbox address syntax", JA: "送信者メールボックスのアドレスの書式が不正"},
	{Status: "X.1.8", Ref: rfc3463s1, Reason: "rejected",
		EN: "Bad sender's system address", JA: "送信者システムのアドレスが不正"},
	{Status: "X.1.9", Ref: "RFC 3886; RFC 5248", Reason: "systemerror",
		EN: "Message relayed to non-compliant mailer", JA: "メッセージは(DSN に)非対応のメーラーに中継された"},
	{Status: "X.1.10", Ref: "RFC 7505", Reason: "notaccept",
		EN: "Recipient address has null MX", JA: "宛先アドレスのドメインは null MX を公開している"},

	{Status: "X.2.0", Ref: rfc3463s2, Reason: "filtered",
		EN: "Other or undefined mailbox status", JA: "その他・未定義のメールボックスのステータス"},
	{Status: "X.2.1", Ref: rfc3463s2, Reason: "suspend",
		EN: "Mailbox disabled, not accepting messages", JA: "メールボックスが無効で、メッセージを受け付けない"},
	{Status: "X.2.2", Ref: rfc3463s2, Reason: "mailboxfull",
		EN: "Mailbox full", JA: "メールボックスが満杯"},
	{Status: "X.2.3", Ref: rfc3463s2, Reason: "exceedlimit",
		EN: "Message length exceeds administrative limit", JA: "メッセージの長さが(メールボックスの)管理上の上限を超えている"},
	{Status: "X.2.4", Ref: rfc3463s2, Reason: "filtered",
		EN: "Mailing list expansion problem", JA: "メーリングリストの展開に問題がある"},

	{Status: "X.3.0", Ref: rfc3463s3, Reason: "systemerror",
		EN: "Other or undefined mail system status", JA: "その他・未定義のメールシステムのステータス"},
	{Status: "X.3.1", Ref: rfc3463s3, Reason: "systemfull",
		EN: "Mail system full", JA: "メールシステムの記憶領域が満杯"},
	{Status: "X.3.2", Ref: rfc3463s3, Reason: "notaccept",
		EN: "System not accepting network messages", JA: "システムがネットワークからのメッセージを受け付けていない"},
	{Status: "X.3.3", Ref: rfc3463s3, Reason: "systemerror",
		EN: "System not capable of selected features", JA: "システムが指定された機能に対応していない"},
	{Status: "X.3.4", Ref: rfc3463s3, Reason: "mesgtoobig",
		EN: "Message too big for system", JA: "メッセージがシステムの上限より大きい"},
	{Status: "X.3.5", Ref: rfc3463s3, Reason: "systemerror",
		EN: "System incorrectly configured", JA: "システムの設定が誤っている"},
	{Status: "X.3.6", Ref: "RFC 6710",
		EN: "Requested priority was changed", JA: "要求した優先度が変更された"},

	{Status: "X.4.0", Ref: rfc3463s4, Reason: "networkerror",
		EN: "Other or undefined network or routing status", JA: "その他・未定義のネットワーク・経路のステータス"},
	{Status: "X.4.1", Ref: rfc3463s4, Reason: "networkerror",
		EN: "No answer from host", JA: "ホストから応答がない"},
	{Status: "X.4.2", Ref: rfc3463s4, Reason: "networkerror",
		EN: "Bad connection", JA: "接続不良"},
	{Status: "X.4.3", Ref: rfc3463s4, Reason: "systemerror",
		EN: "Directory server failure", JA: "ディレクトリサーバ(DNS など)の障害"},
	{Status: "X.4.4", Ref: rfc3463s4, Reason: "hostunknown",
		EN: "Unable to route", JA: "経路を決定できない"},
	{Status: "X.4.5", Ref: rfc3463s4, Reason: "systemfull",
		EN: "Mail system congestion", JA: "メールシステムの輻輳"},
	{Status: "X.4.6", Ref: rfc3463s4, Reason: "networkerror",
		EN: "Routing loop detected", JA: "配送ループを検出した"},
	{Status: "X.4.7", Ref: rfc3463s4, Reason: "expired",
		EN: "Delivery time expired", JA: "配送期限切れ"},

	{Status: "X.5.0", Ref: rfc3463s5,
		EN: "Other or undefined protocol status", JA: "その他・未定義のプロトコルのステータス"},
	{Status: "X.5.1", Ref: rfc3463s5, Reason: "syntaxerror",
		EN: "Invalid command", JA: "不正なコマンド(順序違いまたは未対応)"},
	{Status: "X.5.2", Ref: rfc3463s5, Reason: "syntaxerror",
		EN: "Syntax error", JA: "文法エラー"},
	{Status: "X.5.3", Ref: rfc3463s5, Reason: "toomanyconn",
		EN: "Too many recipients", JA: "受信者が多すぎる"},
	{Status: "X.5.4", Ref: rfc3463s5, Reason: "systemerror",
		EN: "Invalid command arguments", JA: "コマンドの引数が不正"},
	{Status: "X.5.5", Ref: rfc3463s5, Reason: "systemerror",
		EN: "Wrong protocol version", JA: "プロトコルのバージョンが合わない"},
	{Status: "X.5.6", Ref: "RFC 4954 §6", Reason: "syntaxerror",
		EN: "Authentication Exchange line is too long", JA: "認証のやり取りの行が長すぎる"},

	{Status: "X.6.0", Ref: rfc3463s6, Reason: "contenterror",
		EN: "Other or undefined media error", JA: "その他・未定義のメディアのエラー"},
	{Status: "X.6.1", Ref: rfc3463s6, Reason: "contenterror",
		EN: "Media not supported", JA: "メディアに対応していない"},
	{Status: "X.6.2", Ref: rfc3463s6, Reason: "contenterror",
		EN: "Conversion required and prohibited", JA: "変換が必要だが禁止されている"},
	{Status: "X.6.3", Ref: rfc3463s6, Reason: "contenterror",
		EN: "Conversion required but not supported", JA: "変換が必要だが対応していない"},
	{Status: "X.6.4", Ref: rfc3463s6, Reason: "contenterror",
		EN: "Conversion with loss performed", JA: "情報の欠落を伴う変換を行った"},
	{Status: "X.6.5", Ref: rfc3463s6, Reason: "contenterror",
		EN: "Conversion Failed", JA: "変換に失敗した"},
	{Status: "X.6.6", Ref: "RFC 4468", Reason: "contenterror",
		EN: "Message content not available", JA: "メッセージの内容を取得できない"},
	{Status: "X.6.7", Ref: "RFC 6531", Reason: "contenterror",
		EN: "Non-ASCII addresses not permitted for that sender/recipient", JA: "その送信者・受信者には非ASCIIアドレスを使えない"},
	{Status: "X.6.8", Ref: "RFC 6531", Reason: "contenterror",
		EN: "UTF-8 string reply is required, but not permitted by the SMTP client", JA: "UTF-8 の応答が必要だが SMTP クライアントが許可していない"},
	{Status: "X.6.9", Ref: "RFC 6531", Reason: "contenterror",
		EN: "UTF-8 header message cannot be transferred to one or more recipients, so the message must be rejected", JA: "UTF-8 ヘッダのメッセージを一部の受信者に転送できないため拒否する"},
	{Status: "X.6.10", Ref: "RFC 6531 (deprecated in the registry)", Reason: "contenterror",
		EN: "Duplicate of X.6.8, deprecated", JA: "X.6.8 と重複するため廃止"},

	{Status: "X.7.0", Ref: rfc3463s7, Reason: "securityerror",
		EN: "Other or undefined security status", JA: "その他・未定義のセキュリティのステータス"},
	{Status: "X.7.1", Ref: rfc3463s7, Reason: "securityerror",
		EN: "Delivery not authorized, message refused", JA: "配送が許可されず、メッセージを拒否した"},
	{Status: "X.7.2", Ref: rfc3463s7, Reason: "securityerror",
		EN: "Mailing list expansion prohibited", JA: "メーリングリストの展開が禁止されている"},
	{Status: "X.7.3", Ref: rfc3463s7, Reason: "securityerror",
		EN: "Security conversion required but not possible", JA: "セキュリティ方式の変換が必要だが不可能"},
	{Status: "X.7.4", Ref: rfc3463s7, Reason: "securityerror",
		EN: "Security features not supported", JA: "セキュリティ機能に対応していない"},
	{Status: "X.7.5", Ref: rfc3463s7, Reason: "securityerror",
		EN: "Cryptographic failure", JA: "暗号処理に失敗した"},
	{Status: "X.7.6", Ref: rfc3463s7, Reason: "securityerror",
		EN: "Cryptographic algorithm not supported", JA: "暗号アルゴリズムに対応していない"},
	{Status: "X.7.7", Ref: rfc3463s7, Reason: "securityerror",
		EN: "Message integrity failure", JA: "メッセージの完全性の検証に失敗した"},
	{Status: "X.7.8", Ref: "RFC 4954 §6", Reason: "securityerror",
		EN: "Authentication credentials invalid", JA: "認証情報が正しくない"},
	{Status: "X.7.9", Ref: "RFC 4954 §6", Reason: "securityerror",
		EN: "Authentication mechanism is too weak", JA: "認証方式が弱すぎる"},
	{Status: "X.7.10", Ref: "RFC 5248", Reason: "securityerror",
		EN: "Encryption Needed", JA: "暗号化が必要"},
	{Status: "X.7.11", Ref: "RFC 4954 §6", Reason: "securityerror",
		EN: "Encryption required for requested authentication mechanism", JA: "要求された認証方式には暗号化が必要"},
	{Status: "X.7.12", Ref: "RFC 4954 §6", Reason: "securityerror",
		EN: "A password transition is needed", JA: "パスワードの移行が必要"},
	{Status: "X.7.13", Ref: "RFC 5248", Reason: "suspend",
		EN: "User Account Disabled", JA: "ユーザアカウントが無効"},
	{Status: "X.7.14", Ref: "RFC 5248; RFC 4468", Reason: "securityerror",
		EN: "Trust relationship required", JA: "信頼関係の設定が必要"},
	{Status: "X.7.15", Ref: "RFC 6710", Reason: "securityerror",
		EN: "Priority Level is too low", JA: "優先度が低すぎる"},
	{Status: "X.7.16", Ref: "RFC 6710", Reason: "mesgtoobig",
		EN: "Message is too big for the specified priority", JA: "指定した優先度にはメッセージが大きすぎる"},
	{Status: "X.7.17", Ref: "RFC 7293", Reason: "hasmoved",
		EN: "Mailbox owner has changed", JA: "メールボックスの所有者が変わった"},
	{Status: "X.7.18", Ref: "RFC 7293", Reason: "hasmoved",
		EN: "Domain owner has changed", JA: "ドメインの所有者が変わった"},
	{Status: "X.7.19", Ref: "RFC 7293", Reason: "securityerror",
		EN: "RRVS test cannot be completed", JA: "RRVS(受信者の有効開始日時)の検査を完了できない"},
	{Status: "X.7.20", Ref: "RFC 7372 §3.1", Reason: "authfailure",
		EN: "No passing DKIM signature found", JA: "検証に合格した DKIM 署名がない"},
	{Status: "X.7.21", Ref: "RFC 7372 §3.1", Reason: "authfailure",
		EN: "No acceptable DKIM signature found", JA: "受け入れ可能な DKIM 署名がない"},
	{Status: "X.7.22", Ref: "RFC 7372 §3.1", Reason: "authfailure",
		EN: "No valid author-matched DKIM signature found", JA: "作成者(From)と一致する有効な DKIM 署名がない"},
	{Status: "X.7.23", Ref: "RFC 7372 §3.2", Reason: "authfailure",
		EN: "SPF validation failed", JA: "SPF 検証に失敗した"},
	{Status: "X.7.24", Ref: "RFC 7372 §3.2", Reason: "authfailure",
		EN: "SPF validation error", JA: "SPF 検証でエラーが発生した"},
	{Status: "X.7.25", Ref: "RFC 7372 §3.3", Reason: "requireptr",
		EN: "Reverse DNS validation failed", JA: "逆引き DNS の検証に失敗した"},
	{Status: "X.7.26", Ref: "RFC 7372 §3.4", Reason: "authfailure",
		EN: "Multiple authentication checks failed", JA: "複数の認証検査に失敗した"},
	{Status: "X.7.27", Ref: "RFC 7505", Reason: "notaccept",
		EN: "Sender address has null MX", JA: "送信者アドレスのドメインは null MX を公開している"},
	{Status: "X.7.28", Ref: "IANA SMTP Enhanced Status Codes registry", Reason: "spamdetected",
		EN: "Mail flood detected", JA: "同様の迷惑メールの大量送信(メールフラッド)の一部と判断された"},
	{Status: "X.7.29", Ref: "RFC 8617", Reason: "authfailure",
		EN: "ARC validation failure", JA: "ARC 検証に失敗した"},
	{Status: "X.7.30", Ref: "RFC 8689", Reason: "failedstarttls",
		EN: "REQUIRETLS support required", JA: "REQUIRETLS への対応が必要"},
}

// Meaning is what one digit, or one part, of a code says.
type Meaning struct {
	Part  string `json:"part"`  // "class", "subject", "detail", "first digit", "second digit", "third digit", "range"
	Value string `json:"value"` // the part in pattern form: "5xx", "x5x", "5.x.x", "X.7.x"
	EN    string `json:"en"`
	JA    string `json:"ja"`
}

// enhancedClasses are the registry's class sub-codes (RFC 3463 §2).
var enhancedClasses = map[string]Meaning{
	"2": {Part: "class", Value: "2.x.x", EN: "Success: the report is of a positive delivery action",
		JA: "成功:配送に成功したことを示す"},
	"4": {Part: "class", Value: "4.x.x", EN: "Persistent Transient Failure: the message is valid, but a lasting temporary condition stopped delivery; sending later may succeed",
		JA: "持続的な一時的失敗:メッセージは正しいが、一時的な状態が続いて配送できなかった。後で再送すれば成功する可能性がある"},
	"5": {Part: "class", Value: "5.x.x", EN: "Permanent Failure: resending the message as it is will not succeed; the message or the destination must change",
		JA: "恒久的失敗:同じ形で再送しても成功しない。メッセージか宛先を変える必要がある"},
}

// enhancedSubjects are the registry's subject sub-codes (RFC 3463 §2).
var enhancedSubjects = map[string]Meaning{
	"0": {Part: "subject", Value: "X.0.x", EN: "Other or Undefined Status: no more subject information",
		JA: "その他・未定義のステータス:主題の情報なし"},
	"1": {Part: "subject", Value: "X.1.x", EN: "Addressing Status: the originator or destination address (syntax or validity)",
		JA: "アドレスのステータス:送信者または宛先のアドレス(書式や有効性)"},
	"2": {Part: "subject", Value: "X.2.x", EN: "Mailbox Status: the recipient's mailbox, under the recipient's control",
		JA: "メールボックスのステータス:受信者のメールボックス(受信者側で管理される)"},
	"3": {Part: "subject", Value: "X.3.x", EN: "Mail System Status: the destination system, under its administrator's control",
		JA: "メールシステムのステータス:宛先のシステム(その管理者が管理する)"},
	"4": {Part: "subject", Value: "X.4.x", EN: "Network and Routing Status: the delivery system itself, including DNS and routing",
		JA: "ネットワークと経路のステータス:DNS や経路を含む配送の仕組み自体"},
	"5": {Part: "subject", Value: "X.5.x", EN: "Mail Delivery Protocol Status: the delivery protocol (SMTP commands and their syntax)",
		JA: "メール配送プロトコルのステータス:配送プロトコル(SMTP コマンドとその文法)"},
	"6": {Part: "subject", Value: "X.6.x", EN: "Message Content or Media Status: the content, its media type or conversion",
		JA: "メッセージ内容・メディアのステータス:内容、メディアタイプ、変換"},
	"7": {Part: "subject", Value: "X.7.x", EN: "Security or Policy Status: policy, filtering, authentication and cryptography",
		JA: "セキュリティ・ポリシーのステータス:ポリシー、フィルタ、認証、暗号"},
}

// EnhancedClass explains the class part of an enhanced status code ("2",
// "4" or "5").
func EnhancedClass(class string) (Meaning, bool) {
	m, ok := enhancedClasses[class]
	return m, ok
}

// EnhancedSubject explains the subject part of an enhanced status code
// ("0" to "7").
func EnhancedSubject(subject string) (Meaning, bool) {
	m, ok := enhancedSubjects[subject]
	return m, ok
}
