package codes

// placeholder tables; filled by the code-table work.
var allCodes = []Code{
	{Code: 250, EN: "Requested mail action okay, completed", JA: "要求された処理は実行可能完了", Class: ClassSuccess},
}

var allEnhanced = []Enhanced{
	{Status: "X.0.0", EN: "Other undefined status", JA: "その他の未定義ステータス", Ref: "RFC 3463"},
}
