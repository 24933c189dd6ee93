package report

import (
	"io"
	"strings"
	"unicode/utf8"
)

// table prints aligned columns, measuring Japanese text by its display
// width (tabwriter counts runes, which misaligns wide characters). Columns
// named at creation are right-aligned; the last one is never padded.
type table struct {
	rows  [][]string
	right map[int]bool
}

func newTable(right ...int) *table {
	t := &table{right: map[int]bool{}}
	for _, c := range right {
		t.right[c] = true
	}
	return t
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) flush(w io.Writer) error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-displayWidth(c))
			switch {
			case t.right[i]:
				b.WriteString(pad + c)
			case i < len(r)-1:
				b.WriteString(c + pad)
			default:
				b.WriteString(c)
			}
			if i < len(r)-1 {
				b.WriteString("  ")
			}
		}
		b.WriteString("\n")
	}
	t.rows = t.rows[:0]
	_, err := io.WriteString(w, trimLines(b.String()))
	return err
}

// trimLines drops the spaces that padding left at line ends.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// displayWidth counts East Asian wide characters as two columns.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1100 && utf8.RuneLen(r) >= 3 && (r < 0x2000 || r > 0x206F) {
			n += 2
		} else {
			n++
		}
	}
	return n
}
