//go:build race

package tsv

// raceEnabled shrinks the million-row test: the race detector makes every
// row ten times slower and the test is about memory, not speed.
const raceEnabled = true
