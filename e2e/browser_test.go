package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// defaultChromium is where Debian's chromium package puts the browser.
const defaultChromium = "/usr/bin/chromium"

// chromiumPath finds the browser or fails the test with what to do about it:
// a missing browser is a broken setup, never a reason to skip.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CHROMIUM_PATH")
	if path == "" {
		path = defaultChromium
	}
	found, err := exec.LookPath(path)
	if err != nil {
		t.Fatalf("Chromium not found at %q (%v): run `make deps` to install it (or set CHROMIUM_PATH)", path, err)
	}
	return found
}

// startBrowser starts one headless Chromium for the whole test, on a fresh
// profile, and returns a context whose children are tabs in it.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	profile, err := os.MkdirTemp("", "im2pay-e2e-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs after the browser has exited.
	t.Cleanup(func() { os.RemoveAll(profile) })

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// The first Do starts the browser; it must not run under a timeout,
	// which would end the browser with it.
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start Chromium (%s): %v\nIs it installed? `make deps` installs it.", exe, err)
	}
	return browserCtx
}

// device is how a tab presents itself: its viewport, user agent and the
// languages its browser asks for.
type device struct {
	name      string
	width     int64
	height    int64
	scale     float64
	mobile    bool // mobile viewport rules, touch input, phone user agent
	userAgent string
}

var (
	desktop = device{name: "desktop", width: 1280, height: 800, scale: 1}
	// phone is an iPhone 13's screen and user agent. The scale is 2, not
	// its 3, to keep the screenshots small; layout depends on the width.
	phone = device{name: "phone", width: 390, height: 844, scale: 2, mobile: true,
		userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15 " +
			"(KHTML, like Gecko) Version/15.4 Mobile/15E148 Safari/604.1"}
)

// openTab opens a tab in a new browser context (its own cookies and
// storage) emulating dev, whose requests carry acceptLanguage. The tab's
// problems are collected from its very first event.
func openTab(t *testing.T, browserCtx context.Context, dev device, acceptLanguage string) (context.Context, *problems) {
	t.Helper()
	probs := &problems{}
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext(), chromedp.WithListener(probs.handle))
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	ua := dev.userAgent
	if ua == "" {
		v, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{})
		if err != nil {
			t.Fatalf("browser version: %v", err)
		}
		ua = v.UserAgent
	}
	orientation := &emulation.ScreenOrientation{Type: emulation.ScreenOrientationTypeLandscapePrimary}
	if dev.height > dev.width {
		orientation = &emulation.ScreenOrientation{Type: emulation.ScreenOrientationTypePortraitPrimary}
	}
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		// Console errors reach us through Runtime, which chromedp enables;
		// CSP violations and failed loads only through Log.
		if _, err := cdp.Call(ctx, tgt, log.Enable, cdp.Empty{}); err != nil {
			return fmt.Errorf("Log.enable: %w", err)
		}
		if _, err := cdp.Call(ctx, tgt, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent: ua, AcceptLanguage: acceptLanguage,
		}); err != nil {
			return fmt.Errorf("user agent: %w", err)
		}
		if _, err := cdp.Call(ctx, tgt, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: dev.width, Height: dev.height, DeviceScaleFactor: dev.scale, Mobile: dev.mobile,
			ScreenOrientation: orientation,
		}); err != nil {
			return fmt.Errorf("viewport: %w", err)
		}
		if _, err := cdp.Call(ctx, tgt, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{
			Enabled: dev.mobile, MaxTouchPoints: 5,
		}); err != nil {
			return fmt.Errorf("touch: %w", err)
		}
		return nil
	}))
	if err != nil {
		t.Fatalf("set up the %s tab: %v", dev.name, err)
	}
	return ctx, probs
}

// problem is one thing a tab reported going wrong.
type problem struct {
	kind string // "console.error", "exception", "log.security", ...
	text string
	url  string
}

func (p problem) String() string {
	if p.url == "" {
		return fmt.Sprintf("[%s] %s", p.kind, p.text)
	}
	return fmt.Sprintf("[%s] %s (%s)", p.kind, p.text, p.url)
}

// problems collects a tab's console errors and failed assertions, uncaught
// exceptions, and error-level browser log entries: CSP violations and failed
// resource loads arrive there. expected ones (a form refused with 422, say)
// can be excused one at a time.
type problems struct {
	mu       sync.Mutex
	list     []problem
	expected []expectation
}

// expectation excuses problems that match, at most max of them.
type expectation struct {
	what  string
	match func(problem) bool
	left  int
}

// handle runs on the goroutine that reads the tab's messages: it must be
// quick, must not call the browser and must not panic.
func (ps *problems) handle(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			ps.add(problem{kind: "console." + string(ev.Type), text: consoleText(ev.Args), url: stackURL(ev.StackTrace)})
		}
	case *runtime.EventExceptionThrown:
		if d := ev.ExceptionDetails; d != nil {
			text := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				text += " " + d.Exception.Description
			}
			ps.add(problem{kind: "exception", text: text, url: d.URL})
		}
	case *log.EventEntryAdded:
		if e := ev.Entry; e != nil && e.Level == log.EntryLevelError {
			ps.add(problem{kind: "log." + string(e.Source), text: e.Text, url: e.URL})
		}
	}
}

func (ps *problems) add(p problem) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for i := range ps.expected {
		if e := &ps.expected[i]; e.left > 0 && e.match(p) {
			e.left--
			return
		}
	}
	ps.list = append(ps.list, p)
}

// expect excuses up to n problems that match.
func (ps *problems) expect(what string, n int, match func(problem) bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.expected = append(ps.expected, expectation{what: what, match: match, left: n})
}

// pending reports whether there are problems not yet taken.
func (ps *problems) pending() bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.list) > 0
}

// take returns the problems so far and forgets them.
func (ps *problems) take() []problem {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := ps.list
	ps.list = nil
	return out
}

func consoleText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case a == nil:
		case a.Value != nil:
			parts = append(parts, strings.Trim(string(a.Value), `"`))
		case a.Description != "":
			parts = append(parts, a.Description)
		case a.UnserializableValue != "":
			parts = append(parts, string(a.UnserializableValue))
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

func stackURL(st *runtime.StackTrace) string {
	if st == nil || len(st.CallFrames) == 0 {
		return ""
	}
	f := st.CallFrames[0]
	return fmt.Sprintf("%s:%d", f.URL, f.LineNumber+1)
}
