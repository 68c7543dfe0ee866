package handlers

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"im2pay/spend"
	"im2pay/views/layout"
	"im2pay/views/pages"
)

// isPartial reports whether htmx asked for a fragment: an htmx request that
// is not a boosted navigation.
func isPartial(c echo.Context) bool {
	h := c.Request().Header
	return h.Get("HX-Request") == "true" && h.Get("HX-Boosted") != "true"
}

// render sends partial to htmx and page to everyone else, with Vary so a
// cache never hands one to the other.
func render(c echo.Context, status int, page, partial templ.Component) error {
	c.Response().Header().Add("Vary", "HX-Request")
	comp := page
	if partial != nil && isPartial(c) {
		comp = partial
	}
	// Rendered into memory first: the page then leaves in one write with
	// its length, rather than as many small chunks as templ makes writes.
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledPage {
			buf.Reset()
			pageBuffers.Put(buf)
		}
	}()
	if err := comp.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	h.Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	c.Response().WriteHeader(status)
	_, err := c.Response().Write(buf.Bytes())
	return err
}

// pageBuffers recycles render's buffers; one that grew past maxPooledPage
// (a long statement, say) is left to the collector.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledPage = 256 << 10

// redirect ends a successful POST: HX-Redirect for htmx (which would
// otherwise follow a 303 inside the swap target), 303 See Other for a form.
func redirect(c echo.Context, to string) error {
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// shell gathers what the page frame shows, popping one-time notices.
func (s *Server) shell(c echo.Context, titleKey, nav string) layout.Shell {
	sh := layout.Shell{TitleKey: titleKey, CSRF: csrfToken(c), Path: c.Request().URL.RequestURI(), Nav: nav}
	if u, ok := currentUser(c); ok {
		sh.Username = u.Username
		sh.Live = s.liveShell(c, u.ID)
	}
	if sess := session(c); sess != nil {
		if flashes := sess.Flashes(sessFlash); len(flashes) > 0 {
			for _, f := range flashes {
				if code, ok := f.(string); ok {
					sh.Flash = append(sh.Flash, code)
				}
			}
			if err := sess.Save(c.Request(), c.Response()); err != nil {
				s.log.ErrorContext(c.Request().Context(), "save session after flash", "err", err)
			}
		}
	}
	return sh
}

// handleError turns every error into a page in the reader's language. A 4xx
// says what was wrong; a 5xx says only that it was us, and logs the cause
// with the request id the page shows.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if errors.Is(err, context.Canceled) {
		// The client went away (htmx drops a preview that newer input
		// replaced; a tab was closed): nobody reads an answer, and nothing
		// failed on our side. 499 is how nginx logs it.
		c.Response().WriteHeader(statusClientClosed)
		return
	}
	if errors.Is(err, spend.ErrSessionEnded) {
		// The session was ended (a logout, a password change elsewhere)
		// while this request was under way: nothing moved, and the
		// browser is logged out like any other holder of a dead cookie.
		c.SetCookie(&http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.cfg.Secure,
			SameSite: http.SameSiteLaxMode})
		if rerr := redirect(c, "/login"); rerr != nil {
			s.log.ErrorContext(c.Request().Context(), "redirect ended session", "err", rerr)
		}
		return
	}
	status, key := http.StatusInternalServerError, "error.500"
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		status = he.Code
		key = errorKey(he)
	case errors.Is(err, context.DeadlineExceeded):
		// The request ran out of time (REQUEST_TIMEOUT), most likely
		// waiting for the database: a retry later may well succeed.
		status, key = http.StatusServiceUnavailable, "error.503"
	}
	// The request's context may be the very thing that failed, and templ
	// refuses to render under a finished context: the error page is
	// rendered without its cancellation, or the person would get an empty
	// 200.
	r := c.Request()
	c.SetRequest(r.WithContext(context.WithoutCancel(r.Context())))
	// Every error page names its request, so a person can quote it to
	// support and support can find the request's log lines.
	reqID := c.Response().Header().Get(echo.HeaderXRequestID)
	if status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "request failed", "path", c.Request().URL.Path, "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	// The shell would echo the requested path into the language form; an
	// error page has no page to come back to, and reflects nothing.
	sh := s.shell(c, key, "")
	sh.Path = "/"
	page := pages.Error(sh, status, key, reqID)
	if rerr := render(c, status, page, nil); rerr != nil {
		s.log.ErrorContext(c.Request().Context(), "render error page", "err", rerr)
	}
}

// statusClientClosed is the status logged for a request its client gave up.
const statusClientClosed = 499

func errorKey(he *echo.HTTPError) string {
	if msg, ok := he.Message.(string); ok && (msg == "error.csrf" || msg == "error.text_invalid") {
		return msg
	}
	switch he.Code {
	case 400, 403, 404, 405, 413, 429, 503:
		return "error." + strconv.Itoa(he.Code)
	}
	if he.Code >= 500 {
		return "error.500"
	}
	return "error.400"
}
