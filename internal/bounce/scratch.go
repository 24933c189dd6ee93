package bounce

import (
	"sync"
	"unsafe"
)

// scratch is the memory one Read works in, kept across Reads by a pooled
// reader. A fresh process reading the corpus spent a third of its time
// in page faults while its heap grew to the collector's first target:
// every header copied into a string, every decoded or joined text in a
// fresh buffer. Here the header fields are views of the message itself,
// and decoded and joined texts are cut from one reused chunk. Nothing of
// either may reach the caller: detach copies every result string that
// points into them before Read returns (TestReadDetaches).
type scratch struct {
	msg    []byte   // the message being read
	chunk  []byte   // texts handed out so far; its spare capacity is next
	used   [][]byte // every chunk handed out from in this Read, chunk last
	open   bool     // a text is being written at chunk's end
	fields []field  // the headers' fields, each header a slice of it
	rd     reader   // the reader of the mail
	wk     walker   // rd's walker
}

// maxScratch bounds a text written in scratch and the chunk kept for the
// next Read: a huge mail costs its own allocations, not the pool's memory.
const maxScratch = 1 << 20

// begin returns an empty buffer to append one text to, at most hint
// octets expected; end makes it a string. Appending past the capacity
// moves the text to the heap, which stays correct. A begin while another
// text is open gets a heap buffer.
func (a *scratch) begin(hint int) []byte {
	if a == nil || a.open || hint > maxScratch {
		return make([]byte, 0, hint)
	}
	if cap(a.chunk)-len(a.chunk) < hint {
		a.chunk = make([]byte, 0, max(2*cap(a.chunk), hint, 16<<10))
		a.used = append(a.used, a.chunk)
	}
	a.open = true
	return a.chunk[len(a.chunk):len(a.chunk)]
}

// endBytes closes the text begin opened, b being what was appended to it.
func (a *scratch) endBytes(b []byte) []byte {
	if a == nil || !a.open {
		return b
	}
	a.open = false
	if len(b) > 0 && cap(a.chunk) > len(a.chunk) && unsafe.SliceData(b) == &a.chunk[:len(a.chunk)+1][len(a.chunk)] {
		a.chunk = a.chunk[:len(a.chunk)+len(b)]
	}
	return b
}

// end is endBytes as a string sharing b's memory.
func (a *scratch) end(b []byte) string {
	return bytesView(a.endBytes(b))
}

// bytesView is b as a string without a copy: b must not change after.
func bytesView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// header returns an empty header with room for n fields, from a's slab;
// keep gives the slab the fields the header took.
func (a *scratch) header(n int) header {
	if a == nil {
		return make(header, 0, n)
	}
	if cap(a.fields)-len(a.fields) < n {
		if n > 4096 {
			return make(header, 0, n)
		}
		// Headers cut from the slab before stay valid in the old one.
		a.fields = make([]field, 0, max(2*cap(a.fields), n, 64))
	}
	return a.fields[len(a.fields) : len(a.fields) : len(a.fields)+n]
}

func (a *scratch) keep(h header) {
	if a == nil || len(h) == 0 || cap(a.fields) == len(a.fields) || &h[0] != &a.fields[:len(a.fields)+1][len(a.fields)] {
		return
	}
	a.fields = a.fields[:len(a.fields)+len(h)]
}

// owns tells whether s points into the message or a chunk.
func (a *scratch) owns(s string) bool {
	if len(s) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	in := func(b []byte) bool {
		if cap(b) == 0 {
			return false
		}
		base := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		return p >= base && p < base+uintptr(cap(b))
	}
	if in(a.msg) {
		return true
	}
	for _, c := range a.used {
		if in(c) {
			return true
		}
	}
	return false
}

// detach copies every string of rep that points into a's memory, all
// into one allocation.
func (a *scratch) detach(rep *Report) {
	d := detacher{a: a}
	d.report(rep)
	if d.n == 0 {
		return
	}
	d.buf = make([]byte, 0, d.n)
	d.report(rep)
}

// detacher counts (buf nil) or copies the strings a owns.
type detacher struct {
	a   *scratch
	n   int
	buf []byte
}

func (d *detacher) str(s *string) {
	if !d.a.owns(*s) {
		return
	}
	if d.buf == nil {
		d.n += len(*s)
		return
	}
	start := len(d.buf)
	d.buf = append(d.buf, *s...)
	*s = bytesView(d.buf[start:])
}

func (d *detacher) report(rep *Report) {
	d.str((*string)(&rep.Kind))
	d.str(&rep.MessageID)
	d.str(&rep.Subject)
	for i := range rep.Results {
		r := &rep.Results[i]
		d.str(&r.Recipient)
		d.str(&r.Original)
		d.str(&r.Status)
		d.str(&r.Reply)
		d.str(&r.Command)
		d.str(&r.Reason)
		d.str((*string)(&r.Blame))
		d.str(&r.Feedback)
		d.str(&r.ReportingMTA)
		d.str(&r.RemoteMTA)
		d.str(&r.Format)
		d.str(&r.Campaign)
	}
}

// reset readies a for the next Read, forgetting the last one's memory.
func (a *scratch) reset() {
	a.msg = nil
	a.open = false
	clear(a.used)
	a.used = a.used[:0]
	if cap(a.chunk) > maxScratch {
		a.chunk = nil
	}
	if a.chunk != nil {
		a.chunk = a.chunk[:0]
		a.used = append(a.used, a.chunk)
	}
	clear(a.fields)
	a.fields = a.fields[:0]
	clear(a.wk.parts)
	a.wk = walker{parts: a.wk.parts[:0]}
	ex := a.rd.exclude
	if len(ex) > 256 { // a map keeps its size once grown
		ex = nil
	}
	clear(ex)
	a.rd = reader{exclude: ex}
	if cap(a.fields) > 4096 {
		a.fields = nil
	}
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}
