package bounce

// Read reads one mail (CRLF or LF line endings). It never fails on content:
// a mail it cannot make sense of is KindNone with one -501 result. The
// error is only for a mail that is not a message at all (no header).
func Read(msg []byte, opt Options) (Report, error) {
	return Report{Kind: KindNone, Results: []Result{{Code: -501, Reason: "undefined", Blame: BlameNone, Format: "none"}}}, nil
}
