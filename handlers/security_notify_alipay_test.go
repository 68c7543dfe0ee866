package handlers_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// alipayForger signs notifications with the keys the sandbox provisioned:
// Alipay's own private key, and our app's (which Alipay never signs with).
type alipayForger struct {
	alipayKey, appKey *rsa.PrivateKey
	appID, sellerID   string
}

func newAlipayForger(t *testing.T, dir string) alipayForger {
	t.Helper()
	d := filepath.Join(dir, "alipay")
	var ids struct {
		AppID    string `json:"app_id"`
		SellerID string `json:"seller_id"`
	}
	raw, err := os.ReadFile(filepath.Join(d, "ids.json"))
	if err != nil || json.Unmarshal(raw, &ids) != nil {
		t.Fatalf("alipay sandbox ids: %v", err)
	}
	return alipayForger{alipayKey: readKey(t, filepath.Join(d, "alipay_private_key.pem")),
		appKey: readKey(t, filepath.Join(d, "app_private_key.pem")), appID: ids.AppID, sellerID: ids.SellerID}
}

// params is a trade_status_sync notification as Alipay words it, unsigned.
func (f alipayForger) params(no, amount, status string) url.Values {
	now := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05")
	return url.Values{"notify_type": {"trade_status_sync"}, "notify_id": {randomDigits(20)}, "notify_time": {now},
		"charset": {"utf-8"}, "version": {"1.0"}, "app_id": {f.appID}, "auth_app_id": {f.appID},
		"seller_id": {f.sellerID}, "out_trade_no": {no}, "trade_no": {"2026" + randomDigits(24)},
		"trade_status": {status}, "total_amount": {amount}, "receipt_amount": {amount},
		"buyer_id": {"2088" + randomDigits(12)}, "gmt_create": {now}, "gmt_payment": {now}}
}

// alipayContent is what Alipay signs: every non-empty parameter but sign
// and sign_type, sorted, k=v joined by &, values raw.
func alipayContent(v url.Values) []byte {
	var keys []string
	for k, vs := range v {
		if k != "sign" && k != "sign_type" && len(vs) > 0 && vs[0] != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + v.Get(k)
	}
	return []byte(strings.Join(parts, "&"))
}

// signed signs v with key as RSA2 and returns the body.
func signedRSA2(v url.Values, key *rsa.PrivateKey) url.Values {
	v.Set("sign_type", "RSA2")
	v.Set("sign", signSHA256(key, alipayContent(v)))
	return v
}

func alipayNotice(v url.Values) notice { return formNotice(v.Encode()) }

func TestSecurityForgedAlipayNotificationsCreditNothing(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("ali_victim", goodPassword)
	no := p.order(b, "alipay", "68")
	p.pay(b, no)
	f := newAlipayForger(t, p.gw.Dir)
	genuine := func(kv ...string) url.Values {
		v := f.params(no, "68.00", "TRADE_SUCCESS")
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return signedRSA2(v, f.alipayKey)
	}
	after := func(v url.Values, kv ...string) notice {
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return alipayNotice(v)
	}
	sha1Sig := func(v url.Values) url.Values {
		sum := sha1.Sum(alipayContent(v))
		sig, _ := rsa.SignPKCS1v15(rand.Reader, f.alipayKey, crypto.SHA1, sum[:])
		v.Set("sign_type", "RSA")
		v.Set("sign", base64.StdEncoding.EncodeToString(sig))
		return v
	}
	without := func(v url.Values, keys ...string) notice {
		for _, k := range keys {
			v.Del(k)
		}
		return alipayNotice(v)
	}
	probes := []probe{
		{kind: "bad signature", notices: []notice{
			after(genuine(), "total_amount", "6800.00"),
			after(genuine(), "sign", base64.StdEncoding.EncodeToString([]byte("forged"))),
			after(signedRSA2(f.params(no, "68.00", "WAIT_BUYER_PAY"), f.alipayKey), "trade_status", "TRADE_SUCCESS"),
		}},
		{kind: "missing signature", notices: []notice{without(genuine(), "sign"), after(genuine(), "sign", ""),
			without(genuine(), "sign", "sign_type")}},
		{kind: "wrong key", notices: []notice{
			alipayNotice(signedRSA2(f.params(no, "68.00", "TRADE_SUCCESS"), f.appKey)),
			alipayNotice(signedRSA2(f.params(no, "68.00", "TRADE_SUCCESS"), strangerKey())),
		}},
		{kind: "switched sign_type", notices: []notice{after(genuine(), "sign_type", "RSA"),
			alipayNotice(sha1Sig(f.params(no, "68.00", "TRADE_SUCCESS"))), without(genuine(), "sign_type"),
			after(genuine(), "sign_type", "rsa2")}},
		{kind: "certificate mode", notices: []notice{alipayNotice(genuine("alipay_cert_sn", "0123456789abcdef"))}},
		{kind: "valid signature for another merchant", notices: []notice{
			alipayNotice(genuine("app_id", "2021000000000001", "auth_app_id", "2021000000000001")),
			alipayNotice(genuine("auth_app_id", "2021000000000001")),
			alipayNotice(genuine("seller_id", "2088000000000001")),
		}},
		{kind: "amount different from the order", notices: []notice{
			alipayNotice(genuine("total_amount", "0.01")), alipayNotice(genuine("total_amount", "680.00")),
			alipayNotice(genuine("total_amount", "68.001")), alipayNotice(genuine("total_amount", "-68.00")),
		}},
		// Genuine, so acknowledged (see TestVerifiedNotificationsForUnknownOrders).
		{kind: "unknown order", mayAck: true, notices: []notice{alipayNotice(genuine("out_trade_no", "T"+randomDigits(23)))}},
		{kind: "repeated parameter", notices: []notice{
			formNotice(genuine().Encode() + "&total_amount=0.01"),
			formNotice(genuine().Encode() + "&trade_status=TRADE_SUCCESS"),
		}},
		{kind: "unpaid status (WAIT_BUYER_PAY)", mayAck: true,
			notices: []notice{alipayNotice(genuine("trade_status", "WAIT_BUYER_PAY"))}},
		{kind: "unknown trade status", notices: []notice{alipayNotice(genuine("trade_status", "TRADE_PENDING"))}},
	}
	p.runProbes(t, alipayProtocol, repeatKinds, probes)
	p.expectUncredited(t, b, no)
	p.expectGenuineCredits(t, alipayProtocol, alipayNotice(genuine()))
}
