package tsv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/unicode"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/protocol"
)

// The system codes of docs/spec.md §4.4 this package returns.
const (
	CodeCannotOpen     = -8  // the file cannot be opened or read
	CodeHeaderUnread   = -9  // the header line cannot be read
	CodeHeaderUnparsed = -10 // the header has no email column, or duplicate or empty names
)

// MaxLine bounds one line, so that a file without newlines cannot make the
// reader hold it whole. A row longer than this is a bad row; a header
// longer than this is -9.
const MaxLine = 1 << 20

// A failure of the list as a whole is a *codes.SystemError with one of
// the codes above, File the list as given to Open and Line the line it
// applies to (0 when none):
//
//	-10 TSV header cannot be parsed: no "email" column (list.tsv line 1)

// Row is one recipient line. A Row with a Problem is still returned so
// that the caller can record it (result code 800) and go on.
type Row struct {
	Line   int    // 1-based line number in the file; the header is line 1
	Email  string // the email column, trimmed
	Fields map[string]string
	// Problem says why the row cannot be sent: "wrong column count (3,
	// header has 4)", "malformed address: missing @domain", "line is not
	// UTF-8", "line longer than 1048576 octets". Fields is nil then unless
	// the columns could be split.
	Problem string
}

// Reader reads rows one at a time.
type Reader struct {
	file   io.ReadCloser
	br     *bufio.Reader
	name   string
	header []string
	email  int // index of the email column
	line   int // number of the last line read
}

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// Open opens the list and reads its header.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &codes.SystemError{Code: CodeCannotOpen, Err: err, File: path}
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, &codes.SystemError{Code: CodeCannotOpen, Detail: codes.DetailIsDirectory.EN, File: path}
	}
	r, err := newReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// newReader reads the header from rc; the fuzz test calls it without a file.
func newReader(rc io.ReadCloser, name string) (*Reader, error) {
	r := &Reader{file: rc, name: name}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

// start detects the encoding and reads the header.
func (r *Reader) start() error {
	br := bufio.NewReaderSize(r.file, 64<<10)
	lead, err := br.Peek(3)
	if err != nil && !errors.Is(err, io.EOF) {
		return &codes.SystemError{Code: CodeHeaderUnread, Err: err, File: r.name, Line: 1}
	}
	switch {
	case bytes.HasPrefix(lead, bomUTF8):
		br.Discard(3)
	case bytes.HasPrefix(lead, bomUTF16LE), bytes.HasPrefix(lead, bomUTF16BE):
		// The decoder reads the BOM itself to pick the byte order.
		dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		br = bufio.NewReaderSize(dec.Reader(br), 64<<10)
	}
	r.br = br

	for {
		line, err := r.readLine()
		if err == io.EOF {
			return &codes.SystemError{Code: CodeHeaderUnread, Detail: codes.DetailNoHeader.EN, File: r.name, Line: max(r.line, 1)}
		}
		if err == errLong {
			return &codes.SystemError{Code: CodeHeaderUnread, Detail: codes.DetailHeaderTooLong.EN, File: r.name, Line: r.line}
		}
		if err != nil {
			return &codes.SystemError{Code: CodeHeaderUnread, Err: err, File: r.name, Line: r.line}
		}
		if isBlank(line) {
			continue // leading empty lines are not the header
		}
		if !utf8.Valid(line) {
			return &codes.SystemError{Code: CodeHeaderUnread, Detail: codes.DetailHeaderNotUTF8.EN, File: r.name, Line: r.line}
		}
		return r.parseHeader(string(line))
	}
}

func (r *Reader) parseHeader(line string) error {
	names := strings.Split(line, "\t")
	seen := make(map[string]int, len(names))
	r.email = -1
	for i, n := range names {
		n = strings.Trim(n, " ")
		names[i] = n
		if n == "" {
			return &codes.SystemError{Code: CodeHeaderUnparsed,
				Detail: fmt.Sprintf("%s: column %d", codes.DetailColumnNoName.EN, i+1), File: r.name, Line: r.line}
		}
		key := strings.ToLower(n)
		if j, dup := seen[key]; dup {
			return &codes.SystemError{Code: CodeHeaderUnparsed,
				Detail: fmt.Sprintf("%s: %q (columns %d and %d)", codes.DetailDuplicateName.EN, n, j+1, i+1), File: r.name, Line: r.line}
		}
		seen[key] = i
		if key == "email" {
			r.email = i
		}
	}
	if r.email < 0 {
		return &codes.SystemError{Code: CodeHeaderUnparsed, Detail: codes.DetailNoEmailColumn.EN, File: r.name, Line: r.line}
	}
	r.header = names
	return nil
}

// Header returns the column names as written, trimmed.
func (r *Reader) Header() []string { return append([]string(nil), r.header...) }

// EmailColumn is the header name of the address column as written
// ("email", "Email", "EMAIL").
func (r *Reader) EmailColumn() string { return r.header[r.email] }

// errLong marks a line over MaxLine; the rest of it has been skipped.
var errLong = errors.New("line too long")

// readLine returns the next line without its LF or CRLF. The slice is
// valid until the next call. io.EOF comes only when no octet is left.
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return r.readLong(line)
	}
	if err != nil && (err != io.EOF || len(line) == 0) {
		if err != io.EOF {
			err = fmt.Errorf("read failed: %w", err)
		}
		return nil, err
	}
	r.line++
	return trimEOL(line), nil
}

// readLong assembles a line longer than the buffer, up to MaxLine; beyond
// that it discards the rest of the line and reports errLong.
func (r *Reader) readLong(first []byte) ([]byte, error) {
	buf := append([]byte(nil), first...)
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(buf) <= MaxLine {
			buf = append(buf, chunk...)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err != nil && err != io.EOF:
			return nil, fmt.Errorf("read failed: %w", err)
		}
		r.line++
		line := trimEOL(buf)
		if len(line) > MaxLine {
			return nil, errLong
		}
		return line, nil
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

func isBlank(b []byte) bool { return len(bytes.Trim(b, " ")) == 0 }

// Next returns the next row, or io.EOF after the last. A row that cannot
// be used carries a Problem and is not an error; the only errors are
// failures to read the file (-8).
func (r *Reader) Next() (Row, error) {
	for {
		line, err := r.readLine()
		switch {
		case err == io.EOF:
			return Row{}, io.EOF
		case err == errLong:
			return Row{Line: r.line, Problem: fmt.Sprintf("line longer than %d octets", MaxLine)}, nil
		case err != nil:
			return Row{}, &codes.SystemError{Code: CodeCannotOpen, Err: err, File: r.name, Line: r.line + 1}
		}
		if isBlank(line) {
			continue
		}
		return r.row(line), nil
	}
}

// row splits one line. The fields are substrings of one string made from
// the line, so a row costs two allocations besides its map.
func (r *Reader) row(line []byte) Row {
	row := Row{Line: r.line}
	if !utf8.Valid(line) {
		row.Problem = "line is not UTF-8 (save the list as UTF-8)"
		return row
	}
	s := string(line)
	n := strings.Count(s, "\t") + 1
	if n != len(r.header) {
		row.Problem = fmt.Sprintf("wrong column count (%d, header has %d)", n, len(r.header))
		// The email column, when the line reaches it, is kept as written
		// (issue 13): the export then shows the operator which row to fix.
		if cols := strings.SplitN(s, "\t", r.email+2); len(cols) > r.email {
			row.Email = strings.Trim(cols[r.email], " ")
		}
		return row
	}
	row.Fields = make(map[string]string, n)
	for i := 0; i < n; i++ {
		f := s
		if j := strings.IndexByte(s, '\t'); j >= 0 {
			f, s = s[:j], s[j+1:]
		}
		row.Fields[r.header[i]] = strings.Trim(f, " ")
	}
	row.Email = row.Fields[r.header[r.email]]
	if row.Email == "" {
		row.Problem = "malformed address: empty"
	} else if _, err := protocol.ParseAddress(row.Email); err != nil {
		row.Problem = "malformed address: " + err.Error()
	} else if strings.HasPrefix(row.Email, "<") {
		// ParseAddress takes "<a@b>"; the brackets are not the address.
		row.Email = row.Email[1 : len(row.Email)-1]
	}
	return row
}

// Line is the number of the last line read.
func (r *Reader) Line() int { return r.line }

// Close closes the file.
func (r *Reader) Close() error { return r.file.Close() }
