package main

import (
	"context"
	"fmt"
	"net/http"
)

// staticPath is the reference of figure 4: a file the same server serves
// from its embedded static files, through the same middleware.
const staticPath = "/static/css/app.css"

// figureAccount is figure 4: the account center of a logged-in user, 32
// connections, against a static file from the same server; the two
// alternate so both see the same machine.
func (b *bench) figureAccount(ctx context.Context) ([]result, error) {
	users, err := b.createUsers(ctx, "a", 1)
	if err != nil {
		return nil, err
	}
	if err := b.fund(ctx, users, 100_00); err != nil {
		return nil, err
	}
	client, err := b.login(ctx, users[0].Username, httpConns)
	if err != nil {
		return nil, err
	}
	get := func(path string) func(ctx context.Context, w, i int) error {
		return func(ctx context.Context, w, i int) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.app.base+path, nil)
			if err != nil {
				return err
			}
			return expect(client, req, http.StatusOK)
		}
	}
	if err := b.resetHWM(); err != nil {
		return nil, err
	}
	var static, account stats
	for range b.sz.rounds {
		static = static.merge(timed(ctx, httpConns, b.sz.phase, get(staticPath)))
		account = account.merge(timed(ctx, httpConns, b.sz.phase, get("/account")))
	}
	peak, err := b.hwmKB()
	if err != nil {
		return nil, err
	}
	r := result{ID: "4", Name: "account center over HTTP, 32 conns",
		Value: fmt.Sprintf("%.0f req/s, p99 %s", account.perSecond(), fmtDur(account.percentile(99))),
		Ref:   fmt.Sprintf("static %s: %.0f req/s, p99 %s", staticPath, static.perSecond(), fmtDur(static.percentile(99))),
		Note: joinNotes(fmt.Sprintf("p50 %s, server peak %.0f MB", fmtDur(account.percentile(50)), float64(peak)/1024),
			account.errorsNote(), static.errorsNote())}
	return []result{ratioResult(r, account.perSecond(), static.perSecond(), 0.5, false)}, nil
}
