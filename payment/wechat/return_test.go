package wechat

import (
	"context"
	"net/url"
	"testing"

	"im2pay/payment"
)

// WeChat's H5 return carries no parameter, so ParseReturn has nothing to
// parse: whatever a browser brings back must yield nothing to trust.
func TestAReturnYieldsNothingWhateverItCarries(t *testing.T) {
	forged := []url.Values{
		{},
		{"out_trade_no": {"T1234567890123456"}, "trade_state": {"SUCCESS"}},
		{"transaction_id": {"4200000000000000000000000001"}, "amount": {"6800"}, "cancel": {"1"}},
		{"token": {"5O190127TN364715T"}, "sign": {"AAAA"}},
	}
	p := &Provider{}
	for _, v := range forged {
		for _, q := range []url.Values{v, nil} {
			ret, err := p.ParseReturn(context.Background(), q, v)
			if err != nil || ret != (payment.Return{}) {
				t.Errorf("ParseReturn(%v) = %+v, %v; want an empty Return", v, ret, err)
			}
		}
	}
}
