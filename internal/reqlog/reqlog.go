// Package reqlog ties log lines to the request they were written for: the
// request id travels in the context, and a slog handler adds it to every
// line logged with that context.
package reqlog

import (
	"context"
	"io"
	"log/slog"
)

type idKey struct{}

// WithID returns ctx carrying the request id.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, idKey{}, id)
}

// ID is the request id ctx carries, "" outside a request.
func ID(ctx context.Context) string {
	id, _ := ctx.Value(idKey{}).(string)
	return id
}

// New is the process's logger: JSON lines when format is "json" (for a log
// collector), key=value text otherwise (for a person at a terminal). Every
// line logged with a request's context carries its request_id.
func New(w io.Writer, format string) *slog.Logger {
	var h slog.Handler = slog.NewTextHandler(w, nil)
	if format == "json" {
		h = slog.NewJSONHandler(w, nil)
	}
	return slog.New(handler{h})
}

// handler adds request_id to records logged with a request's context.
type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if id := ID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler { return handler{h.Handler.WithAttrs(as)} }
func (h handler) WithGroup(name string) slog.Handler    { return handler{h.Handler.WithGroup(name)} }
