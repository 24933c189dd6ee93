//go:build !race

package tsv

const raceEnabled = false
