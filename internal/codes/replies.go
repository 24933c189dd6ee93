package codes

// The receiver's situations (docs/spec.md §2). Basic codes follow the seeds; the
// enhanced codes follow RFC 3463/5248 and the RFC named beside each. Texts
// say what happened; %s verbs are filled by the server.
var (
	Greeting          = Reply{"greeting", 220, "", "%s ESMTP hikyaku ready", "%s ESMTP hikyaku 準備完了"}
	ConnectDenied     = Reply{"connect_denied", 554, "5.7.1", "%s no SMTP service for you: client refused by policy", "ポリシーによりクライアントを拒否しました"}
	AfterDeny         = Reply{"after_deny", 503, "5.5.1", "no SMTP service here; only QUIT is accepted (RFC 5321 §3.1)", "SMTPサービスは提供していません。QUITのみ受け付けます"}
	TooManySessions   = Reply{"too_many_sessions", 421, "4.7.0", "%s too many sessions, try again later", "セッション数が上限を超えました。後で再試行してください"}
	TooManyFromIP     = Reply{"too_many_from_ip", 421, "4.7.0", "%s too many sessions from your address, try again later", "このアドレスからのセッション数が上限を超えました"}
	ShuttingDown      = Reply{"shutting_down", 421, "4.3.2", "%s service shutting down, closing connection", "サービス停止中のため接続を閉じます"}
	CommandTimeout    = Reply{"command_timeout", 421, "4.4.2", "%s timeout waiting for input, closing connection", "入力待ちでタイムアウトしたため接続を閉じます"}
	TooManyErrors     = Reply{"too_many_errors", 421, "4.7.0", "%s too many errors, closing connection", "エラーが多すぎるため接続を閉じます"}
	InternalError     = Reply{"internal_error", 421, "4.3.0", "%s internal error, closing connection", "内部エラーのため接続を閉じます"}
	HTTPRefused       = Reply{"http_refused", 421, "4.7.0", "%s this is an SMTP server, not HTTP; closing connection", "HTTPではなくSMTPサーバです。接続を閉じます"}
	HeloOK            = Reply{"helo_ok", 250, "", "%s Hello %s [%s]", "%s こんにちは %s [%s]"}
	HeloNoArg         = Reply{"helo_no_arg", 501, "5.5.4", "%s requires a domain name or address literal", "ドメイン名またはアドレスリテラルが必要です"}
	HeloBadArg        = Reply{"helo_bad_arg", 501, "5.5.4", "invalid domain in %s", "ドメインの書式が不正です"}
	HeloDuplicate     = Reply{"helo_duplicate", 503, "5.5.1", "%s duplicate %s", "HELO/EHLO が重複しています"}
	NeedHelo          = Reply{"need_helo", 503, "5.5.1", "send HELO or EHLO first", "先に HELO または EHLO を送ってください"}
	SenderOK          = Reply{"sender_ok", 250, "2.1.0", "<%s> sender ok", "送信者を受け付けました"}
	SenderAlready     = Reply{"sender_already", 503, "5.5.1", "sender already specified", "送信者は指定済みです"}
	NeedMail          = Reply{"need_mail", 503, "5.5.1", "need MAIL before RCPT", "RCPT の前に MAIL が必要です"}
	NeedRcpt          = Reply{"need_rcpt", 503, "5.5.1", "need RCPT before %s", "先に RCPT で受信者を指定してください"}
	RcptOK            = Reply{"rcpt_ok", 250, "2.1.5", "<%s> recipient ok", "受信者を受け付けました"}
	RcptForward       = Reply{"rcpt_forward", 251, "2.1.5", "user not local; will forward to <%s>", "ローカルユーザではありません。<転送先>に転送します"}
	RcptMoved         = Reply{"rcpt_moved", 551, "5.1.6", "user not local; please try <%s>", "ユーザはここにいません。<転送先>に送ってください"}
	RcptUnknownUser   = Reply{"rcpt_unknown_user", 550, "5.1.1", "<%s> no such user here", "そのユーザは存在しません"}
	RcptRelayDenied   = Reply{"rcpt_relay_denied", 550, "5.7.1", "<%s> relaying not permitted", "中継は許可されていません"}
	RcptNullMX        = Reply{"rcpt_null_mx", 556, "5.1.10", "<%s> domain does not accept mail (null MX, RFC 7505)", "宛先ドメインはメールを受け付けていません (null MX)"}
	TooManyRcpts      = Reply{"too_many_rcpts", 452, "4.5.3", "too many recipients in this transaction; send the rest in another", "受信者数が上限を超えました。残りは別のトランザクションで送ってください"}
	QuotaTransient    = Reply{"quota_transient", 452, "4.2.2", "<%s> mailbox full, try again later", "メールボックスが容量を超えています。後で再試行してください"}
	QuotaPermanent    = Reply{"quota_permanent", 552, "5.2.2", "<%s> mailbox full", "メールボックスが容量を超えています"}
	BadSenderSyntax   = Reply{"bad_sender_syntax", 501, "5.1.7", "bad sender address syntax: %s", "送信者アドレスの書式が不正です"}
	BadRcptSyntax     = Reply{"bad_rcpt_syntax", 501, "5.1.3", "bad recipient address syntax: %s", "受信者アドレスの書式が不正です"}
	BadCommandSyntax  = Reply{"bad_command_syntax", 501, "5.5.4", "syntax error: %s", "コマンドの書式が不正です"}
	SenderUTF8Needed  = Reply{"sender_utf8_needed", 550, "5.6.7", "non-ASCII sender address needs the SMTPUTF8 parameter", "非ASCIIの送信者アドレスには SMTPUTF8 パラメータが必要です"}
	RcptUTF8Needed    = Reply{"rcpt_utf8_needed", 553, "5.6.7", "non-ASCII recipient address needs SMTPUTF8 on MAIL", "非ASCIIの受信者アドレスには MAIL の SMTPUTF8 が必要です"}
	UnknownParam      = Reply{"unknown_param", 555, "5.5.4", "parameter not recognised or not implemented: %s", "未対応のパラメータです"}
	SizeExceeded      = Reply{"size_exceeded", 552, "5.3.4", "message size exceeds fixed limit of %d octets", "メッセージサイズが上限を超えています"}
	SizeNoSpace       = Reply{"size_no_space", 452, "4.3.1", "insufficient system storage for a message of that size now", "現在そのサイズのメッセージを保存する空き容量がありません"}
	SenderDenied      = Reply{"sender_denied", 550, "5.7.1", "sender <%s> refused by policy", "ポリシーにより送信者を拒否しました"}
	ContentRejected   = Reply{"content_rejected", 554, "5.7.1", "message content rejected", "メッセージの内容により拒否しました"}
	TooManyHops       = Reply{"too_many_hops", 554, "5.4.6", "too many Received header fields (%d, limit %d): mail loop?", "Received ヘッダが多すぎます (ループの可能性)"}
	StartData         = Reply{"start_data", 354, "", "start mail input; end with <CRLF>.<CRLF>", "メールの入力を開始してください。<CRLF>.<CRLF> で終了します"}
	DataAfterBdat     = Reply{"data_after_bdat", 503, "5.5.1", "DATA not allowed after BDAT in one transaction", "同じトランザクションで BDAT の後に DATA は使えません"}
	BdatOK            = Reply{"bdat_ok", 250, "2.0.0", "%d octets received", "チャンクを受け取りました"}
	BdatBadSize       = Reply{"bdat_bad_size", 501, "5.5.4", "BDAT needs a chunk size and optional LAST", "BDAT にはチャンクサイズが必要です"}
	MessageStored     = Reply{"message_stored", 250, "2.0.0", "OK id=%s", "メッセージを受け付けました"}
	StorageError      = Reply{"storage_error", 451, "4.3.0", "local error in processing; message not stored, try again later", "処理中にエラーが発生し、メッセージは保存されていません"}
	DiskFull          = Reply{"disk_full", 452, "4.3.1", "insufficient system storage; message not stored, try again later", "記憶領域が不足しているため保存できません"}
	BareLineEnding    = Reply{"bare_line_ending", 554, "5.6.0", "message contains a bare CR or LF; only CRLF ends a line (RFC 5321 §2.3.8); nothing stored", "メッセージに単独の CR/LF が含まれています。保存していません"}
	ResetOK           = Reply{"reset_ok", 250, "2.0.0", "reset state", "状態をリセットしました"}
	NoopOK            = Reply{"noop_ok", 250, "2.0.0", "OK", "NOOP を受け付けました"}
	Closing           = Reply{"closing", 221, "2.0.0", "%s closing connection", "接続を閉じます"}
	VrfyCannot        = Reply{"vrfy_cannot", 252, "2.5.0", "cannot VRFY user, but will accept message and attempt delivery", "ユーザは確認できませんが、メッセージは受け取って配送を試みます"}
	VrfyOK            = Reply{"vrfy_ok", 250, "2.1.5", "%s", "ユーザを確認しました"}
	VrfyUnknown       = Reply{"vrfy_unknown", 550, "5.1.1", "%s: no such user here", "そのユーザは存在しません"}
	VrfyDisabled      = Reply{"vrfy_disabled", 502, "5.5.1", "VRFY is disabled here", "VRFY は無効にされています"}
	VrfyNoArg         = Reply{"vrfy_no_arg", 501, "5.5.4", "VRFY needs a user name or address", "VRFY にはユーザ名またはアドレスが必要です"}
	ExpnMember        = Reply{"expn_member", 250, "2.1.5", "%s", "メーリングリストの会員です"}
	ExpnUnknown       = Reply{"expn_unknown", 550, "5.1.1", "%s: no such list here", "そのメーリングリストは存在しません"}
	ExpnDisabled      = Reply{"expn_disabled", 502, "5.5.1", "EXPN is disabled here", "EXPN は無効にされています"}
	HelpText          = Reply{"help", 214, "2.0.0", "%s", "ヘルプ"}
	HelpUnknown       = Reply{"help_unknown", 504, "5.5.4", "HELP topic %q unknown", "そのヘルプ項目はありません"}
	NotImplemented    = Reply{"not_implemented", 502, "5.5.1", "%s command not implemented (removed by RFC 5321)", "そのコマンドは実装されていません"}
	UnknownCommand    = Reply{"unknown_command", 500, "5.5.2", "command unrecognized: %q", "コマンドを認識できません"}
	LineTooLong       = Reply{"line_too_long", 500, "5.5.2", "command line too long (limit %d octets including CRLF)", "コマンド行が長すぎます"}
	BareLFCommand     = Reply{"bare_lf_command", 500, "5.5.2", "command line contains a bare CR or LF; end lines with CRLF", "コマンド行に単独の CR/LF が含まれています"}
	NoArgAllowed      = Reply{"no_arg_allowed", 501, "5.5.4", "%s takes no argument", "このコマンドは引数を取りません"}
	StartTLSReady     = Reply{"starttls_ready", 220, "2.0.0", "ready to start TLS", "TLS を開始してください"}
	StartTLSNotHere   = Reply{"starttls_not_here", 502, "5.5.1", "STARTTLS not offered here", "STARTTLS は提供していません"}
	StartTLSActive    = Reply{"starttls_active", 503, "5.5.1", "TLS already active", "TLS は既に有効です"}
	StartTLSTemp      = Reply{"starttls_temp", 454, "4.7.0", "TLS not available due to temporary reason", "一時的な理由で TLS を利用できません"}
	TLSRequired       = Reply{"tls_required", 530, "5.7.0", "must issue a STARTTLS command first", "先に STARTTLS を実行してください"}
	AuthNotNow        = Reply{"auth_not_now", 503, "5.5.1", "%s", "今は AUTH を実行できません"}
	AuthChallenge     = Reply{"auth_challenge", 334, "", "%s", "認証チャレンジ"}
	AuthOK            = Reply{"auth_ok", 235, "2.7.0", "authentication successful", "認証に成功しました"}
	AuthFailed        = Reply{"auth_failed", 535, "5.7.8", "authentication credentials invalid", "認証情報が正しくありません"}
	AuthUnknownMech   = Reply{"auth_unknown_mech", 504, "5.5.4", "unrecognized authentication mechanism %q", "未対応の認証方式です"}
	AuthCancelled     = Reply{"auth_cancelled", 501, "5.7.0", "authentication cancelled", "認証はキャンセルされました"}
	AuthNeedsTLS      = Reply{"auth_needs_tls", 538, "5.7.11", "encryption required for requested authentication mechanism", "この認証方式には暗号化が必要です"}
	AuthBadBase64     = Reply{"auth_bad_base64", 501, "5.5.2", "cannot decode base64 response", "base64 の応答を復号できません"}
	AuthTooWeak       = Reply{"auth_too_weak", 534, "5.7.9", "authentication mechanism is too weak", "認証方式が弱すぎます"}
	AuthTempFail      = Reply{"auth_temp_fail", 454, "4.7.0", "temporary authentication failure", "一時的に認証できません"}
	AuthLineTooLong   = Reply{"auth_line_too_long", 500, "5.5.6", "authentication exchange line too long", "認証の応答行が長すぎます"}
	AuthRequired      = Reply{"auth_required", 530, "5.7.0", "authentication required", "認証が必要です"}
	SenderNotOwned    = Reply{"sender_not_owned", 553, "5.7.1", "<%s> not owned by user %s", "その送信者アドレスはこのユーザのものではありません"}
	SPFFail           = Reply{"spf_fail", 550, "5.7.23", "SPF check failed for %s", "SPF 検証に失敗しました"}
	SPFTempError      = Reply{"spf_temp_error", 451, "4.7.24", "SPF temporary error for %s, try again later", "SPF の一時的なエラーです"}
	SPFPermError      = Reply{"spf_perm_error", 550, "5.7.24", "SPF permanent error for %s", "SPF の恒久的なエラーです"}
	ClientDenied      = Reply{"client_denied", 550, "5.7.1", "client %s refused by policy", "ポリシーによりクライアントを拒否しました"}
	HeloDenied        = Reply{"helo_denied", 550, "5.7.1", "HELO name %s refused by policy", "ポリシーにより HELO 名を拒否しました"}
	RcptDenied        = Reply{"rcpt_denied", 550, "5.7.1", "recipient <%s> refused by policy", "ポリシーにより受信者を拒否しました"}
	ConnRateExceeded  = Reply{"conn_rate_exceeded", 421, "4.7.0", "%s too many connections from your address, try again later", "このアドレスからの接続が多すぎます。後で再試行してください"}
	MsgRateExceeded   = Reply{"msg_rate_exceeded", 451, "4.7.0", "too many messages from your address, slow down and try again later", "このアドレスからのメッセージが多すぎます"}
	ContentTempFail   = Reply{"content_temp_fail", 451, "4.7.1", "message content could not be checked now, try again later", "メッセージの検査が一時的にできません"}
	EhloKeywordsFirst = Reply{"ehlo_ok", 250, "", "%s Hello %s [%s]", "%s こんにちは %s [%s]"}
	StartTLSInTx      = Reply{"starttls_in_tx", 503, "5.5.1", "STARTTLS not allowed during a mail transaction", "メールトランザクション中は STARTTLS を使えません"}
	AuthThrottled     = Reply{"auth_throttled", 454, "4.7.0", "too many failed authentications, try again later", "認証の失敗が多すぎます。後で再試行してください"}
	AuthNoInitial     = Reply{"auth_no_initial", 501, "5.5.4", "%s takes no initial response", "この認証方式は初期応答を取りません"}
	RcptCheckLater    = Reply{"rcpt_check_later", 451, "4.3.0", "<%s> cannot be checked now, try again later", "受信者を現在確認できません。後で再試行してください"}
)

var allReplies = []Reply{
	Greeting, ConnectDenied, AfterDeny, TooManySessions, TooManyFromIP, ShuttingDown,
	CommandTimeout, TooManyErrors, InternalError, HTTPRefused, HeloOK, HeloNoArg, HeloBadArg,
	HeloDuplicate, NeedHelo, SenderOK, SenderAlready, NeedMail, NeedRcpt, RcptOK,
	RcptForward, RcptMoved, RcptUnknownUser, RcptRelayDenied, RcptNullMX, TooManyRcpts,
	QuotaTransient, QuotaPermanent, BadSenderSyntax, BadRcptSyntax, BadCommandSyntax,
	SenderUTF8Needed, RcptUTF8Needed, UnknownParam, SizeExceeded, SizeNoSpace,
	SenderDenied, ContentRejected, TooManyHops, StartData, DataAfterBdat, BdatOK,
	BdatBadSize, MessageStored, StorageError, DiskFull, BareLineEnding, ResetOK, NoopOK,
	Closing, VrfyCannot, VrfyOK, VrfyUnknown, VrfyDisabled, VrfyNoArg, ExpnMember,
	ExpnUnknown, ExpnDisabled, HelpText, HelpUnknown, NotImplemented, UnknownCommand,
	LineTooLong, BareLFCommand, NoArgAllowed, StartTLSReady, StartTLSNotHere,
	StartTLSActive, StartTLSTemp, TLSRequired, AuthNotNow, AuthChallenge, AuthOK,
	AuthFailed, AuthUnknownMech, AuthCancelled, AuthNeedsTLS, AuthBadBase64, AuthTooWeak,
	AuthTempFail, AuthLineTooLong, AuthRequired, SenderNotOwned, SPFFail, SPFTempError,
	SPFPermError, ClientDenied, HeloDenied, RcptDenied, ConnRateExceeded, MsgRateExceeded, ContentTempFail, EhloKeywordsFirst, StartTLSInTx,
	AuthThrottled, AuthNoInitial, RcptCheckLater,
}
