package config

import (
	"strings"
)

// Example returns a configuration file listing every key commented out at
// its default, each under its documentation: docs/hikyaku.example.toml, and
// what a `hikyaku config example` command would print. A key line starts
// with "#" and no space, so removing that one character enables it.
func Example() []byte {
	var b strings.Builder
	b.WriteString("# hikyaku configuration: every key, commented out at its default.\n")
	b.WriteString("# Remove the \"#\" in front of a key to set it. Reference: docs/config.md.\n")
	b.WriteString("# An unknown key is error -6 and a bad value -7, each with its line.\n")
	table := ""
	for _, k := range keys {
		t, leaf := splitKey(k.Name)
		if t != table {
			table = t
			b.WriteString("\n[" + t + "]\n")
		}
		b.WriteString("\n")
		for _, l := range wrap(k.Doc, 76) {
			b.WriteString("# " + l + "\n")
		}
		v := k.Default
		if k.Example != "" {
			b.WriteString("# Default: " + k.Default + "\n")
			v = k.Example
		}
		b.WriteString("#" + leaf + " = " + v + "\n")
	}
	return []byte(b.String())
}

// splitKey splits "smtp.listen" into its table and key.
func splitKey(name string) (table, leaf string) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}

// wrap breaks text into lines of at most width bytes at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
