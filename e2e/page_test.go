package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// stepTimeout bounds one browser step: a page load, a click, a query. It
// only turns a hang into a failure, so it is far above what a step takes
// even on a machine busy with other work: no journey fails for being slow.
const stepTimeout = 2 * time.Minute

// page is one person's tab, with the assertions the journeys make on it.
// Every method fails the test when the browser does not do what it should.
type page struct {
	t     *testing.T
	ctx   context.Context
	base  string // the site's URL, no trailing slash
	phone bool   // tap instead of click, and check for horizontal overflow
	width int64  // the viewport's width in CSS pixels
	out   string // screenshot folder of this subtest
	shots int
	probs *problems
}

// byID and byTestID select the first element with that id or data-testid.
func byID(id string) chromedp.CSS     { return chromedp.CSS("#" + id) }
func byTestID(id string) chromedp.CSS { return chromedp.CSS(`[data-testid="` + id + `"]`) }

// countJS is a JavaScript expression counting the elements sel matches.
func countJS(sel chromedp.CSS) string {
	return fmt.Sprintf("document.querySelectorAll(%q).length", string(sel))
}

// existsJS is a JavaScript expression: does sel match anything?
func existsJS(sel chromedp.CSS) string {
	return fmt.Sprintf("document.querySelector(%q) !== null", string(sel))
}

func (p *page) url(path string) string { return p.base + path }

func (p *page) timeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.ctx, stepTimeout)
}

// do runs browser steps, failing the test with what they were for.
func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := p.timeout()
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.fail("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := p.timeout()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// fail saves what the tab shows and any problems it reported, then stops the
// subtest.
func (p *page) fail(format string, args ...any) {
	p.t.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		msg += "\n  page: " + loc
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		name := filepath.Join(p.out, "failure.png")
		if os.WriteFile(name, png, 0o644) == nil {
			msg += "\n  screenshot: " + name
		}
	}
	for _, pr := range p.probs.take() {
		msg += "\n  browser problem: " + pr.String()
	}
	p.t.Fatal(msg)
}

// waitFor polls a JavaScript condition until it holds. Errors while a new
// document replaces the old one are expected and retried.
func (p *page) waitFor(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		cancel()
		if err == nil && ok {
			return
		}
		// A console error or a failed request while waiting means the
		// page is broken; say so now rather than after the timeout.
		if p.probs.pending() {
			p.fail("the browser reported a problem while waiting for %s", what)
		}
		if err != nil {
			lastErr = err
		}
		if p.ctx.Err() != nil || time.Now().After(deadline) {
			if lastErr != nil {
				p.fail("timed out waiting for %s (last error: %v)", what, lastErr)
			}
			p.fail("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ready waits until the document and its deferred scripts (htmx) are done.
func (p *page) ready() {
	p.t.Helper()
	p.waitFor("the page to load", `document.readyState === "complete" && window.htmx !== undefined`)
}

// visit loads path as if typed into the address bar.
func (p *page) visit(path string) {
	p.t.Helper()
	p.do("open "+path, chromedp.Navigate(p.url(path)))
	p.ready()
}

// reload reloads the page, as a person pressing F5.
func (p *page) reload() {
	p.t.Helper()
	p.markDocument()
	p.do("reload", chromedp.Reload())
	p.waitFor("the reloaded page", `window.__e2eDocument === undefined`)
	p.ready()
}

// markDocument tags the current document, so that a wait can tell a new
// document (a full navigation) from the same one changed in place (htmx).
func (p *page) markDocument() {
	p.t.Helper()
	eval[chromedp.Void](p, `window.__e2eDocument = true`)
}

func (p *page) sameDocument() bool {
	p.t.Helper()
	return eval[bool](p, `window.__e2eDocument === true`)
}

// press clicks the element, or taps it on a phone.
func (p *page) press(sel chromedp.CSS) {
	p.t.Helper()
	if p.phone {
		p.do("tap "+string(sel), chromedp.Tap(sel))
		return
	}
	p.do("click "+string(sel), chromedp.Click(sel))
}

// follow presses sel and waits for the new page at path (pathname only).
func (p *page) follow(sel chromedp.CSS, path string) {
	p.t.Helper()
	p.markDocument()
	p.press(sel)
	p.waitFor(fmt.Sprintf("a new page at %s after pressing %s", path, sel),
		fmt.Sprintf(`window.__e2eDocument === undefined && location.pathname === %q`, path))
	p.ready()
}

// fill types value into an empty field.
func (p *page) fill(sel chromedp.CSS, value string) {
	p.t.Helper()
	p.do("type into "+string(sel), chromedp.WaitVisible(sel), chromedp.SendKeys(sel, value))
}

// text is the visible text of a visible element, trimmed.
func (p *page) text(sel chromedp.CSS) string {
	p.t.Helper()
	ctx, cancel := p.timeout()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(sel)); err != nil {
		p.fail("wait for %s to be visible: %v", sel, err)
	}
	v, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		p.fail("read the text of %s: %v", sel, err)
	}
	return strings.TrimSpace(v)
}

// value is the current value of a form field.
func (p *page) value(sel chromedp.CSS) string {
	p.t.Helper()
	ctx, cancel := p.timeout()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Value(sel))
	if err != nil {
		p.fail("read the value of %s: %v", sel, err)
	}
	return v
}

// attr is an attribute of the first element matching sel.
func (p *page) attr(sel chromedp.CSS, name string) string {
	p.t.Helper()
	ctx, cancel := p.timeout()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.AttributeValue(sel, name))
	if err != nil {
		p.fail("read %s of %s: %v", name, sel, err)
	}
	if !v.Exists {
		p.fail("%s has no attribute %s", sel, name)
	}
	return v.Value
}

// count is how many elements match sel right now.
func (p *page) count(sel chromedp.CSS) int {
	p.t.Helper()
	return eval[int](p, countJS(sel))
}

// present reports whether an element matching sel exists right now.
func (p *page) present(sel chromedp.CSS) bool {
	p.t.Helper()
	return p.count(sel) > 0
}

// path is the page's path and query.
func (p *page) path() string {
	p.t.Helper()
	return eval[string](p, `location.pathname + location.search`)
}

// wantText fails unless the visible text of sel contains want.
func (p *page) wantText(sel chromedp.CSS, want string) {
	p.t.Helper()
	if got := p.text(sel); !strings.Contains(got, want) {
		p.fail("%s shows %q, want it to contain %q", sel, got, want)
	}
}

// wantPath fails unless the page is at exactly path (with its query).
func (p *page) wantPath(path string) {
	p.t.Helper()
	if got := p.path(); got != path {
		p.fail("page is at %s, want %s", got, path)
	}
}

// snap checks the layout and saves a full-page screenshot as NN-step.png.
func (p *page) snap(step string) {
	p.t.Helper()
	if p.phone {
		p.checkPhoneWidth(step)
	}
	p.shots++
	name := filepath.Join(p.out, fmt.Sprintf("%02d-%s.png", p.shots, step))
	ctx, cancel := p.timeout()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.fail("screenshot %s: %v", step, err)
	}
	if err := os.WriteFile(name, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// screensDir, when set (make screens), is where publish copies the
// screenshots the README shows: docs/screens/ in the repository.
var screensDir = os.Getenv("IM2_SCREENS_DIR")

// publish snaps step and, for make screens, also saves the screenshot as
// docs/screens/<screen>-<language>-<device>.png.
func (p *page) publish(step, screen string, v variant) {
	p.t.Helper()
	p.snap(step)
	if screensDir == "" {
		return
	}
	ctx, cancel := p.timeout()
	defer cancel()
	// The viewport's height, not the full page: a README shows what a
	// person sees first.
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.fail("screenshot %s for docs: %v", screen, err)
	}
	name := filepath.Join(screensDir, fmt.Sprintf("%s-%s-%s.png", screen, v.lang.tag, v.dev.name))
	if err := os.WriteFile(name, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}
