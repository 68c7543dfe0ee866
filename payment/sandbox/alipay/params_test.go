package alipaysandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// queryLaidOutLikeTheSDK calls alipay.trade.query the way Alipay's official
// SDK lays a request out: the common parameters in the URL query, the
// business ones in the body, and bodyExtra in the body too (charset, which
// some SDKs send in both places).
func queryLaidOutLikeTheSDK(t *testing.T, h *harness, bodyExtra url.Values) map[string]string {
	t.Helper()
	key, err := readPrivateKey(filepath.Join(h.dir, keySubdir, appPrivateFile))
	if err != nil {
		t.Fatal(err)
	}
	common := url.Values{"app_id": {h.cfg.AppID}, "method": {methodQuery}, "charset": {"utf-8"}, "sign_type": {"RSA2"},
		"timestamp": {time.Now().In(beijing).Format(timeLayout)}, "version": {"1.0"}}
	body := url.Values{"biz_content": {`{"out_trade_no":"T20261203000000000001"}`}}
	all := url.Values{}
	for _, part := range []url.Values{common, body} {
		for k, vs := range part {
			all[k] = vs
		}
	}
	common.Set("sign", sign(key, []byte(signContent(all, "sign"))))
	for k, vs := range bodyExtra {
		body[k] = vs
	}
	res, err := http.Post(h.srv.URL+"/alipay/gateway.do?"+common.Encode(), "application/x-www-form-urlencoded;charset=utf-8",
		strings.NewReader(body.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]json.RawMessage
	var inner map[string]string
	raw := readBody(t, res)
	if err := json.Unmarshal([]byte(raw), &answer); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(answer["alipay_trade_query_response"], &inner); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return inner
}

func TestAParameterSentInBothTheURLAndTheBody(t *testing.T) {
	h := newHarness(t)
	t.Run("with the same value is read once", func(t *testing.T) {
		a := queryLaidOutLikeTheSDK(t, h, url.Values{"charset": {"utf-8"}})
		// Past the common checks and the signature: the trade is unknown.
		if a["code"] != "40004" || a["sub_code"] != "ACQ.TRADE_NOT_EXIST" {
			t.Fatalf("answer %v, want 40004 ACQ.TRADE_NOT_EXIST", a)
		}
	})
	t.Run("with another value is refused", func(t *testing.T) {
		a := queryLaidOutLikeTheSDK(t, h, url.Values{"charset": {"GBK"}})
		if a["code"] != "40002" || a["sub_code"] != "isv.invalid-parameter" || !strings.Contains(a["sub_msg"], "charset") {
			t.Fatalf("answer %v, want 40002 isv.invalid-parameter naming charset", a)
		}
	})
	t.Run("the layout without a repeat is accepted too", func(t *testing.T) {
		if a := queryLaidOutLikeTheSDK(t, h, nil); a["sub_code"] != "ACQ.TRADE_NOT_EXIST" {
			t.Fatalf("answer %v, want ACQ.TRADE_NOT_EXIST", a)
		}
	})
}
