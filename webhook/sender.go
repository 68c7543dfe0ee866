package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"im2pay/db"
)

// Retry policy: a failed delivery is tried again after 30 s, doubling up
// to an hour between tries, until a day has passed since the first try.
const (
	firstRetry = 30 * time.Second
	maxRetry   = time.Hour
	retryFor   = 24 * time.Hour
	// lease is how long a claimed event is this sender's: longer than one
	// delivery may take (the client's timeout), so no two senders overlap.
	lease     = time.Minute
	batchSize = 100
)

// Event is the JSON body of a delivery.
type Event struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	User       string    `json:"user"`
	AmountFen  int64     `json:"amount_fen"`
	BalanceFen int64     `json:"balance_fen"`
	OccurredAt time.Time `json:"occurred_at"`
}

// Sender delivers due events to URL.
type Sender struct {
	Store  *db.Store
	URL    string
	Secret []byte
	Client *http.Client // nil: 10 s timeout
	Now    func() time.Time
	Log    *slog.Logger
}

// Pass delivers what is due now and returns how many were delivered. Each
// claim takes one event per user (their oldest), so a pass goes round
// until nothing more is due or a round delivers nothing new.
func (s *Sender) Pass(ctx context.Context) (int, error) {
	delivered := 0
	for ctx.Err() == nil {
		events, err := s.Store.ClaimWebhookEvents(ctx, s.Now(), lease, batchSize)
		if err != nil || len(events) == 0 {
			return delivered, err
		}
		ok := 0
		for _, e := range events {
			if s.deliver(ctx, e) {
				ok++
			}
		}
		delivered += ok
		if ok == 0 {
			return delivered, nil // all failed: they wait for their retry
		}
	}
	return delivered, ctx.Err()
}

// deliver sends one event and records the attempt.
func (s *Sender) deliver(ctx context.Context, e db.WebhookEvent) bool {
	status, err := s.post(ctx, e)
	at := s.Now()
	out := db.WebhookOutcome{At: at, Status: status}
	if err != nil {
		out.Error = err.Error()
		out.Next = at.Add(backoff(e.Attempts))
		out.GiveUp = e.FirstAttemptAt.Valid && !out.Next.Before(e.FirstAttemptAt.Time.Add(retryFor))
	}
	if rerr := s.Store.RecordWebhookAttempt(context.WithoutCancel(ctx), e.ID, out); rerr != nil {
		s.Log.Error("webhook: record attempt", "event", e.EventID, "err", rerr)
	}
	switch {
	case err == nil:
		return true
	case out.GiveUp:
		s.Log.Error("webhook: given up after a day of retries; resend with im2pay webhooks resend", "event", e.EventID, "err", err)
	default:
		s.Log.Warn("webhook: delivery failed, will retry", "event", e.EventID, "attempt", e.Attempts+1, "next", out.Next, "err", err)
	}
	return false
}

// post makes one delivery; only a 2xx answer counts as received.
func (s *Sender) post(ctx context.Context, e db.WebhookEvent) (int, error) {
	body, err := json.Marshal(Event{ID: e.EventID, Type: e.Type, User: e.Username, AmountFen: e.Amount,
		BalanceFen: e.BalanceAfter, OccurredAt: e.OccurredAt.UTC()})
	if err != nil {
		return 0, err
	}
	ts := s.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "IM2.0-Pay-Webhooks/1")
	req.Header.Set(HeaderID, e.EventID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(s.Secret, ts, body))
	res, err := s.client().Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("receiver answered %d", res.StatusCode)
	}
	return res.StatusCode, nil
}

// defaultClient keeps connections to the receiver alive between
// deliveries; 10 s bounds one delivery, well inside the lease.
var defaultClient = &http.Client{Timeout: 10 * time.Second}

func (s *Sender) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return defaultClient
}

// backoff is the pause after the attempts-th failed try (0-based).
func backoff(attempts int) time.Duration {
	d := firstRetry
	for range attempts {
		d *= 2
		if d >= maxRetry {
			return maxRetry
		}
	}
	return d
}
