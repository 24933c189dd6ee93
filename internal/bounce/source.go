package bounce

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// MaxMessage caps the octets kept of one message read by Open: the rest of
// a larger message is skipped (an mbox still splits after it), so that one
// hostile input costs bounded memory. Read caps again at Options.MaxSize.
const MaxMessage = 64 << 20

// Source is one message read from an input.
type Source struct {
	// Name tells where it came from: the file's path, "path#3" for the
	// third message of an mbox with more than one, "-" for stdin, and the
	// path of each file inside a Maildir or a folder.
	Name string
	// Data is the message, its mbox "From " line removed and ">From "
	// lines un-escaped. It is the callback's to keep: Open does not reuse it.
	Data []byte
}

// Open reads the input at path and calls fn once per message, in a
// deterministic order, one message in memory at a time:
//
//   - "-": standard input, one message or an mbox;
//   - a file: one message, or an mbox when its first line starts "From ";
//   - a Maildir (a folder with cur/ or new/): the files of cur/ then new/,
//     each sorted by name;
//   - any other folder: the regular files directly in it (not below),
//     sorted by name; each one a message or an mbox.
//
// Names starting with "." are skipped in folders. An error from fn stops
// the walk and is returned as it is. An input that cannot be opened or
// read is an error naming it; inside a folder the other files are still
// read and the errors are returned together at the end.
func Open(path string, fn func(Source) error) error {
	if path == "-" {
		return Split("-", os.Stdin, fn)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err // *PathError: names the path
	}
	if !fi.IsDir() {
		return openFile(path, fn)
	}
	files, err := folderFiles(path)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		if err := openFile(f, fn); err != nil {
			var se sourceError
			if errors.As(err, &se) {
				errs = append(errs, se.err)
				continue
			}
			return err
		}
	}
	return errors.Join(errs...)
}

// sourceError marks an error of the input itself (open, read), as opposed
// to one returned by the callback.
type sourceError struct{ err error }

func (e sourceError) Error() string { return e.err.Error() }
func (e sourceError) Unwrap() error { return e.err }

func openFile(path string, fn func(Source) error) error {
	f, err := os.Open(path)
	if err != nil {
		return sourceError{err}
	}
	defer f.Close()
	// A small file (a bounce is a few KB) is read at once into a buffer
	// of its size: Split's 64 KiB reader and growing ReadAll per file
	// were most of what reading a folder allocated.
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() <= smallFile {
		data, err := readAll(f, int(fi.Size()))
		if err != nil {
			return sourceError{fmt.Errorf("%s: %w", path, err)}
		}
		if !bytes.HasPrefix(data, []byte("From ")) {
			return fn(Source{Name: path, Data: data})
		}
		return Split(path, bytes.NewReader(data), fn)
	}
	return Split(path, f, fn)
}

// smallFile is the size up to which openFile reads a file at once.
const smallFile = 1 << 20

// readAll reads r to its end into a buffer made for size octets (it
// grows if the file did), keeping at most MaxMessage as Split does.
func readAll(r io.Reader, size int) ([]byte, error) {
	b := make([]byte, 0, size+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if len(b) > MaxMessage {
			b = b[:MaxMessage]
			_, err = io.Copy(io.Discard, r)
			return b, err
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// folderFiles lists the messages of a Maildir or a plain folder.
func folderFiles(dir string) ([]string, error) {
	var subs []string
	for _, s := range []string{"cur", "new"} {
		if fi, err := os.Stat(filepath.Join(dir, s)); err == nil && fi.IsDir() {
			subs = append(subs, filepath.Join(dir, s))
		}
	}
	if len(subs) == 0 {
		subs = []string{dir}
	}
	var files []string
	for _, d := range subs {
		ents, err := os.ReadDir(d)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			t := e.Type()
			if t.IsDir() {
				continue
			}
			if !t.IsRegular() {
				// a symbolic link counts when it leads to a file
				fi, err := os.Stat(filepath.Join(d, e.Name()))
				if err == nil && !fi.Mode().IsRegular() {
					continue
				}
			}
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			files = append(files, filepath.Join(d, n))
		}
	}
	return files, nil
}

// Split reads r, named name, as one message or, when its first line starts
// "From ", as an mbox, and calls fn once per message. Every line starting
// "From " begins a new message (mboxo and mboxrd); in a message a line
// ">From ", ">>From " ... loses one ">" (mboxrd). A message of an mbox
// holding more than one is named "name#N", N from 1. A read error is
// returned naming the input; an error from fn as it is.
func Split(name string, r io.Reader, fn func(Source) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(5)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return sourceError{fmt.Errorf("%s: %w", name, err)}
	}
	if !bytes.Equal(head, []byte("From ")) {
		data, err := io.ReadAll(io.LimitReader(br, MaxMessage))
		if err == nil {
			_, err = io.Copy(io.Discard, br)
		}
		if err != nil {
			return sourceError{fmt.Errorf("%s: %w", name, err)}
		}
		return fn(Source{Name: name, Data: data})
	}
	return splitMbox(name, br, fn)
}

func splitMbox(name string, br *bufio.Reader, fn func(Source) error) error {
	var (
		n      int    // messages begun
		cur    []byte // the message being read
		full   bool   // cur reached MaxMessage
		start  = true // the next chunk begins a line
		inFrom bool   // the chunks are the "From " line, dropped
	)
	emit := func(last bool) error {
		if n == 0 {
			return nil
		}
		s := Source{Name: name, Data: trimSeparator(cur)}
		if n > 1 || !last {
			s.Name = name + "#" + strconv.Itoa(n)
		}
		cur, full = nil, false
		return fn(s)
	}
	for {
		// ReadSlice hands a line longer than the buffer over in chunks;
		// only a chunk that begins a line can be a "From " line.
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			switch {
			case start && bytes.HasPrefix(chunk, []byte("From ")):
				if err := emit(false); err != nil {
					return err
				}
				n++
				cur = make([]byte, 0, 8<<10)
				inFrom = true
			case inFrom:
			default:
				if start {
					if c := unescapeFrom(chunk); c != nil {
						chunk = c
					}
				}
				if !full {
					cur = appendCapped(cur, chunk, &full)
				}
			}
			start = chunk[len(chunk)-1] == '\n'
			if start {
				inFrom = false
			}
		}
		switch err {
		case nil, bufio.ErrBufferFull:
		case io.EOF:
			return emit(true)
		default:
			return sourceError{fmt.Errorf("%s: %w", name, err)}
		}
	}
}

// appendCapped appends b to cur up to MaxMessage octets.
func appendCapped(cur, b []byte, full *bool) []byte {
	if room := MaxMessage - len(cur); len(b) > room {
		b = b[:room]
		*full = true
	}
	return append(cur, b...)
}

// unescapeFrom returns the line without one leading ">" when it is
// ">From ", ">>From " ..., nil otherwise.
func unescapeFrom(line []byte) []byte {
	i := 0
	for i < len(line) && line[i] == '>' {
		i++
	}
	if i == 0 || !bytes.HasPrefix(line[i:], []byte("From ")) {
		return nil
	}
	return line[1:]
}

// trimSeparator drops the empty line an mbox writes between messages.
func trimSeparator(b []byte) []byte {
	switch {
	case bytes.HasSuffix(b, []byte("\r\n\r\n")):
		return b[:len(b)-2]
	case bytes.HasSuffix(b, []byte("\n\n")):
		return b[:len(b)-1]
	}
	return b
}
