package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"im2pay/db/dbtest"
)

// lineWriter hands each line serve prints to lines.
type lineWriter struct{ lines chan string }

func (w lineWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		select {
		case w.lines <- l:
		default:
		}
	}
	return len(p), nil
}

// A graceful shutdown of `im2pay serve` ends the open live balance streams
// (with their bye) instead of waiting on them until its deadline.
func TestServeStopsWithALiveStreamOpen(t *testing.T) {
	const bound = 2 * time.Minute // a bound for a hang, never a measure
	dir := t.TempDir()
	env := map[string]string{"DATABASE_URL": dbtest.NewURL(t), "LISTEN_ADDR": "127.0.0.1:0", "DATA_DIR": dir,
		"PAYMENT_CONFIG": filepath.Join(dir, "none.json")}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := lineWriter{lines: make(chan string, 100)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, envOf(env), out) }()
	addr := regexp.MustCompile(`serving on (http://[0-9.:]+)`)
	var base string
	for base == "" {
		select {
		case l := <-out.lines:
			if m := addr.FindStringSubmatch(l); m != nil {
				base = m[1]
			}
		case err := <-done:
			t.Fatalf("serve ended: %v", err)
		case <-time.After(bound):
			t.Fatal("serve never said where it serves")
		}
	}

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	page, err := client.Get(base + "/register")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	csrf := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(body)
	if csrf == nil {
		t.Fatal("no CSRF field on /register")
	}
	res, err := client.PostForm(base+"/register", url.Values{"_csrf": {string(csrf[1])}, "username": {"live_serve"},
		"password": {"Lantern-harbour-42"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	stream, err := client.Get(base + "/account/live")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if ct := stream.Header.Get("Content-Type"); stream.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("stream answered %d %q", stream.StatusCode, ct)
	}
	events := make(chan string, 10)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				events <- name
			}
		}
	}()
	if ev := <-events; ev != "balance" {
		t.Fatalf("first event %q, want balance", ev)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(bound):
		t.Fatal("serve did not stop with a stream open")
	}
	var last string
	for ev := range events {
		last = ev
	}
	if last != "bye" {
		t.Fatalf("the stream ended with %q, want bye", last)
	}
}
