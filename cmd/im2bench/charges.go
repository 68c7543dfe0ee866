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
// per connection, compared with pgbench.
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
	s := timed(ctx, httpConns, b.sz.phase, func(ctx context.Context, w, i int) error {
		body := fmt.Sprintf(`{"user":%q,"amount_fen":1,"reason":"priority_message","idempotency_key":"bench-%s-%d-%d"}`,
			users[w].Username, b.run, w, i)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.app.base+"/api/v1/charges", strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+b.app.token)
		req.Header.Set("Content-Type", "application/json")
		return expect(client, req, http.StatusCreated)
	})
	peak, err := b.hwmKB()
	if err != nil {
		return nil, err
	}
	r := result{ID: "3", Name: "per-use charges over HTTP, 32 conns",
		Value: fmt.Sprintf("%.0f req/s", s.perSecond()), Ref: fmt.Sprintf("pgbench: %.0f tps", b.pgbenchTPS),
		Note: joinNotes(fmt.Sprintf("p99 %s, server peak %.0f MB", fmtDur(s.percentile(99)), float64(peak)/1024), s.errorsNote())}
	return []result{ratioResult(r, s.perSecond(), b.pgbenchTPS, 0.7, false)}, nil
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
