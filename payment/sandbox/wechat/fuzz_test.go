package wechatsandbox

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"im2pay/payment/sandbox/sim"
	"im2pay/payment/wechat"
)

// FuzzParseNotification feeds arbitrary bodies and headers to the merchant
// side. Unsigned inputs must never verify. With sign set, the body is
// signed with the real WeChat Pay key, which takes the fuzzer past the
// signature into the SDK's decoding and decryption: it must not panic, and
// whatever it accepts must name our merchant.
func FuzzParseNotification(f *testing.F) {
	dir := f.TempDir()
	cfg, err := Provision(dir, "http://127.0.0.1:9")
	if err != nil {
		f.Fatal(err)
	}
	p, err := wechat.New(cfg, nil)
	if err != nil {
		f.Fatal(err)
	}
	n := sim.NewNotifier(nil, 1, nil)
	defer n.Close()
	sb, err := New(dir, n, nil)
	if err != nil {
		f.Fatal(err)
	}
	h := &harness{cfg: cfg, sb: sb}
	body := seal(sb.aead, h.paidTx("T0000000000000000000009", 68_00))
	stale := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	good := h.signed(body, time.Now())
	f.Add(body, good.Get(wechat.HeaderSignature), good.Get(wechat.HeaderTimestamp), "nonce", false)
	f.Add(body, good.Get(wechat.HeaderSignature), stale, good.Get(wechat.HeaderNonce), false)
	f.Add(body, wechat.SignTestPrefix+"abc", good.Get(wechat.HeaderTimestamp), "n", false)
	f.Add(body, "", "", "", true)
	f.Add([]byte(`{"event_type":"TRANSACTION.SUCCESS","resource":null}`), "", "", "", true)
	f.Add([]byte(`{"event_type":"TRANSACTION.SUCCESS","resource_type":"encrypt-resource","resource":{"original_type":"transaction","algorithm":"AEAD_AES_256_GCM","nonce":"","ciphertext":"AAAA"}}`), "", "", "", true)

	f.Fuzz(func(t *testing.T, body []byte, sig, ts, nonce string, sign bool) {
		hd := http.Header{}
		hd.Set(wechat.HeaderSerial, cfg.WeChatPayPublicKeyID)
		hd.Set(wechat.HeaderSignature, sig)
		hd.Set(wechat.HeaderTimestamp, ts)
		hd.Set(wechat.HeaderNonce, nonce)
		if sign {
			hd = h.signed(body, time.Now())
		}
		got, err := p.ParseNotification(context.Background(), hd, body)
		switch {
		case err == nil && !sign:
			t.Fatalf("an unsigned notification verified: %q", body)
		case err == nil && (got.OutTradeNo == "" || got.Amount <= 0):
			t.Fatalf("accepted a notification without order or amount: %+v", got)
		}
	})
}
