package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The checks every page gets beyond its journey's own assertions: nothing
// wider than a phone, no complaint from the browser, and proof that the
// complaint listeners work at all.

// checkPhoneWidth fails when anything sticks out sideways at phone width. A
// phone browser meets content wider than the screen by widening the layout
// viewport and zooming out, so scrollWidth <= innerWidth alone passes a broken
// page: innerWidth must also still be the screen's width.
func (p *page) checkPhoneWidth(step string) {
	p.t.Helper()
	type widths struct{ Scroll, Inner int64 }
	w := eval[widths](p, `({Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth})`)
	if w.Scroll <= w.Inner && w.Inner == p.width {
		return
	}
	wide := eval[string](p, fmt.Sprintf(wideElementsJS, p.width))
	p.t.Errorf("%s: on a %dpx phone screen the page is %dpx wide (layout viewport %dpx); sticking out: %s",
		step, p.width, w.Scroll, w.Inner, wide)
}

// wideElementsJS names the first elements that reach past the screen's
// right edge (%d pixels), for the failure message.
const wideElementsJS = `Array.from(document.querySelectorAll("body *"))
	.filter(e => e.getBoundingClientRect().right > %d + 0.5)
	.slice(0, 5)
	.map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
		(typeof e.className === "string" && e.className.trim() ? "." + e.className.trim().split(/\s+/).join(".") : ""))
	.join(", ")`

// checkProblems reports, once, what the browser complained about.
func (p *page) checkProblems() {
	p.t.Helper()
	for _, pr := range p.probs.take() {
		p.t.Errorf("browser reported a problem: %s", pr)
	}
}

// checkProblemDetection proves that the listeners hear what they must: a
// console error, an uncaught exception, a CSP violation and a failed load.
// Without it a broken listener would pass every journey silently.
func checkProblemDetection(t *testing.T, s *site, browserCtx context.Context) {
	p := newPage(t, s, browserCtx, variant{dev: desktop, lang: zhCN, accept: "zh-CN"})
	p.visit("/login")
	eval[chromedp.Void](p, `console.error("e2e self-check")`)
	eval[chromedp.Void](p, `setTimeout(() => { throw new Error("e2e self-check") }, 0)`)
	eval[chromedp.Void](p, `document.head.appendChild(Object.assign(document.createElement("style"), {textContent: "body{}"}))`)
	eval[chromedp.Void](p, `document.body.appendChild(Object.assign(document.createElement("img"), {src: "/static/img/missing.png"}))`)
	want := map[string]func(problem) bool{
		"console error": func(pr problem) bool {
			return pr.kind == "console.error" && strings.Contains(pr.text, "e2e self-check")
		},
		"exception":       func(pr problem) bool { return pr.kind == "exception" && strings.Contains(pr.text, "e2e self-check") },
		"CSP violation":   func(pr problem) bool { return strings.Contains(pr.text, "Content Security Policy") },
		"failed resource": func(pr problem) bool { return strings.Contains(pr.url, "/static/img/missing.png") },
	}
	var got []problem
	// stepTimeout is a hang guard: a busy browser reports late, not never.
	for deadline := time.Now().Add(stepTimeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got = append(got, p.probs.take()...)
		if len(missing(want, got)) == 0 {
			return
		}
	}
	t.Errorf("the problem listeners missed: %s; they heard: %v", strings.Join(missing(want, got), ", "), got)
}

func missing(want map[string]func(problem) bool, got []problem) []string {
	var out []string
	for name, match := range want {
		found := false
		for _, pr := range got {
			found = found || match(pr)
		}
		if !found {
			out = append(out, name)
		}
	}
	return out
}
