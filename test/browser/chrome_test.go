package browser

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, the browser an operator's desktop
// most likely has. Without it the test cannot run: it skips, except under
// CI, where scripts/setup-test-deps has installed it and a missing one is a
// broken setup.
func chromiumPath(t *testing.T) string {
	t.Helper()
	const path = "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: scripts/setup-test-deps installs Debian's chromium", path)
		}
		t.Skipf("%s is missing, so the dashboard's browser test cannot run: scripts/setup-test-deps installs Debian's chromium (and fonts-noto-cjk for the Japanese pages)", path)
	}
	return path
}

// rebindHost is a name only the browser resolves, to 127.0.0.1.
const rebindHost = "rebind.example"

// tab is one browser tab; every tab of a test shares one chromium and,
// through its browser context, its own cookies.
type tab struct {
	t     *testing.T
	ctx   context.Context
	shots string // where screenshots go
}

// newBrowser starts a headless chromium (the program at exec, chromium
// itself or a script that runs it) that lives until the test ends.
func newBrowser(t *testing.T, exec string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exec),
		// The test runs as root in CI, where chromium's sandbox refuses
		// to start; the pages it opens are our own.
		chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("hide-scrollbars", true),
		// A name re-pointed at 127.0.0.1, as a DNS rebinding attack does,
		// without asking any resolver.
		chromedp.Flag("host-resolver-rules", "MAP "+rebindHost+" 127.0.0.1"),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	// Start the browser with a context that has no timeout: the first
	// Run binds the browser's life to its context.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", exec, err)
	}
	return bctx
}

// newTab opens a tab in a fresh browser context (no cookies shared with
// other tabs) that asks for lang in Accept-Language.
func newTab(t *testing.T, browser context.Context, shots, lang string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first Run binds the tab's life to its context: it must be one
	// without a deadline, or the tab closes when the first step's ends.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	tb := &tab{t: t, ctx: ctx, shots: shots}
	if lang != "" {
		tb.do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
				Headers: network.Headers{"Accept-Language": lang}})
			return chromedp.Void{}, err
		})
	}
	return tb
}

// bounded gives every step a deadline, so that a page that never loads
// fails the test instead of hanging it.
func (b *tab) bounded() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 15*time.Second)
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.bounded()
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// open loads url and returns the HTTP status of the page.
func (b *tab) open(url string) int64 {
	b.t.Helper()
	ctx, cancel := b.bounded()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		b.t.Fatalf("open %s: %v", url, err)
	}
	return resp.Status
}

// location is the URL the tab shows now (after redirects).
func (b *tab) location() string {
	b.t.Helper()
	ctx, cancel := b.bounded()
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// eval runs JavaScript in the page and decodes its result.
func eval[T any](b *tab, js string) T {
	b.t.Helper()
	ctx, cancel := b.bounded()
	defer cancel()
	v, err := runEval[T](ctx, js)
	if err != nil {
		b.t.Fatalf("eval %s: %v", js, err)
	}
	return v
}

func runEval[T any](ctx context.Context, js string) (T, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// text is the visible text of the first element css selects, trimmed; ""
// and a test error when there is none.
func (b *tab) text(css string) string {
	b.t.Helper()
	return strings.TrimSpace(eval[string](b, `(() => { const e = document.querySelector(`+jsString(css)+`); return e ? e.innerText : "\u0000missing"; })()`))
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// shot writes a PNG of what the tab shows to shots/name.png: the whole
// page, or the window's first screen.
func (b *tab) shot(name string, full bool) string {
	b.t.Helper()
	ctx, cancel := b.bounded()
	defer cancel()
	action := chromedp.CaptureScreenshot()
	if full {
		action = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(ctx, action)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}
