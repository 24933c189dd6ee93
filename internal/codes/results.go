package codes

// Result codes of seed 001 (docs/spec.md §4.2-4.4): the outcomes hikyaku's delivery
// engine records itself. JA is seed 001's 内容 column kept exactly as the
// seed writes it (stray spaces included, so that a grep for the seed's text
// finds it), except where the seed has an English placeholder instead of a
// meaning ("DNS Error 1", "MySQL DB init faild"): there JA says what the
// code means in Japanese, since reports show it to operators (issue 13),
// and Seed keeps the seed's text. DetailJA starts with seed 001's 原因
// column where it has one. Blame is seed 001's 問題箇所 (ユーザ → user, システム → system);
// Weight is its カウント in tenths; Status is the DSN status docs/spec.md assigns.

const (
	refConn   = "docs/seeds/001-delivery-result-codes.txt; docs/spec.md §4.2"
	refDNS    = "docs/seeds/001-delivery-result-codes.txt; docs/spec.md §4.3"
	refSystem = "docs/seeds/001-delivery-result-codes.txt; docs/spec.md §4.4"
	refBounce = "docs/bounce.md, in the scheme of docs/seeds/001-delivery-result-codes.txt"

	// seed 001's 原因 for most phase codes.
	causeLoadJA = "サーバが高負荷またはシステム障害の可能性"
	causeLoadEN = "The remote server may be overloaded or failing."
	// seed 001's 原因 for 625 and 644.
	causeLongJA = "1行1,000Byte以上の文字が本文に存在する。サーバが高負荷またはシステム障害の可能性"
	causeLongEN = "The body may hold a line of 1,000 bytes or more; or the remote server is overloaded or failing."
	// For phase codes where seed 001 gives no cause.
	causeCutJA = "相手サーバが応答の前に接続を切った。サーバが高負荷またはシステム障害の可能性"
	causeCutEN = "The remote server closed the connection before answering; it may be overloaded or failing."
	// seed 001's 原因 for 700-730.
	causeDNSJA = "MXレコード等の参照ができず、名前解決ができない システム側設定の問題"
	causeDNSEN = "MX or other records could not be looked up, so the name does not resolve; check the DNS settings on the system's side too."
	// seed 001's 原因 for -500 and -501.
	causeNoCodeJA = "バウンスメール内にエラーコードが入っていないか、取得できなかった。障害ではない。"
)

var connCodes = []Code{
	{Code: 601, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.1", Reason: "networkerror", Ref: refConn,
		EN: "Could not connect to any MX host", JA: "相手先のメールサーバに接続できない",
		DetailEN: "Every mail host refused the connection, was unreachable, or did not answer the connect in time; retried later.",
		DetailJA: "どのメールサーバにも接続できなかった(接続拒否、到達不能、接続タイムアウト)。後で再試行する。"},
	{Code: 602, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost at a point outside the named phases", JA: "相手先メールサーバとの通信が途中で途絶えた",
		DetailEN: "The connection broke somewhere the 62x/66x codes do not name, e.g. during the TLS handshake; retried later.",
		DetailJA: "62x/66x が示す段階以外(TLS ハンドシェイク中など)で接続が切れた。後で再試行する。"},
	{Code: 606, Class: ClassPermanent, Blame: BlameSystem, Weight: 1, Status: "4.4.7", Reason: "expired", Ref: refConn,
		EN: "Expired: not delivered within the message lifetime", JA: "有効期限切れ",
		DetailEN: "The message could not be delivered within the lifetime set when it was scheduled, and delivery stopped. The last attempt's code is kept as detail; the DSN carries that attempt's 4.x.x status, else 4.4.7.",
		DetailJA: "配信予約時に設定したメール生存時間内にメールが配信できず、メール生存時間切れとなった。"},
	{Code: 608, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.3", Reason: "systemerror", Ref: refConn,
		EN: "No DNS server could be reached", JA: "DNSにアクセスできない",
		DetailEN: "None of the configured DNS servers answered; the queue pauses and no address is blamed.",
		DetailJA: "設定された DNS サーバのどれにも到達できなかった。キューを一時停止し、アドレスには責任を問わない。"},
	{Code: 609, Class: ClassTransient, Blame: BlameSystem, Status: "4.3.0", Reason: "systemerror", Ref: refConn,
		EN: "Socket could not be created", JA: "ソケット生成できなかった",
		DetailEN: "The system ran out of file descriptors or local ports; the queue pauses until resources return.",
		DetailJA: "ファイル記述子またはローカルポートが枯渇した。資源が戻るまでキューを一時停止する。"},
	{Code: 610, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout at a point outside the named phases", JA: "SMTP通信でタイムアウト",
		DetailEN: "The SMTP exchange timed out somewhere the 64x/68x codes do not name, e.g. during the TLS handshake; retried later.",
		DetailJA: "64x/68x が示す段階以外(TLS ハンドシェイク中など)でタイムアウトした。後で再試行する。"},
	{Code: 611, Class: ClassPermanent, Blame: BlameUser, Status: "5.1.3", Reason: "userunknown", Ref: refConn,
		EN: "Recipient address unusable for delivery", JA: "不正な相手先アドレス",
		DetailEN: "The address passed the syntax check but cannot be delivered to: the domain is not a valid host name, or a part exceeds the RFC 5321 length limits.",
		DetailJA: "宛先のドメインがホスト名として正しくない、または RFC 5321 の長さ制限を超えているため配送に使えない。"},

	// 62x: the connection was lost while waiting for the reply.
	{Code: 620, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost while waiting for the opening greeting", JA: "オープニング待ち時にコネクションが切れた",
		DetailEN: causeCutEN, DetailJA: causeCutJA},
	{Code: 621, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost while waiting for the reply to HELO/EHLO", JA: "HELO応答待ち時にコネクションが切れた",
		DetailEN: causeCutEN, DetailJA: causeCutJA},
	{Code: 622, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost while waiting for the reply to MAIL FROM", JA: "FROM応答待ち時にコネクションが切れた",
		DetailEN: causeCutEN, DetailJA: causeCutJA},
	{Code: 623, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost while waiting for the reply to RCPT TO", JA: "RCPT応答待ち時にコネクションが切れた",
		DetailEN: causeCutEN, DetailJA: causeCutJA},
	{Code: 624, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost while waiting for the reply to the DATA command", JA: "DATA応答待ち時に コネクションが切れた",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 625, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost while waiting for the reply to the end of data (the final dot)", JA: "END 応答待ち時に コネクションが切れた",
		DetailEN: causeLongEN, DetailJA: causeLongJA},
	{Code: 627, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost while waiting for the reply to RSET", JA: "RSET応答待ち時にコネクションが切れた",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},

	// 64x: timeout while waiting for the reply.
	{Code: 640, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout while waiting for the opening greeting", JA: "オープニング待ち時にタイムアウト",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 641, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout while waiting for the reply to HELO/EHLO", JA: "HELO応答待ち時に タイムアウト",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 642, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout while waiting for the reply to MAIL FROM", JA: "FROM応答待ち時に タイムアウト",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 643, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout while waiting for the reply to RCPT TO", JA: "RCPT応答待ち時に タイムアウト",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 644, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout while waiting for the reply to the DATA command", JA: "DATA応答待ち時に タイムアウト",
		DetailEN: causeLongEN, DetailJA: causeLongJA},
	{Code: 645, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout while waiting for the reply to the end of data (the final dot)", JA: "END 応答待ち時に タイムアウト",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 647, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout while waiting for the reply to RSET", JA: "RSET応答待ち時にタイムアウト",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},

	// 66x: the connection was lost while sending. The numbering differs
	// from 62x: there is no greeting to send, so 0 is HELO and the DATA
	// command (3) is told apart from the content (4).
	{Code: 660, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost while sending HELO/EHLO", JA: "HELO送信時にコネクションが切れた",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 661, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost while sending MAIL FROM", JA: "FROM送信時に コネクションが切れた",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 662, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost while sending RCPT TO", JA: "RCPT送信時に コネクションが切れた",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 663, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost while sending the DATA command", JA: "DCMD送信時に コネクションが切れた",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 664, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost while sending the message content", JA: "DATA送信時に コネクションが切れた",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 665, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost while sending the final dot", JA: "DEND送信時に コネクションが切れた",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 666, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost while sending QUIT", JA: "QUIT送信時に コネクションが切れた",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 667, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Connection lost while sending RSET", JA: "RSET送信時にコネクションが切れた",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},

	// 68x: timeout while sending, numbered as 66x.
	{Code: 680, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout while sending HELO/EHLO", JA: "HELO送信時にタイムアウト",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 681, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout while sending MAIL FROM", JA: "FROM送信時に タイムアウト",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 682, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout while sending RCPT TO", JA: "RCPT送信時に タイムアウト",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 683, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout while sending the DATA command", JA: "DCMD送信時に タイムアウト",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 684, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout while sending the message content", JA: "DATA送信時に タイムアウト",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 685, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout while sending the final dot", JA: "DEND送信時に タイムアウト",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 686, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout while sending QUIT", JA: "QUIT送信時に タイムアウト",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
	{Code: 687, Class: ClassTransient, Blame: BlameSystem, Status: "4.4.2", Reason: "networkerror", Ref: refConn,
		EN: "Timeout while sending RSET", JA: "RSET送信時にタイムアウト",
		DetailEN: causeLoadEN, DetailJA: causeLoadJA},
}

var dnsAddressCodes = []Code{
	{Code: 700, Class: ClassPermanent, Blame: BlameUser, Weight: 10, Status: "5.1.2", Reason: "hostunknown", Ref: refDNS,
		EN: "Recipient domain does not exist (NXDOMAIN)", JA: "宛先ドメインが存在しない", Seed: "DNS Error 1",
		DetailEN: "DNS says the recipient's domain does not exist. " + causeDNSEN,
		DetailJA: "宛先ドメインが存在しない(NXDOMAIN)。" + causeDNSJA},
	{Code: 710, Class: ClassPermanent, Blame: BlameUser, Weight: 10, Status: "5.4.4", Reason: "hostunknown", Ref: refDNS,
		EN: "Recipient domain has no usable mail host", JA: "宛先ドメインに配送先のメールサーバがない", Seed: "DNS Error 2",
		DetailEN: "The domain has no MX and no A/AAAA record (DSN 5.4.4), or publishes a null MX, RFC 7505 (DSN 5.1.10, Sisimai reason notaccept). " + causeDNSEN,
		DetailJA: "ドメインに MX も A/AAAA もない(DSN 5.4.4)、または null MX(RFC 7505、DSN 5.1.10)を公開している。" + causeDNSJA},
	{Code: 711, Class: ClassPermanent, Blame: BlameUser, Weight: 10, Status: "5.4.4", Reason: "hostunknown", Ref: refDNS,
		EN: "MX host names do not resolve to any address", JA: "MXホスト名がどのアドレスにも解決できない", Seed: "DNS Error 3",
		DetailEN: "Every MX target name answered NXDOMAIN or had no address record. " + causeDNSEN,
		DetailJA: "すべての MX ホスト名が NXDOMAIN またはアドレスレコードなしだった。" + causeDNSJA},
	{Code: 720, Class: ClassTransient, Blame: BlameUser, Weight: 10, Status: "4.4.3", Reason: "networkerror", Ref: refDNS,
		EN: "DNS answered with an error for the domain or an MX target", JA: "宛先ドメインまたはMXホストのDNS問い合わせがエラーになった", Seed: "DNS Error 4",
		DetailEN: "SERVFAIL, REFUSED, a malformed answer or a timeout for the domain or one of its MX targets; retried, and counted only if it is still the outcome when the message expires or retries are off. " + causeDNSEN,
		DetailJA: "ドメインまたは MX ホストの問い合わせが SERVFAIL、REFUSED、不正な応答、タイムアウトになった。再試行し、最終結果のときだけカウントする。" + causeDNSJA},
	{Code: 730, Class: ClassPermanent, Blame: BlameUser, Weight: 10, Status: "5.4.6", Reason: "networkerror", Ref: refDNS,
		EN: "Address loop: no mail host left but this one", JA: "アドレスループ (127.0.0.1)",
		DetailEN: "After dropping this host and every MX of lower preference (RFC 5321 §5.1) none remained, or every mail host is a loopback address. " + causeDNSEN,
		DetailJA: "自ホストとそれより優先度の低い MX を除くと候補が残らない(RFC 5321 §5.1)、またはすべてのメールホストがループバックアドレスだった。" + causeDNSJA},
	{Code: 800, Class: ClassPermanent, Blame: BlameSystem, Status: "5.1.3", Reason: "userunknown", Ref: refDNS,
		EN: "Recipient address is malformed", JA: "MailTo アドレスが異常",
		DetailEN: "The address failed the syntax check before any network work. If it is in fact well formed, a system fault is possible. Legacy Japanese mobile local parts (taro..yamada@) are accepted, never 800.",
		DetailJA: "宛先メールアドレスの形式が不正 不正でない場合はシステム障害の可能性あり"},
	{Code: 801, Class: ClassPermanent, Blame: BlameUser, Weight: 5, Status: "5.2.1", Reason: "suspend", Ref: refDNS,
		EN: "Recipient's account is disabled at the provider", JA: "ユーザのアカウントが無効になっている",
		DetailEN: "Recognised from the reply text by a rule (code + pattern + destination domain): something between the end user and the carrier or provider.",
		DetailJA: "エンドユーザとキャリア、プロバイダ間での何かしらの事由"},
	{Code: 850, Class: ClassPermanent, Blame: BlameUser, Weight: 5, Status: "5.7.1", Reason: "filtered", Ref: refDNS,
		EN: "Recipient refuses mail from the sender's domain", JA: "ユーザ側でドメイン拒否設定を行っており、メールが届けられない",
		DetailEN: "The end user has set a domain rejection on their side (common with Japanese mobile carriers); recognised from the reply text by a rule.",
		DetailJA: "エンドユーザ側でドメイン拒否設定を行っている。"},
}

// bounceCodes are the codes the bounce reader gives where seed 001 has
// none (issue 12): a complaint, and a sender-side refusal or rate limit
// that a bounce reports without quoting the remote's reply code. They sit
// in seed 001's 8xx block (the address and its reception) next to 850.
var bounceCodes = []Code{
	{Code: 860, Class: ClassPermanent, Blame: BlameUser, Weight: 10, Status: "5.7.1", Reason: "feedback", Ref: refBounce,
		EN: "Recipient complained: feedback report (ARF)", JA: "受信者が迷惑メールとして報告した(苦情フィードバック)",
		DetailEN: "A feedback loop sent an RFC 5965 report (abuse, fraud, virus ...) for this recipient. The address is suppressed at once: mailing a complainer again harms the sender's reputation.",
		DetailJA: "フィードバックループから RFC 5965 の報告(abuse、fraud、virus など)が届いた。送信者の評価を守るため、このアドレスは直ちに配信停止にする。"},
	{Code: 870, Class: ClassPermanent, Blame: BlameSystem, Status: "5.7.1", Reason: "blocked", Ref: refBounce,
		EN: "Sender refused by the receiving side (block, reputation, policy)", JA: "送信側(送信元IP・ドメイン)が受信側に拒否された",
		DetailEN: "The bounce says the sending IP, domain or message was refused (blocklist, reputation, policy, spam or virus verdict, authentication, missing PTR) without quoting a reply code. The sender is blamed; the address's score does not move.",
		DetailJA: "送信元 IP・ドメイン・メッセージが拒否された(ブロックリスト、評価、ポリシー、迷惑メール判定、認証、PTR なし)とバウンスが示すが、応答コードがない。送信側の問題であり、アドレスのスコアは変えない。"},
	{Code: 871, Class: ClassTransient, Blame: BlameSystem, Status: "4.7.0", Reason: "ratelimited", Ref: refBounce,
		EN: "Sender rate-limited by the receiving side", JA: "受信側で送信レート制限を受けた",
		DetailEN: "The bounce says too much mail or too many connections came from the sender, without quoting a reply code. Transient; the sender is blamed and the destination slowed, the address's score does not move.",
		DetailJA: "送信元からのメール量または接続数が多すぎるとバウンスが示すが、応答コードがない。一時的なエラーで、送信側の問題。アドレスのスコアは変えない。"},
}

var systemCodes = []Code{
	{Code: -3, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "Out of memory or resource limit", JA: "メモリ確保エラー",
		DetailEN: "The run could not allocate memory or hit a resource limit.", DetailJA: "メモリを確保できなかった、または資源の上限に達した。"},
	{Code: -4, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "Configuration file cannot be opened", JA: "設定ファイルオープンエラー",
		DetailEN: "The configuration file is missing or not readable.", DetailJA: "設定ファイルが存在しないか、読み取り権限がない。"},
	{Code: -5, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "Configuration file cannot be read or parsed", JA: "設定ファイルパラメーター読み取りエラー",
		DetailEN: "The configuration file is not valid TOML; the message names the line.", DetailJA: "設定ファイルの書式が正しくない。メッセージが行番号を示す。"},
	{Code: -6, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "Unknown keyword in the configuration file", JA: "設定ファイル不明キーワードエラー",
		DetailEN: "A key is not one hikyaku knows, often a typo; the message names file, line and key.", DetailJA: "未知のキーがある(綴り間違いが多い)。メッセージがファイル、行、キーを示す。"},
	{Code: -7, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "Invalid value in the configuration file", JA: "設定ファイル値不正エラー",
		DetailEN: "A key has a value of the wrong type or out of range; the message names file, line and key.", DetailJA: "キーの値の型または範囲が正しくない。メッセージがファイル、行、キーを示す。"},
	{Code: -8, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "Recipient TSV file cannot be opened", JA: "TSVファイルオープンエラー",
		DetailEN: "The recipient list is missing or not readable.", DetailJA: "宛先リストが存在しないか、読み取り権限がない。"},
	{Code: -9, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "TSV header line cannot be read", JA: "TSVファイルヘッダ読み込みエラー",
		DetailEN: "The first line of the recipient list could not be read (empty file or read error).", DetailJA: "宛先リストの 1 行目を読めなかった(空ファイルまたは読み込みエラー)。"},
	{Code: -10, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "TSV header cannot be parsed", JA: "TSVファイルヘッダパースエラー",
		DetailEN: "The header line has no email column, duplicate names, or empty names.", DetailJA: "ヘッダ行に email 列がない、列名が重複している、または空の列名がある。"},
	{Code: -11, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "Campaign stopped: errors too frequent", JA: "エラーが多発し、送信処理を中止した",
		DetailEN: "The share of failed deliveries passed the configured threshold, so the campaign stopped to protect the sender's reputation.", DetailJA: "配送失敗の割合が設定したしきい値を超えたため、送信者の評価を守るために送信を中止した。"},
	{Code: -12, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "Inline image data could not be built", JA: "画像データ作成に失敗した",
		DetailEN: "An image referenced by the template could not be read or encoded.", DetailJA: "テンプレートが参照する画像を読めない、または符号化できなかった。"},
	{Code: -13, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "Image folder cannot be opened", JA: "画像ディレクトリオープン失敗",
		DetailEN: "The folder of inline images is missing or not readable.", DetailJA: "インライン画像のディレクトリが存在しないか、読み取り権限がない。"},
	{Code: -100, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "Status database could not be initialised", JA: "状態データベースを初期化できなかった", Seed: "MySQL DB init faild",
		DetailEN: "The status store (embedded, or MySQL/MariaDB) could not be created or migrated.", DetailJA: "状態データベース(組み込み、または MySQL/MariaDB)を作成・初期化できなかった。"},
	{Code: -101, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "Status database connection failed", JA: "状態データベースに接続できなかった", Seed: "MySQL DB connection faild",
		DetailEN: "The status store could not be reached or refused the login.", DetailJA: "状態データベースに接続できない、またはログインを拒否された。"},
	{Code: -102, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "Status database update failed", JA: "状態データベースを更新できなかった", Seed: "MySQL DB update faild",
		DetailEN: "Writing a result to the status store failed.", DetailJA: "状態データベースへの結果の書き込みに失敗した。"},
	{Code: -500, Class: ClassSystem, Blame: BlameSystem, Reason: "undefined", Ref: refSystem,
		EN: "Bounce for a known recipient carries no status code", JA: "バウンスメールのエラーコードが取得できなかった",
		DetailEN: "The bounce mail holds no error code, or none could be extracted. Not a fault.", DetailJA: causeNoCodeJA},
	{Code: -501, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "Mail at the bounce address is not a readable bounce", JA: "バウンスメールのエラーコードが取得できなかった",
		DetailEN: "The mail is not a bounce hikyaku can read (an auto-reply, for instance), so it carries no error code. Not a fault.",
		DetailJA: causeNoCodeJA + "自動応答など、読み取れるバウンスメールではない。"},
	{Code: -502, Class: ClassSystem, Blame: BlameSystem, Ref: refSystem,
		EN: "Bounce names a different final recipient: forwarding suspected", JA: "Maybe forwarding 転送先にて送信エラーとなった可能性あり",
		DetailEN: "The address forwards its mail, and the delivery error probably happened at the forwarding target.",
		DetailJA: "対象のメールアドレスは、転送設定をしており、転送先にて送信エラーとなった可能性がある。"},
}
