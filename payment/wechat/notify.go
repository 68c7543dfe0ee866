package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"

	"im2pay/payment"
)

// Notification protocol constants.
const (
	// EventTransactionSuccess is the only event WeChat sends for payments:
	// failed or unpaid orders are never notified, only queried.
	EventTransactionSuccess = "TRANSACTION.SUCCESS"
	// SignTestPrefix starts the signature of WeChat's probe notifications,
	// sent to check that merchants really verify signatures: refuse them.
	SignTestPrefix = "WECHATPAY/SIGNTEST/"
	// SignatureType is the only Wechatpay-Signature-Type we accept.
	SignatureType = "WECHATPAY2-SHA256-RSA2048"
	// MaxSkew is how far a signed timestamp may be from our clock.
	MaxSkew = 5 * time.Minute
	// gcmNonceSize is the length of resource.nonce (AES-GCM standard nonce).
	gcmNonceSize = 12
)

// Header names WeChat signs notifications and answers with.
const (
	HeaderSerial    = "Wechatpay-Serial"
	HeaderSignature = "Wechatpay-Signature"
	HeaderTimestamp = "Wechatpay-Timestamp"
	HeaderNonce     = "Wechatpay-Nonce"
	HeaderSigType   = "Wechatpay-Signature-Type"
)

// ParseNotification verifies a payment or refund notification: the signature over
// "timestamp\nnonce\nbody\n" with the WeChat Pay public key, a fresh
// timestamp, then decrypts the AES-256-GCM resource with the APIv3 key and
// checks it names our merchant and app. Probes and stale messages are
// refused; REFUND.* events become a Notification with Refund set (see
// parseRefund); other verified events are ErrIgnored.
func (p *Provider) ParseNotification(ctx context.Context, header payment.Header, body []byte) (payment.Notification, error) {
	if err := p.checkHeaders(header, time.Now()); err != nil {
		return payment.Notification{}, err
	}
	// The SDK's handler reads an *http.Request; the URL is never used.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return payment.Notification{}, fmt.Errorf("wechat: notification: %w: %v", payment.ErrMalformed, err)
	}
	req.Header = http.Header(header).Clone()
	if err := validators.NewWechatPayNotifyValidator(p.verifier).Validate(ctx, req); err != nil {
		return payment.Notification{}, fmt.Errorf("wechat: notification: %w: %v", payment.ErrBadSignature, err)
	}
	// Checked here because the SDK dereferences resource without a nil
	// check.
	var env notify.Request
	if err := json.Unmarshal(body, &env); err != nil || env.Resource == nil {
		return payment.Notification{}, fmt.Errorf("wechat: notification without resource: %w", payment.ErrMalformed)
	}
	switch env.EventType {
	case EventTransactionSuccess:
	case EventRefundSuccess, EventRefundAbnormal, EventRefundClosed:
		return p.parseRefund(ctx, req, &env)
	default:
		return payment.Notification{}, fmt.Errorf("wechat: event %q: %w", env.EventType, payment.ErrIgnored)
	}
	// The SDK's AES-GCM Open panics on a nonce that is not 12 bytes.
	if env.ResourceType != "encrypt-resource" || env.Resource.OriginalType != "transaction" ||
		env.Resource.Algorithm != "AEAD_AES_256_GCM" || len(env.Resource.Nonce) != gcmNonceSize {
		return payment.Notification{}, fmt.Errorf("wechat: resource %q/%q/%q: %w",
			env.ResourceType, env.Resource.OriginalType, env.Resource.Algorithm, payment.ErrMalformed)
	}
	var tx payments.Transaction
	n, err := p.notify.ParseNotifyRequest(ctx, req, &tx)
	if err != nil {
		if n == nil || n.Resource == nil || n.Resource.Plaintext == "" {
			// The GCM tag did not verify: wrong APIv3 key or altered ciphertext.
			return payment.Notification{}, fmt.Errorf("wechat: notification: %w: %v", payment.ErrBadSignature, err)
		}
		return payment.Notification{}, fmt.Errorf("wechat: notification: %w: %v", payment.ErrMalformed, err)
	}
	r, err := p.result(tx, "")
	if err != nil {
		return payment.Notification{}, err
	}
	if r.Status != payment.StatusPaid {
		return payment.Notification{}, fmt.Errorf("wechat: %s with trade_state %q: %w",
			EventTransactionSuccess, str(tx.TradeState), payment.ErrMalformed)
	}
	return payment.Notification{Result: r, EventID: n.ID}, nil
}

// checkHeaders refuses what the SDK would either miss (signature probes)
// or report without a kind (stale timestamps, foreign keys).
func (p *Provider) checkHeaders(h http.Header, now time.Time) error {
	sig := strings.TrimSpace(h.Get(HeaderSignature))
	switch {
	case sig == "":
		return fmt.Errorf("wechat: notification without %s: %w", HeaderSignature, payment.ErrBadSignature)
	case strings.HasPrefix(sig, SignTestPrefix):
		return fmt.Errorf("wechat: signature probe: %w", payment.ErrBadSignature)
	case !slices.Contains(p.serials, h.Get(HeaderSerial)):
		return fmt.Errorf("wechat: notification signed by %q: %w", h.Get(HeaderSerial), payment.ErrBadSignature)
	case h.Get(HeaderSigType) != "" && h.Get(HeaderSigType) != SignatureType:
		return fmt.Errorf("wechat: signature type %q: %w", h.Get(HeaderSigType), payment.ErrBadSignature)
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(h.Get(HeaderTimestamp)), 10, 64)
	if err != nil {
		return fmt.Errorf("wechat: notification timestamp %q: %w", h.Get(HeaderTimestamp), payment.ErrBadSignature)
	}
	if skew := now.Sub(time.Unix(ts, 0)); skew >= MaxSkew || skew <= -MaxSkew {
		return fmt.Errorf("wechat: notification timestamp %d is %s away: %w", ts, skew, payment.ErrStale)
	}
	return nil
}

// Ack answers a notification the way WeChat reads it: 204 (or 200) with
// no body means received; anything else, here 500 with the documented
// {"code":"FAIL","message":…}, makes WeChat retry on its schedule.
func (p *Provider) Ack(ok bool) payment.Ack {
	if ok {
		return payment.Ack{Status: http.StatusNoContent}
	}
	return payment.Ack{Status: http.StatusInternalServerError, ContentType: "application/json",
		Body: []byte(`{"code":"FAIL","message":"失败"}`)}
}

// refundResource is the decrypted resource of a REFUND.* notification
// (PROVIDERS.md §2.4; pay.weixin.qq.com/doc/v3/merchant/4012082053).
type refundResource struct {
	MchID               string `json:"mchid"`
	OutTradeNo          string `json:"out_trade_no"`
	TransactionID       string `json:"transaction_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundID            string `json:"refund_id"`
	RefundStatus        string `json:"refund_status"`
	SuccessTime         string `json:"success_time"`
	UserReceivedAccount string `json:"user_received_account"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

// refundEvents is the refund_status each REFUND.* event must carry.
var refundEvents = map[string]string{
	EventRefundSuccess:  RefundStatusSuccess,
	EventRefundAbnormal: RefundStatusAbnormal,
	EventRefundClosed:   RefundStatusClosed,
}

// parseRefund decodes a verified REFUND.SUCCESS / REFUND.ABNORMAL /
// REFUND.CLOSED notification: resource original_type "refund", AES-256-GCM
// under the same APIv3 key (associated_data "refund", which GCM
// authenticates, so it is not compared here). It is returned with Refund
// set and Result naming only the order, Status left empty: a refund
// notification is never read as a payment. The plaintext carries mchid but
// no appid, so only the merchant is checked.
//
// External is set when out_refund_no is not shaped like our numbers
// ([0-9A-Za-z]{16,32}): the sandbox numbers merchant-portal refunds that
// way. A real portal refund's number shape is unverified and may well look
// like ours, so External here is only a hint: the refund domain decides by
// looking the number up among our refunds.
func (p *Provider) parseRefund(ctx context.Context, req *http.Request, env *notify.Request) (payment.Notification, error) {
	if env.ResourceType != "encrypt-resource" || env.Resource.OriginalType != "refund" ||
		env.Resource.Algorithm != "AEAD_AES_256_GCM" || len(env.Resource.Nonce) != gcmNonceSize {
		return payment.Notification{}, fmt.Errorf("wechat: %s resource %q/%q/%q: %w", env.EventType,
			env.ResourceType, env.Resource.OriginalType, env.Resource.Algorithm, payment.ErrMalformed)
	}
	var rr refundResource
	n, err := p.notify.ParseNotifyRequest(ctx, req, &rr)
	if err != nil {
		if n == nil || n.Resource == nil || n.Resource.Plaintext == "" {
			return payment.Notification{}, fmt.Errorf("wechat: refund notification: %w: %v", payment.ErrBadSignature, err)
		}
		return payment.Notification{}, fmt.Errorf("wechat: refund notification: %w: %v", payment.ErrMalformed, err)
	}
	if rr.MchID != p.cfg.MchID {
		return payment.Notification{}, fmt.Errorf("wechat: refund notification for mchid %q: %w", rr.MchID, payment.ErrWrongMerchant)
	}
	if want := refundEvents[env.EventType]; rr.RefundStatus != want {
		return payment.Notification{}, fmt.Errorf("wechat: %s with refund_status %q: %w", env.EventType, rr.RefundStatus, payment.ErrMalformed)
	}
	a := refundAnswer{outTradeNo: rr.OutTradeNo, transactionID: rr.TransactionID, outRefundNo: rr.OutRefundNo,
		refundID: rr.RefundID, status: rr.RefundStatus, amount: rr.Amount.Refund}
	if t, err := time.Parse(time.RFC3339, rr.SuccessTime); err == nil {
		a.at = t
	}
	r, err := a.result()
	if err != nil {
		return payment.Notification{}, err
	}
	r.External = !outTradeNoRE.MatchString(r.RequestNo)
	return payment.Notification{Result: payment.Result{OutTradeNo: rr.OutTradeNo, TradeNo: rr.TransactionID},
		EventID: n.ID, Refund: &r}, nil
}
