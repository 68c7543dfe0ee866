package wechatsandbox

import (
	"bytes"
	"context"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"im2pay/payment/sandbox/sim"
	"im2pay/payment/wechat"
)

// transaction is WeChat's transaction object: the query answer, and the
// plaintext of a notification's resource.
type transaction struct {
	AppID          string   `json:"appid"`
	MchID          string   `json:"mchid"`
	OutTradeNo     string   `json:"out_trade_no"`
	TransactionID  string   `json:"transaction_id,omitempty"`
	TradeType      string   `json:"trade_type,omitempty"`
	TradeState     string   `json:"trade_state"`
	TradeStateDesc string   `json:"trade_state_desc"`
	BankType       string   `json:"bank_type,omitempty"`
	Attach         string   `json:"attach"`
	SuccessTime    string   `json:"success_time,omitempty"`
	Payer          *payer   `json:"payer,omitempty"`
	Amount         txAmount `json:"amount"`
}

type payer struct {
	OpenID string `json:"openid"`
}

// txAmount: total is what the merchant asked, payer_total what the payer
// paid (they differ with coupons, which the sandbox has none of).
type txAmount struct {
	Total         int64  `json:"total"`
	PayerTotal    *int64 `json:"payer_total,omitempty"`
	Currency      string `json:"currency"`
	PayerCurrency string `json:"payer_currency,omitempty"`
}

// transaction renders o. Callers hold s.mu.
func (s *Sandbox) transaction(o *order) transaction {
	tx := transaction{AppID: s.keys.AppID, MchID: s.keys.MchID, OutTradeNo: o.outTradeNo,
		TradeState: s.stateOf(o), TradeStateDesc: o.desc, Attach: o.attach,
		Amount: txAmount{Total: o.amount, Currency: o.currency}}
	if o.transactionID != "" {
		total := o.amount
		tx.TransactionID, tx.TradeType, tx.BankType = o.transactionID, o.tradeType, "OTHERS"
		tx.SuccessTime = o.successTime.In(cst).Format(time.RFC3339)
		tx.Payer = &payer{OpenID: "oSandbox" + o.token}
		tx.Amount.PayerTotal, tx.Amount.PayerCurrency = &total, o.currency
	}
	return tx
}

// envelope is a notification body; resource holds the encrypted transaction.
type envelope struct {
	ID           string   `json:"id"`
	CreateTime   string   `json:"create_time"`
	ResourceType string   `json:"resource_type"`
	EventType    string   `json:"event_type"`
	Summary      string   `json:"summary"`
	Resource     resource `json:"resource"`
}

type resource struct {
	OriginalType   string `json:"original_type"`
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

// seal encrypts tx with AES-256-GCM under the APIv3 key (12-character
// nonce, associated data "transaction") into a TRANSACTION.SUCCESS body.
func seal(aead cipher.AEAD, tx transaction) []byte {
	plain, _ := json.Marshal(tx)
	nonce := randString(aead.NonceSize(), alnum)
	ct := aead.Seal(nil, []byte(nonce), plain, []byte("transaction"))
	body, _ := json.Marshal(envelope{
		ID:         notificationID(),
		CreateTime: time.Now().In(cst).Format(time.RFC3339), ResourceType: "encrypt-resource",
		EventType: wechat.EventTransactionSuccess, Summary: "支付成功",
		Resource: resource{OriginalType: "transaction", Algorithm: "AEAD_AES_256_GCM",
			Ciphertext: base64.StdEncoding.EncodeToString(ct), AssociatedData: "transaction", Nonce: nonce},
	})
	return body
}

// delivery is the notification for a paid order, retried on WeChat's
// schedule until the merchant answers 200 or 204. The body (and its
// notification id) stays the same across retries; each attempt is signed
// afresh with a new timestamp and nonce. Callers hold s.mu.
func (s *Sandbox) delivery(o *order) *sim.Delivery {
	body, to := seal(s.aead, s.transaction(o)), o.notifyURL
	return &sim.Delivery{
		Name:     "wechat notify " + o.outTradeNo,
		Schedule: sim.WeChatSchedule,
		Build: func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", "Mozilla/4.0")
			s.signNotification(req.Header, body, time.Now())
			return req, nil
		},
		Acked: func(status int, _ []byte) bool {
			return status == http.StatusOK || status == http.StatusNoContent
		},
	}
}

// notificationID is a notification id shaped like those of captured real
// traffic: a UUID such as 4e4159e2-f6dd-5222-…, its version digit 5 as
// there, although the docs' example is "EV-…" (PROVIDERS.md §2.1; §5 row
// 17). The docs promise nothing about the shape, so the merchant side
// treats the id as opaque, up to 36 characters. Whether a retried delivery
// keeps its id is undocumented; the sandbox keeps it (the body is built
// once per notification).
func notificationID() string {
	b := []byte(randString(32, hexdigits))
	b[12] = '5'
	b[16] = "89ab"[b[16]%4] // the RFC 9562 variant bits 10xx
	return string(b[0:8]) + "-" + string(b[8:12]) + "-" + string(b[12:16]) + "-" + string(b[16:20]) + "-" + string(b[20:32])
}
