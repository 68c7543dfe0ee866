package wechatsandbox

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/wechat"
)

// paidTx is a genuine paid transaction for the harness's merchant.
func (h *harness) paidTx(no string, amount int64) transaction {
	total := amount
	return transaction{AppID: h.cfg.AppID, MchID: h.cfg.MchID, OutTradeNo: no, TransactionID: "4200000000000000000000000001",
		TradeType: tradeNative, TradeState: wechat.StateSuccess, TradeStateDesc: "支付成功",
		SuccessTime: time.Now().In(cst).Format(time.RFC3339),
		Amount:      txAmount{Total: amount, PayerTotal: &total, Currency: "CNY", PayerCurrency: "CNY"}}
}

// signed returns the headers WeChat Pay would send with body at time at.
func (h *harness) signed(body []byte, at time.Time) http.Header {
	hd := http.Header{}
	h.sb.sign(hd, body, at)
	return hd
}

// tamperCase is one forged or altered notification and the error it gets.
type tamperCase struct {
	name   string
	header func() http.Header // nil: a genuine signature over body
	body   []byte
	want   error
}

func TestTamperedNotificationsAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tx := h.paidTx("T0000000000000000000001", 68_00)
	body, now := seal(h.sb.aead, tx), time.Now()
	for _, c := range h.tamperCases(t, tx, body, now) {
		t.Run(c.name, func(t *testing.T) {
			hd := h.signed(c.body, now)
			if c.header != nil {
				hd = c.header()
			}
			if _, err := h.p.ParseNotification(context.Background(), hd, c.body); !errors.Is(err, c.want) {
				t.Fatalf("ParseNotification: %v, want %v", err, c.want)
			}
		})
	}
	n, err := h.p.ParseNotification(context.Background(), h.signed(body, now), body)
	if err != nil || n.Amount != 68_00 || n.Currency != "CNY" || n.Status != payment.StatusPaid {
		t.Fatalf("the untouched message: %+v, %v", n, err)
	}
}

func (h *harness) tamperCases(t *testing.T, tx transaction, body []byte, now time.Time) []tamperCase {
	otherKey := writeKey(t, filepath.Join(t.TempDir(), "k.pem"))
	block, _ := aes.NewCipher([]byte("0123456789abcdef0123456789ABCDEF"))
	otherAEAD, _ := cipher.NewGCM(block)
	with := func(f func(*transaction)) []byte {
		t := tx
		f(&t)
		return seal(h.sb.aead, t)
	}
	original := func(change func(http.Header)) func() http.Header {
		return func() http.Header {
			hd := h.signed(body, now)
			change(hd)
			return hd
		}
	}
	return []tamperCase{
		{"a changed amount keeps the old signature", original(func(http.Header) {}),
			with(func(t *transaction) { t.Amount.Total = 1 }), payment.ErrBadSignature},
		{"a changed status keeps the old signature", original(func(http.Header) {}),
			with(func(t *transaction) { t.TradeState = wechat.StateNotPay }), payment.ErrBadSignature},
		{"a signature from another key", original(func(hd http.Header) {
			msg := hd.Get(wechat.HeaderTimestamp) + "\n" + hd.Get(wechat.HeaderNonce) + "\n" + string(body) + "\n"
			hd.Set(wechat.HeaderSignature, signWith(otherKey, msg))
		}), body, payment.ErrBadSignature},
		{"a missing signature", original(func(hd http.Header) { hd.Del(wechat.HeaderSignature) }), body, payment.ErrBadSignature},
		{"a signature probe", original(func(hd http.Header) {
			hd.Set(wechat.HeaderSignature, wechat.SignTestPrefix+hd.Get(wechat.HeaderSignature))
		}), body, payment.ErrBadSignature},
		{"another key id", original(func(hd http.Header) { hd.Set(wechat.HeaderSerial, "PUB_KEY_ID_0000000000000000") }),
			body, payment.ErrBadSignature},
		{"a timestamp six minutes old", func() http.Header { return h.signed(body, now.Add(-6*time.Minute)) },
			body, payment.ErrStale},
		{"a timestamp six minutes ahead", func() http.Header { return h.signed(body, now.Add(6*time.Minute)) },
			body, payment.ErrStale},
		{"another merchant's valid message", nil, with(func(t *transaction) { t.MchID = "1900009999" }), payment.ErrWrongMerchant},
		{"another app's valid message", nil, with(func(t *transaction) { t.AppID = "wx0000000000000000" }), payment.ErrWrongMerchant},
		{"a resource under another APIv3 key", nil, seal(otherAEAD, tx), payment.ErrBadSignature},
		// Refund events are read now (refund.go), but only with a refund
		// resource: a REFUND.SUCCESS around a transaction is not one.
		{"a refund event around a transaction", nil, refundEvent(t, body), payment.ErrMalformed},
		{"a genuine message with a broken resource", nil, []byte(`{"event_type":"TRANSACTION.SUCCESS"}`), payment.ErrMalformed},
	}
}

// refundEvent relabels a payment notification body as a REFUND.SUCCESS event.
func refundEvent(t *testing.T, body []byte) []byte {
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	env["event_type"] = "REFUND.SUCCESS"
	b, _ := json.Marshal(env)
	return b
}

func TestAckAnswersAsWeChatExpects(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := httptest.NewRecorder()
	writeAck(w, h.p.Ack(true))
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Errorf("ok: %d %q, want 204 without body", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	writeAck(w, h.p.Ack(false))
	var fail struct{ Code, Message string }
	if w.Code != http.StatusInternalServerError || json.Unmarshal(w.Body.Bytes(), &fail) != nil || fail.Code != "FAIL" {
		t.Errorf("refusal: %d %q, want 500 {\"code\":\"FAIL\",…}", w.Code, w.Body)
	}
}
