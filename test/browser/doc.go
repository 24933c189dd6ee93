// Package browser holds the dashboard's browser test (issue 13): the real
// hikyaku binary serving the dashboard, a real campaign sent to a scripted
// peer on loopback, and Debian's headless chromium reading every page
// through chromedp. The package has no code of its own: everything is in
// its _test.go files, run with `go test ./test/browser`.
package browser
