// Package tsv owns the reading of a campaign's recipient list (docs/spec.md §3,
// seed 001): a tab-separated file whose first line names the columns, one
// of them `email`, the others merge fields for the template. It streams: a
// list of millions of rows is read in constant memory, one row at a time.
//
// The format, decided here and nowhere else:
//   - UTF-8, with or without a byte-order mark. A UTF-16 file with a BOM
//     (Excel's "Unicode text") is decoded on the fly. Any other encoding
//     (Shift_JIS from a Japanese Excel) is refused: a header that is not
//     UTF-8 is -9, a row that is not UTF-8 is a bad row.
//   - Lines end in LF or CRLF; the last line may lack one.
//   - A tab separates fields. There is no quoting: a double quote is an
//     ordinary character, because a name like `"Taro" Yamada` must reach the
//     template as written and a TSV field cannot hold a tab or newline that
//     would need it.
//   - Spaces (U+0020 only) around a field are trimmed: they are never meant
//     in an address and almost never in a merge field, and hand-edited lists
//     are full of them. Ideographic spaces are kept.
//   - Empty lines (or lines of spaces only) are skipped wherever they are;
//     they are not recipients. Line numbers still count them, so a Row's
//     Line is the line an editor shows.
//   - Header names are compared case-insensitively for `email` and for
//     duplicates; Row.Fields keys them as written.
//   - The address is checked with protocol.ParseAddress, which accepts the
//     Japanese mobile-carrier local parts (`taro..yamada@`, `taro.@`) that
//     are real mailboxes; internationalized domains are kept as written
//     (the delivery engine converts them to A-labels).
package tsv
