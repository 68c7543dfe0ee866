package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	alipaysandbox "im2pay/payment/sandbox/alipay"
	"im2pay/payment/sandbox/sim"
	"im2pay/recharge"
)

const (
	notifyCopies = 4  // each notification is delivered this many times
	notifyConns  = 32 // deliveries in flight at once
	notifyUsers  = 100
	notifyAmount = 600 // fen: ¥6, the smallest preset, no bonus
)

// figureNotify is figure 6: the bench plays Alipay. It creates the orders,
// signs one TRADE_SUCCESS notification per order with the sandbox's Alipay
// key (RSA2, as Alipay signs), then delivers every notification four times,
// the copies concurrently and the notifications out of order. Every order
// must be credited exactly once, checked in the ledger.
func (b *bench) figureNotify(ctx context.Context) ([]result, error) {
	n := b.sz.notifications
	users, err := b.createUsers(ctx, "n", notifyUsers)
	if err != nil {
		return nil, err
	}
	prefix := "BN" + strings.ToUpper(b.run)
	nos := make([]string, n)
	err = b.store.InTx(ctx, func(tx *sqlx.Tx) error {
		for i := range nos {
			nos[i] = fmt.Sprintf("%s%08d", prefix, i)
			_, _, err := recharge.InsertOrder(ctx, tx, recharge.Order{OutTradeNo: nos[i], UserID: users[i%len(users)].ID,
				RequestKey: "bench-order-" + nos[i], Method: "alipay", Device: "desktop", Amount: notifyAmount,
				Currency: "CNY", ExpiresAt: time.Now().Add(time.Hour)})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create orders: %w", err)
	}
	// The sandbox's own Alipay, over the keys the app was configured with,
	// signs the notifications; nothing is delivered through it.
	notifier := sim.NewNotifier(nil, 1, nil)
	defer notifier.Close()
	signer, err := alipaysandbox.New(b.app.keysDir, notifier, nil)
	if err != nil {
		return nil, err
	}
	bodies := make([]string, n)
	for i, no := range nos {
		bodies[i] = signer.PaidNotification(no, fmt.Sprintf("2026%s%012d", b.run, i), notifyAmount, "IM2.0 recharge")
	}
	plan := deliveryPlan(n)
	client := httpClient(notifyConns)
	if err := b.resetHWM(); err != nil {
		return nil, err
	}
	var acked, refused atomic.Int64
	var firstErr atomic.Value
	var next atomic.Int64
	var wg sync.WaitGroup
	begin := time.Now()
	for range notifyConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(plan)) && ctx.Err() == nil; i = next.Add(1) - 1 {
				if err := b.deliver(ctx, client, bodies[plan[i]]); err != nil {
					refused.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				acked.Add(1)
			}
		}()
	}
	wg.Wait()
	took := time.Since(begin)
	credited, err := b.countCredits(ctx, prefix, users)
	if err != nil {
		return nil, err
	}
	rate := float64(credited.txns) / took.Seconds()
	r := result{ID: "6", Name: fmt.Sprintf("notification flood (%d × %d)", n, notifyCopies),
		Value: fmt.Sprintf("%.0f credits/s", rate), Ref: fmt.Sprintf("figure 1: %.0f tps", b.postingTPS),
		Note: fmt.Sprintf("%d of %d orders paid, %d top-up transactions, wallets +%d fen (want %d); %d of %d deliveries acknowledged",
			credited.paid, n, credited.txns, credited.fen, n*notifyAmount, acked.Load(), len(plan))}
	if e := firstErr.Load(); e != nil {
		r.Note = joinNotes(r.Note, fmt.Sprintf("first refusal: %.120v", e))
	}
	r = ratioResult(r, rate, b.postingTPS, 0.3, false)
	exact := credited.paid == n && credited.txns == n && credited.fen == int64(n*notifyAmount) && credited.distinct == n
	if !exact {
		r.Met = false
		r.Note = "NOT EXACTLY ONCE: " + r.Note
	}
	return []result{r}, nil
}

// deliveryPlan orders the copies: notifications in random order, and the
// copies of each within a window smaller than the number of connections, so
// they are in flight at the same time, shuffled among other notifications.
func deliveryPlan(n int) []int {
	order := rand.Perm(n)
	window := notifyConns / notifyCopies
	var plan []int
	for start := 0; start < n; start += window {
		var batch []int
		for _, j := range order[start:min(n, start+window)] {
			for range notifyCopies {
				batch = append(batch, j)
			}
		}
		rand.Shuffle(len(batch), func(a, b int) { batch[a], batch[b] = batch[b], batch[a] })
		plan = append(plan, batch...)
	}
	return plan
}

// deliver posts one notification; Alipay counts it delivered only when the
// body is exactly "success".
func (b *bench) deliver(ctx context.Context, client *http.Client, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.app.base+"/pay/notify/alipay", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || string(got) != "success" {
		return fmt.Errorf("notify: %w %d %q", errStatus, resp.StatusCode, got)
	}
	return nil
}

type credits struct {
	paid, txns, distinct int
	fen                  int64
}

// countCredits reads the outcome from the database: orders paid, top-up
// transactions (one per order, by reference), and what the wallets gained.
func (b *bench) countCredits(ctx context.Context, prefix string, users []benchUser) (credits, error) {
	var c credits
	wallets := make([]int64, len(users))
	for i, u := range users {
		wallets[i] = u.WalletID
	}
	err := b.conn.QueryRowxContext(ctx, `
		SELECT (SELECT count(*) FROM recharge_orders WHERE out_trade_no LIKE $1 || '%' AND state = 'paid'),
		       (SELECT count(*) FROM ledger_transactions WHERE kind = 'topup' AND reference LIKE 'order:' || $1 || '%'),
		       (SELECT count(DISTINCT reference) FROM ledger_transactions WHERE kind = 'topup' AND reference LIKE 'order:' || $1 || '%'),
		       (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
		         WHERE e.account_id = ANY($2))`, prefix, pq.Array(wallets)).Scan(&c.paid, &c.txns, &c.distinct, &c.fen)
	return c, err
}
