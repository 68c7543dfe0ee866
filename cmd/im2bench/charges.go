package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// httpConns is the number of connections figures 3 and 4 load the app with.
const httpConns = 32

// figureCharges is figure 3: per-use charges over the service API, one user
// per connection, compared with pgbench; then 3b, the same load spread over
// two app instances against the one database, compared with one instance
// measured just before in the same run.
func (b *bench) figureCharges(ctx context.Context) ([]result, error) {
	users, err := b.createUsers(ctx, "c", httpConns)
	if err != nil {
		return nil, err
	}
	if err := b.fund(ctx, users, 1_000_000_00); err != nil {
		return nil, err
	}
	client := httpClient(httpConns)
	if err := b.resetHWM(); err != nil {
		return nil, err
	}
	one := b.charges(ctx, client, users, "one", b.app.base)
	peak, err := b.hwmKB()
	if err != nil {
		return nil, err
	}
	r := result{ID: "3", Name: "per-use charges over HTTP, 32 conns",
		Value: fmt.Sprintf("%.0f req/s", one.perSecond()), Ref: fmt.Sprintf("pgbench: %.0f tps", b.pgbenchTPS),
		Note: joinNotes(fmt.Sprintf("p99 %s, server peak %.0f MB", fmtDur(one.percentile(99)), float64(peak)/1024), one.errorsNote())}
	results := []result{ratioResult(r, one.perSecond(), b.pgbenchTPS, 0.7, false)}

	second, err := b.startSecond(ctx)
	if err != nil {
		return nil, err
	}
	defer second.stop()
	two := b.charges(ctx, client, users, "two", b.app.base, second.base)
	r2 := result{ID: "3b", Name: "charges, two app instances, one DB",
		Value: fmt.Sprintf("%.0f req/s", two.perSecond()), Ref: fmt.Sprintf("one instance: %.0f req/s", one.perSecond()),
		Note: joinNotes(fmt.Sprintf("p99 %s; 16 conns to each instance; same machine, same %d cores", fmtDur(two.percentile(99)), b.machine.Cores),
			two.errorsNote())}
	// No target: both instances and the database share this machine's
	// cores, so the ratio says how well two instances share one database
	// (no lock or lease of one slowing the other), not how far more
	// machines would go.
	r2 = ratioResult(r2, two.perSecond(), one.perSecond(), 0, false)
	r2.Target, r2.Met, r2.Info = "none: one machine", false, true
	return append(results, r2), nil
}

// charges runs figure 3's load for one phase, each worker sending to one of
// bases in turn (worker w to bases[w % len(bases)]); tag keeps the phase's
// idempotency keys apart from the other's.
func (b *bench) charges(ctx context.Context, client *http.Client, users []benchUser, tag string, bases ...string) stats {
	return timed(ctx, httpConns, b.sz.phase, func(ctx context.Context, w, i int) error {
		body := fmt.Sprintf(`{"user":%q,"amount_fen":1,"reason":"priority_message","idempotency_key":"bench-%s-%s-%d-%d"}`,
			users[w].Username, b.run, tag, w, i)
		base := bases[w%len(bases)]
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/charges", strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+b.app.token)
		req.Header.Set("Content-Type", "application/json")
		return expect(client, req, http.StatusCreated)
	})
}

// expect sends req and reads the whole answer, which must have status want.
func expect(client *http.Client, req *http.Request, want int) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %w %d (want %d): %.200s", req.Method, req.URL.Path, errStatus, resp.StatusCode, want, body)
	}
	return nil
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// login signs username in through the login form, as a browser would, and
// returns a client carrying its session.
func (b *bench) login(ctx context.Context, username string, conns int) (*http.Client, error) {
	client := httpClient(conns)
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	client.Jar = jar
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.app.base+"/login", nil)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("login page has no CSRF token (status %d)", resp.StatusCode)
	}
	form := url.Values{"username": {username}, "password": {benchPassword}, "_csrf": {string(m[1])}}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, b.app.base+"/login", bytes.NewBufferString(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.app.base)
	resp, err = client.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("login as %s: status %d: %.300s", username, resp.StatusCode, body)
	}
	return client, nil
}
