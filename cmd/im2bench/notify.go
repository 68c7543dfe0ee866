package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"im2pay/db"
)

const (
	notifyCopies  = 4  // each notification is delivered this many times
	notifyConns   = 32 // deliveries in flight at once
	notifyUsers   = 100
	notifyAmount  = 600 // fen: ¥6, the smallest preset, no bonus
	notifyTimeFmt = "2006-01-02 15:04:05"
)

var beijing = time.FixedZone("CST", 8*60*60)

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
			_, _, err := db.CreateOrder(ctx, tx, db.Order{OutTradeNo: nos[i], UserID: users[i%len(users)].ID,
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
	key, err := readRSAKey(filepath.Join(b.app.keysDir, "alipay", "alipay_private_key.pem"))
	if err != nil {
		return nil, err
	}
	bodies := make([]string, n)
	for i, no := range nos {
		bodies[i] = b.alipayNotification(key, no, i)
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

// alipayNotification is the form Alipay posts for a paid trade, signed over
// every non-empty parameter but sign and sign_type, sorted by name.
func (b *bench) alipayNotification(key *rsa.PrivateKey, no string, i int) string {
	now := time.Now().In(beijing).Format(notifyTimeFmt)
	amount := fmt.Sprintf("%d.%02d", notifyAmount/100, notifyAmount%100)
	v := url.Values{
		"notify_type": {"trade_status_sync"}, "notify_id": {randomHex(16)}, "notify_time": {now},
		"charset": {"utf-8"}, "version": {"1.0"}, "app_id": {b.app.alipay.AppID}, "auth_app_id": {b.app.alipay.AppID},
		"seller_id": {b.app.alipay.SellerID}, "out_trade_no": {no}, "trade_no": {fmt.Sprintf("2026%s%012d", b.run, i)},
		"trade_status": {"TRADE_SUCCESS"}, "total_amount": {amount}, "receipt_amount": {amount},
		"buyer_pay_amount": {amount}, "subject": {"IM2.0 recharge"}, "gmt_create": {now}, "gmt_payment": {now},
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + v.Get(k)
	}
	h := sha256.Sum256([]byte(strings.Join(parts, "&")))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, h[:])
	if err != nil {
		panic(err) // only for a malformed key, which readRSAKey refuses
	}
	v.Set("sign_type", "RSA2")
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return v.Encode()
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

func readRSAKey(path string) (*rsa.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("%s is not PEM", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if rk, ok := k.(*rsa.PrivateKey); ok && err == nil {
		return rk, nil
	}
	return nil, fmt.Errorf("%s is not an RSA private key", path)
}
