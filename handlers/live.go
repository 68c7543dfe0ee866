package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"im2pay/account"
	"im2pay/live"
	"im2pay/views/components"
)

// LiveStreamPath is the live balance's event stream. It is the one request
// that stays open: cmd/im2pay exempts it from REQUEST_TIMEOUT (see
// Streams), and it ends on its own when its session ends, the person
// leaves, or the server shuts down.
const LiveStreamPath = "/account/live"

// liveBalancePath answers the light poll of browsers without a stream.
const liveBalancePath = "/account/live/balance"

// DefaultLiveHeartbeat is how often an idle stream sends a comment, which
// keeps proxies from closing it, and checks its session again (a timeout
// that no event announces).
const DefaultLiveHeartbeat = 20 * time.Second

func (s *Server) liveRoutes(e *echo.Echo) {
	e.GET(LiveStreamPath, s.liveStream, s.liveGuard)
	e.GET(liveBalancePath, s.liveBalance, s.liveGuard)
}

// fetchSiteKey keeps the request's Sec-Fetch-Site, which sameOrigin removes
// from the headers, for the live routes' own check.
const fetchSiteKey = "fetch_site"

// liveGuard lets through only a logged-in person's same-origin request.
// A stream is read by script, not navigated to, so a visitor gets 401 (no
// login page to swap in), and a request another site's page made (an
// EventSource with credentials from a sibling origin) gets 403 before
// anything is read: the browser would hide the answer from that page
// anyway, but the stream must not even start.
func (s *Server) liveGuard(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		// Bare statuses, no error page: nobody navigates here, and a page
		// would carry the header's balance.
		site, _ := c.Get(fetchSiteKey).(string)
		if site != "" && site != "same-origin" {
			return c.NoContent(http.StatusForbidden)
		}
		if origin := c.Request().Header.Get("Origin"); origin != "" && origin != s.origin(c) {
			return c.NoContent(http.StatusForbidden)
		}
		if _, ok := currentUser(c); !ok {
			return c.NoContent(http.StatusUnauthorized)
		}
		if s.live == nil {
			// No live service: pages show no live balance, and a stray
			// request is told there is nothing to follow (an EventSource
			// does not reconnect after 204).
			return c.NoContent(http.StatusNoContent)
		}
		return next(c)
	}
}

// liveShell is the header's balance for a page, or nil without a live
// service. A failed read leaves the balance out rather than failing the
// page: the page's own content is what was asked for.
func (s *Server) liveShell(c echo.Context, userID int64) *components.Live {
	if s.live == nil {
		return nil
	}
	bal, err := s.live.Balance(c.Request().Context(), userID)
	if err != nil {
		s.log.WarnContext(c.Request().Context(), "live: balance for the header", "err", err)
		return nil
	}
	return &components.Live{Balance: bal, Stream: s.live.Streaming()}
}

// liveBalance is the poll: the person's balance, as the stream would send it.
func (s *Server) liveBalance(c echo.Context) error {
	u, _ := currentUser(c)
	bal, err := s.live.Balance(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, components.LiveAmount(bal), nil)
}

// liveStream streams the session owner's balance and what moved it, as
// server-sent events, until the session ends, the person leaves or the
// server stops. Only the owner's notices reach it (the hub delivers by user
// id) and each one is read back for that owner alone (live.Reader).
func (s *Server) liveStream(c echo.Context) error {
	u, _ := currentUser(c)
	hub := s.live.Hub()
	if hub == nil {
		return c.NoContent(http.StatusNoContent)
	}
	sub, err := hub.Subscribe(u.ID)
	switch {
	case errors.Is(err, live.ErrTooMany):
		return c.NoContent(http.StatusTooManyRequests)
	case errors.Is(err, live.ErrClosed):
		return c.NoContent(http.StatusServiceUnavailable)
	case err != nil:
		return err
	}
	defer sub.Close()
	ctx, hash := c.Request().Context(), sessionHash(c)
	w := newEventWriter(c, s.liveHeartbeat())
	if err := w.open(); err != nil {
		return err
	}
	if err := s.sendBalance(ctx, w, u.ID); err != nil {
		return err
	}
	beat := time.NewTicker(s.liveHeartbeat())
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil // the person left
		case ev, ok := <-sub.C():
			if !ok {
				return w.bye() // the server is shutting down
			}
			if ev.Kind == live.SessionEnded {
				if !s.liveSessionAlive(ctx, hash) {
					return w.bye()
				}
				continue
			}
			if err := s.sendMoved(ctx, w, u.ID, ev); err != nil {
				return err
			}
		case <-beat.C:
			if !s.liveSessionAlive(ctx, hash) {
				return w.bye()
			}
			if err := w.comment(); err != nil {
				return err
			}
		}
	}
}

func (s *Server) liveHeartbeat() time.Duration {
	if s.cfg.LiveHeartbeat > 0 {
		return s.cfg.LiveHeartbeat
	}
	return DefaultLiveHeartbeat
}

// sendMoved tells the person what moved (a toast, when the transaction is
// theirs) and their balance now.
func (s *Server) sendMoved(ctx context.Context, w *eventWriter, userID int64, ev live.Event) error {
	if ev.Kind == live.Moved {
		m, err := s.live.Movement(ctx, userID, ev.TxnID)
		switch {
		case errors.Is(err, live.ErrNotMine):
			// Not theirs after all: say nothing about it.
		case err != nil:
			return err
		default:
			t := components.Toast{TxnID: m.TxnID, Kind: m.Kind, Description: m.Description, Amount: m.Amount,
				GiftFrom: m.GiftFrom, GiftItem: m.GiftItem, GiftQuantity: m.GiftQuantity}
			if err := w.event(ctx, components.LiveEventToast, components.LiveToast(t)); err != nil {
				return err
			}
		}
	}
	return s.sendBalance(ctx, w, userID)
}

func (s *Server) sendBalance(ctx context.Context, w *eventWriter, userID int64) error {
	bal, err := s.live.Balance(ctx, userID)
	if err != nil {
		return err
	}
	return w.event(ctx, components.LiveEventBalance, components.LiveAmount(bal))
}

// liveSessionAlive checks the stream's session as loading it would, without
// touching it: a stream is not activity, so an open tab alone does not keep
// a session from its idle timeout. Unknown (the database did not answer)
// counts as ended: the page falls back to polling, which asks again.
func (s *Server) liveSessionAlive(ctx context.Context, hash []byte) bool {
	if hash == nil {
		return false
	}
	row, err := s.sessions.rows.SessionByHash(ctx, hash)
	if err != nil {
		if !errors.Is(err, account.ErrNotFound) && ctx.Err() == nil {
			s.log.WarnContext(ctx, "live: check the stream's session", "err", err)
		}
		return false
	}
	now := s.cfg.Now()
	return row.User != nil && row.Generation == row.User.SessionGeneration &&
		now.Sub(row.LastSeenAt) <= s.sessions.idle && now.Sub(row.CreatedAt) <= s.sessions.absolute
}

// eventWriter writes server-sent events. Each write pushes the connection's
// write deadline out by two heartbeats and clears its read deadline: the
// server's WriteTimeout and ReadTimeout are for ordinary requests, and a
// stream would otherwise be cut (and its context cancelled) by them.
type eventWriter struct {
	c    echo.Context
	rc   *http.ResponseController
	beat time.Duration
}

func newEventWriter(c echo.Context, beat time.Duration) *eventWriter {
	return &eventWriter{c: c, rc: http.NewResponseController(c.Response()), beat: beat}
}

func (w *eventWriter) open() error {
	h := w.c.Response().Header()
	h.Set(echo.HeaderContentType, "text/event-stream; charset=utf-8")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	_ = w.rc.SetReadDeadline(time.Time{})
	w.c.Response().WriteHeader(http.StatusOK)
	return w.write(nil)
}

// event sends comp's HTML as one event; each line is a data line, which
// the browser joins again with newlines.
func (w *eventWriter) event(ctx context.Context, name string, comp templ.Component) error {
	var html bytes.Buffer
	if err := comp.Render(ctx, &html); err != nil {
		return fmt.Errorf("live: render %s: %w", name, err)
	}
	var b bytes.Buffer
	b.WriteString("event: " + name + "\n")
	for _, line := range strings.Split(html.String(), "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	return w.write(b.Bytes())
}

// comment is the heartbeat: ignored by the browser, seen by proxies.
func (w *eventWriter) comment() error { return w.write([]byte(": keep\n\n")) }

// bye tells the page the server closed the stream on purpose (the
// extension's sse-close), so it does not reconnect: it polls instead,
// which stops at the first refusal when the session has ended.
func (w *eventWriter) bye() error {
	return w.write([]byte("event: " + components.LiveEventBye + "\ndata: bye\n\n"))
}

func (w *eventWriter) write(b []byte) error {
	_ = w.rc.SetWriteDeadline(time.Now().Add(2 * w.beat))
	if len(b) > 0 {
		if _, err := w.c.Response().Write(b); err != nil {
			if w.c.Request().Context().Err() != nil {
				return context.Canceled // the person left: not our failure
			}
			return fmt.Errorf("live: write event: %w", err)
		}
	}
	w.c.Response().Flush()
	return nil
}
