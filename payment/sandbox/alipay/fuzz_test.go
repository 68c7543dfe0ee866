package alipaysandbox

import (
	"context"
	"net/url"
	"reflect"
	"testing"
	"time"
)

// FuzzParseNotification feeds random bodies to the merchant side: it must
// never panic, and whatever verifies must carry exactly the parameters
// Alipay signed.
func FuzzParseNotification(f *testing.F) {
	_, p, sb := offlinePair(f)
	now := time.Now()
	genuine := sb.notifyParams(trade{outTradeNo: "T1234567890123456", tradeNo: "2026010122001000000000000001",
		amount: 6800, subject: "IM2.0 Pay 余额充值 ¥68.00", status: statusSuccess, created: now, paidAt: now}, "n1")
	f.Add([]byte(genuine.Encode()))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := p.ParseNotification(context.Background(), nil, body)
		if err != nil {
			return
		}
		got, perr := url.ParseQuery(string(body))
		if perr != nil || !reflect.DeepEqual(got, genuine) {
			t.Fatalf("a body that is not the signed notification verified: %q", body)
		}
	})
}
