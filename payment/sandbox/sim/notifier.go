package sim

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Retry schedules: the delay before each retry after the first attempt, as
// the providers document them.
var (
	// Alipay retries 8 times over about 25 hours until it reads "success".
	AlipaySchedule = []time.Duration{4 * time.Minute, 10 * time.Minute, 10 * time.Minute, time.Hour,
		2 * time.Hour, 6 * time.Hour, 15 * time.Hour}
	// WeChat Pay retries 15 times over about 24 hours until HTTP 200/204.
	WeChatSchedule = []time.Duration{15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute,
		10 * time.Minute, 20 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute,
		time.Hour, 3 * time.Hour, 3 * time.Hour, 3 * time.Hour, 6 * time.Hour, 6 * time.Hour}
	// PayPal redelivers a webhook that gets no 2xx "up to 25 times over
	// 3 days": its webhooks guide (developer.paypal.com/api/rest/webhooks/),
	// as quoted in PROVIDERS.md §4.6. No PayPal page gives the intervals:
	// these 24 gaps (25 attempts) back off quickly, then every 4 hours, 72
	// hours in all; the notifier's factor scales them like every schedule.
	PayPalSchedule = []time.Duration{time.Minute, 4 * time.Minute, 10 * time.Minute, 15 * time.Minute,
		30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 4 * time.Hour, 4 * time.Hour, 4 * time.Hour,
		4 * time.Hour, 4 * time.Hour, 4 * time.Hour, 4 * time.Hour, 4 * time.Hour, 4 * time.Hour, 4 * time.Hour,
		4 * time.Hour, 4 * time.Hour, 4 * time.Hour, 4 * time.Hour, 4 * time.Hour, 4 * time.Hour}
	// UnionPay resends a back notification with growing gaps.
	UnionPaySchedule = []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute}
)

// Delivery is one notification to deliver until the merchant acknowledges.
type Delivery struct {
	Name     string          // for logs, e.g. "alipay notify 2026112400001"
	Schedule []time.Duration // delays between attempts
	Delay    time.Duration   // wait before the first attempt (before the time factor)
	// Build makes a fresh request for each attempt, so protocols that sign a
	// timestamp sign a new one.
	Build func(ctx context.Context) (*http.Request, error)
	// Acked reads the merchant's answer the way the provider does.
	Acked func(status int, body []byte) bool
}

// Notifier delivers notifications in the background with retries. Factor
// scales every delay (1 in production-like runs, small in tests).
type Notifier struct {
	Client *http.Client
	Factor float64
	Log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewNotifier makes a notifier; Close stops its retries.
func NewNotifier(client *http.Client, factor float64, log *slog.Logger) *Notifier {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if factor <= 0 {
		factor = 1
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Notifier{Client: client, Factor: factor, Log: log, ctx: ctx, cancel: cancel}
}

// Deliver starts delivering d in the background.
func (n *Notifier) Deliver(d Delivery) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if !n.sleep(d.Delay) {
			return
		}
		for attempt := 0; ; attempt++ {
			if n.Attempt(d) {
				return
			}
			if attempt >= len(d.Schedule) || !n.sleep(d.Schedule[attempt]) {
				n.Log.Warn("sandbox: notification given up", "name", d.Name, "attempts", attempt+1)
				return
			}
		}
	}()
}

// Attempt makes one delivery attempt and reports whether it was acknowledged.
func (n *Notifier) Attempt(d Delivery) bool {
	ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
	defer cancel()
	req, err := d.Build(ctx)
	if err != nil {
		n.Log.Error("sandbox: build notification", "name", d.Name, "err", err)
		return false
	}
	res, err := n.Client.Do(req)
	if err != nil {
		n.Log.Info("sandbox: notification not delivered", "name", d.Name, "err", err)
		return false
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	ok := d.Acked(res.StatusCode, body)
	n.Log.Info("sandbox: notification delivered", "name", d.Name, "status", res.StatusCode, "acked", ok)
	return ok
}

// After runs fn once after d (scaled), unless the notifier closes first.
func (n *Notifier) After(d time.Duration, fn func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if n.sleep(d) {
			fn()
		}
	}()
}

func (n *Notifier) sleep(d time.Duration) bool {
	if d <= 0 {
		return n.ctx.Err() == nil
	}
	t := time.NewTimer(time.Duration(float64(d) * n.Factor))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-n.ctx.Done():
		return false
	}
}

// Scaled is d after the time factor.
func (n *Notifier) Scaled(d time.Duration) time.Duration { return time.Duration(float64(d) * n.Factor) }

// Wait blocks until every delivery in flight has finished (tests).
func (n *Notifier) Wait() { n.wg.Wait() }

// Close stops all retries and waits for them.
func (n *Notifier) Close() {
	n.cancel()
	n.wg.Wait()
}
