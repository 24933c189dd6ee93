package codes

import "sync"

// Detail is a fixed detail text of a system error (SystemError.Detail) in
// both languages. A detail that carries a name or a value is not listed:
// it reads the same in both.
type Detail struct {
	EN, JA string
}

// The fixed details the packages give their system errors. The English text
// is the key: SystemError.Text("ja") finds the Japanese by it, so a package
// writes Detail: codes.DetailEmpty.EN and nothing else.
var (
	DetailIsDirectory   = Detail{"is a directory", "ディレクトリである"}
	DetailNotDirectory  = Detail{"not a folder", "フォルダではない"}
	DetailFileEmpty     = Detail{"the file is empty", "ファイルが空である"}
	DetailTooLarge      = Detail{"the file is too large", "ファイルが大きすぎる"}
	DetailNoHeader      = Detail{"the file has no header line", "ヘッダ行がない"}
	DetailHeaderNotUTF8 = Detail{"the header line is not UTF-8 (save the list as UTF-8; Shift_JIS is not read)",
		"ヘッダ行が UTF-8 ではない(宛先リストを UTF-8 で保存すること。Shift_JIS は読めない)"}
	DetailHeaderTooLong = Detail{"the header line is too long", "ヘッダ行が長すぎる"}
	DetailNoEmailColumn = Detail{`no "email" column`, "email 列がない"}
	DetailColumnNoName  = Detail{"a column has no name", "名前のない列がある"}
	DetailDuplicateName = Detail{"duplicate column name", "列名が重複している"}
	DetailMissingFields = Detail{"the template uses merge fields the list has no column for",
		"テンプレートが使う差し込み項目の列が宛先リストにない"}
	DetailNotImage     = Detail{"not a PNG, JPEG, GIF, WebP, BMP or SVG image", "PNG、JPEG、GIF、WebP、BMP、SVG のいずれの画像でもない"}
	DetailImageMissing = Detail{"the HTML names an image the images folder does not have",
		"HTML が参照する画像が画像フォルダにない"}
	DetailNoImageFolder = Detail{"the HTML names an image but no images folder was given",
		"HTML が画像を参照しているが、画像フォルダが指定されていない"}
	DetailImagesTooBig = Detail{"the images add up to more than the limit", "画像の合計サイズが上限を超えている"}
	DetailQuotedKey    = Detail{"which in quotes is one name; write it without quotes", "引用符で囲むと一つの名前になる。引用符なしで書くこと"}
	DetailStoreFailing = Detail{"the status store stayed unwritable", "状態データベースに書き込めない状態が続いた"}
	DetailTooFrequent  = Detail{"failures on the sending side passed the stop threshold",
		"送信側の失敗が中止のしきい値を超えた"}
)

var allDetails = []Detail{
	DetailIsDirectory, DetailNotDirectory, DetailFileEmpty, DetailTooLarge, DetailNoHeader,
	DetailHeaderNotUTF8, DetailHeaderTooLong, DetailNoEmailColumn, DetailColumnNoName, DetailDuplicateName, DetailMissingFields,
	DetailNotImage, DetailImageMissing, DetailNoImageFolder,
	DetailImagesTooBig, DetailQuotedKey, DetailStoreFailing, DetailTooFrequent,
}

// Details returns every fixed detail text, in table order.
func Details() []Detail { return append([]Detail(nil), allDetails...) }

var detailIndex = sync.OnceValue(func() map[string]Detail {
	m := make(map[string]Detail, len(allDetails))
	for _, d := range allDetails {
		if _, dup := m[d.EN]; dup {
			panic("codes: detail " + d.EN + " listed twice")
		}
		m[d.EN] = d
	}
	return m
})
