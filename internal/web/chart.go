package web

import (
	"fmt"
	"html/template"
	"strings"
)

// barChart draws results by code as horizontal bars, the largest first,
// as an inline SVG: no script and no library, and it prints. Each bar
// carries data-code and data-n for tests.
func barChart(cs []CodeCount, lang string) template.HTML {
	const (
		rowH   = 22
		labelW = 60
		barW   = 480
		countW = 90
	)
	if len(cs) == 0 {
		return ""
	}
	top := 0
	for _, c := range cs {
		top = max(top, c.N)
	}
	var b strings.Builder
	h := rowH*len(cs) + 4
	title := map[bool]string{false: "Results by code", true: "コード別の結果"}[lang == "ja"]
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="chart-codes" role="img" width="%d" height="%d" viewBox="0 0 %d %d"><title>%s</title>`,
		labelW+barW+countW, h, labelW+barW+countW, h, template.HTMLEscapeString(title))
	for i, c := range cs {
		y := i*rowH + 2
		w := 0
		if top > 0 {
			w = max(1, c.N*barW/top)
		}
		fmt.Fprintf(&b, `<g class="bar" data-code="%d" data-n="%d"><title>%d %s: %d</title>`, c.Code, c.N, c.Code,
			template.HTMLEscapeString(c.Short), c.N)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="13">%d</text>`, labelW-8, y+15, c.Code)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"></rect>`, labelW, y+2, w, rowH-6, classColor(c.Class, c.Code))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13">%d</text></g>`, labelW+w+6, y+15, c.N)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func classColor(class string, code int) string {
	switch {
	case class == "success" || code >= 200 && code < 300:
		return "#2e7d32"
	case class == "transient":
		return "#f9a825"
	case class == "permanent":
		return "#c62828"
	case class == "system":
		return "#6a1b9a"
	}
	return "#607d8b"
}
