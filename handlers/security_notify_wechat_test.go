package handlers_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wechatForger builds APIv3 notifications: a transaction sealed with the
// APIv3 key (AES-256-GCM), the body signed with the WeChat Pay private key
// over "timestamp\nnonce\nbody\n".
type wechatForger struct {
	platform, merchant *rsa.PrivateKey
	apiv3              []byte
	mchID, appID, pkID string
}

func newWechatForger(t *testing.T, dir string) wechatForger {
	t.Helper()
	var ids struct {
		MchID       string `json:"mch_id"`
		AppID       string `json:"app_id"`
		PublicKeyID string `json:"public_key_id"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "wechat_ids.json"))
	if err != nil || json.Unmarshal(raw, &ids) != nil {
		t.Fatalf("wechat sandbox ids: %v", err)
	}
	v3, err := os.ReadFile(filepath.Join(dir, "wechat_apiv3_key.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return wechatForger{platform: readKey(t, filepath.Join(dir, "wechat_platform_key.pem")),
		merchant: readKey(t, filepath.Join(dir, "wechat_apiclient_key.pem")), apiv3: []byte(strings.TrimSpace(string(v3))),
		mchID: ids.MchID, appID: ids.AppID, pkID: ids.PublicKeyID}
}

// transaction is a paid transaction of no for total fen, as a map so a
// probe can change any field.
func (f wechatForger) transaction(no string, total int64) map[string]any {
	return map[string]any{"appid": f.appID, "mchid": f.mchID, "out_trade_no": no,
		"transaction_id": "4200" + randomDigits(24), "trade_type": "NATIVE", "trade_state": "SUCCESS",
		"trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "",
		"success_time": time.Now().Format(time.RFC3339), "payer": map[string]string{"openid": "oForged"},
		"amount": map[string]any{"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"}}
}

// seal encrypts tx under key into a TRANSACTION.SUCCESS envelope.
func (f wechatForger) seal(tx map[string]any, key []byte) []byte {
	plain, _ := json.Marshal(tx)
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	aead, _ := cipher.NewGCM(block)
	nonce := randomDigits(12)
	ct := aead.Seal(nil, []byte(nonce), plain, []byte("transaction"))
	body, _ := json.Marshal(map[string]any{"id": "EV-" + randomDigits(20), "create_time": time.Now().Format(time.RFC3339),
		"resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
		"resource": map[string]string{"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": base64.StdEncoding.EncodeToString(ct), "associated_data": "transaction", "nonce": nonce}})
	return body
}

// sign makes the Wechatpay-* headers for body, signed by key at.
func (f wechatForger) sign(body []byte, key *rsa.PrivateKey, at time.Time) notice {
	ts, nonce := strconv.FormatInt(at.Unix(), 10), randomDigits(32)
	h := http.Header{"Content-Type": {"application/json"}}
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Serial", f.pkID)
	h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	h.Set("Wechatpay-Signature", signSHA256(key, []byte(ts+"\n"+nonce+"\n"+string(body)+"\n")))
	return notice{header: h, body: body}
}

// with returns a copy of n with headers changed ("" deletes).
func (n notice) with(kv ...string) notice {
	h := n.header.Clone()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			h.Del(kv[i])
		} else {
			h.Set(kv[i], kv[i+1])
		}
	}
	return notice{header: h, body: n.body}
}

func TestSecurityForgedWeChatNotificationsCreditNothing(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("wx_victim", goodPassword)
	no := p.order(b, "wechat", "68")
	p.pay(b, no)
	f := newWechatForger(t, p.gw.Dir)
	tx := func(kv ...any) map[string]any {
		m := f.transaction(no, 6800)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	signed := func(m map[string]any) notice { return f.sign(f.seal(m, f.apiv3), f.platform, time.Now()) }
	amount := func(total int64, currency string) map[string]any {
		return map[string]any{"total": total, "payer_total": total, "currency": currency, "payer_currency": currency}
	}
	altered := signed(tx())
	altered.body = []byte(strings.Replace(string(altered.body), `"summary"`, `"Summary"`, 1))
	otherKey := make([]byte, 32)
	copy(otherKey, "an APIv3 key that is not ours!!!")
	probes := []probe{
		{kind: "bad signature", notices: []notice{altered,
			signed(tx()).with("Wechatpay-Signature", base64.StdEncoding.EncodeToString([]byte("forged"))),
			signed(tx()).with("Wechatpay-Nonce", randomDigits(32))}},
		{kind: "missing signature", notices: []notice{signed(tx()).with("Wechatpay-Signature", ""),
			signed(tx()).with("Wechatpay-Signature", "", "Wechatpay-Timestamp", "", "Wechatpay-Nonce", "", "Wechatpay-Serial", "")}},
		{kind: "wrong key", notices: []notice{f.sign(f.seal(tx(), f.apiv3), f.merchant, time.Now()),
			f.sign(f.seal(tx(), f.apiv3), strangerKey(), time.Now()),
			signed(tx()).with("Wechatpay-Serial", "PUB_KEY_ID_0000000000000000000000000000"),
			f.sign(f.seal(tx(), otherKey), f.platform, time.Now())}},
		{kind: "switched signature type", notices: []notice{
			signed(tx()).with("Wechatpay-Signature-Type", "WECHATPAY2-SHA1-RSA1024"),
			signed(tx()).with("Wechatpay-Signature", "WECHATPAY/SIGNTEST/"+base64.StdEncoding.EncodeToString([]byte("probe")))}},
		{kind: "valid signature for another merchant", notices: []notice{signed(tx("mchid", "1900000001")),
			signed(tx("appid", "wx0000000000000001"))}},
		{kind: "amount or currency different from the order", notices: []notice{signed(tx("amount", amount(1, "CNY"))),
			signed(tx("amount", amount(680000, "CNY"))), signed(tx("amount", amount(6800, "USD"))),
			signed(tx("amount", amount(-6800, "CNY")))}},
		// Genuine, so acknowledged (see TestVerifiedNotificationsForUnknownOrders).
		{kind: "unknown order", mayAck: true, notices: []notice{signed(tx("out_trade_no", "T"+randomDigits(23)))}},
		{kind: "unpaid status (NOTPAY, USERPAYING, PAYERROR, CLOSED)", notices: []notice{
			signed(tx("trade_state", "NOTPAY")), signed(tx("trade_state", "USERPAYING")),
			signed(tx("trade_state", "PAYERROR")), signed(tx("trade_state", "CLOSED"))}},
		{kind: "stale Wechatpay-Timestamp", notices: []notice{
			f.sign(f.seal(tx(), f.apiv3), f.platform, time.Now().Add(-6*time.Minute)),
			f.sign(f.seal(tx(), f.apiv3), f.platform, time.Now().Add(-24*time.Hour)),
			f.sign(f.seal(tx(), f.apiv3), f.platform, time.Now().Add(6*time.Minute))}},
	}
	p.runProbes(t, wechatProtocol, repeatKinds, probes)
	p.expectUncredited(t, b, no)
	p.expectGenuineCredits(t, wechatProtocol, signed(tx()))
}
