package handlers_test

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// B4 for the service API and for bodies: hostile amounts and JSON on
// POST /api/v1/charges and /api/v1/items/use, and 10 MB bodies on every
// route that takes one, refused early with memory bounded.

func (s *site) apiRaw(path, body string) answer {
	return s.api(http.MethodPost, path, serviceToken, strings.NewReader(body))
}

func TestSecurityHostileAPIAmountsAndBodiesAreRefused(t *testing.T) {
	s := newAPISite(t, serviceToken)
	b := holder(t, s, "im_user", 500_00)
	expectRedirect(t, buy(b, "priority_100", "key-priority-sec1"), "/shop")
	charge := func(amount string) string {
		return `{"user":"im_user","amount_fen":` + amount + `,"reason":"priority_message","idempotency_key":"k` + randomDigits(20) + `"}`
	}
	amounts := s.tally("charges API: hostile amount_fen")
	for _, v := range []string{"-1", "0", "0.001", "1e3", "10.0", "0x10", "1_000", "NaN", "Infinity", "-Infinity",
		"99999999999999999999", `"１００"`, `"100"`, "null", "true", "[100]"} {
		amounts.try(v, func() answer { return s.apiRaw("/api/v1/charges", charge(v)) })
	}
	amounts.record()
	key := func() string { return `"idempotency_key":"k` + randomDigits(20) + `"` }
	bodies := s.tally("charges API: duplicate keys, injected fields, invalid UTF-8")
	for _, body := range []string{
		`{"user":"im_user","amount_fen":1,"amount_fen":100000,"reason":"x",` + key() + `}`,
		`{"user":"im_user","user":"other","amount_fen":100,"reason":"x",` + key() + `}`,
		`{"user":"im_user","amount_fen":100,"price":1,"reason":"x",` + key() + `}`,
		`{"user":"im_user","amount_fen":100,"reason":"x\xff\xfe",` + key() + `}`,
		`{"user":"im_user","amount_fen":100,"reason":"x",` + key() + `}{"amount_fen":1}`,
		`{"user":"im_user","amount_fen":100,"reason":"x",` + key() + `,}`,
	} {
		bodies.try(body, func() answer { return s.apiRaw("/api/v1/charges", body) })
	}
	bodies.record()
	units := func() int {
		var n int
		if err := s.store.DB().GetContext(context.Background(), &n, `SELECT count(*) FROM item_uses`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	items := s.tally("item use API: counts, duplicate keys, injected fields, invalid UTF-8")
	before := units()
	for _, body := range []string{
		`{"user":"im_user","item":"priority_message","count":-1,` + key() + `}`,
		`{"user":"im_user","item":"priority_message","quantity":1e3,` + key() + `}`,
		`{"user":"im_user","item":"priority_message","amount_fen":1,` + key() + `}`,
		`{"user":"im_user","item":"priority_message","item":"stickers_panda",` + key() + `}`,
		`{"user":"im_user","item":"priority_message",` + key() + `,` + key() + `}`,
		`{"user":"im_user\xff","item":"priority_message",` + key() + `}`,
		`{"user":"im_user","item":"priority_message",` + key() + `}{"user":"im_user"}`,
	} {
		items.try(body, func() answer { return s.apiRaw("/api/v1/items/use", body) })
	}
	items.record()
	if after := units(); after != before { // each use is a row
		t.Errorf("refused item uses recorded %d uses", after-before)
	}
}

// filler is a body of n bytes made as it is read, so the client holds none
// of it: memory the test sees grow is the server's.
type filler struct{ left int64 }

func (f *filler) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), f.left)
	for i := range p[:n] {
		p[i] = 'a'
	}
	f.left -= n
	return int(n), nil
}

func TestSecurityATenMegabyteBodyIsRefusedEarly(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("big_body", goodPassword)
	const size = 10 << 20
	targets := []struct{ path, contentType string }{
		{"/recharge/orders", "application/x-www-form-urlencoded"}, {"/shop/buy", "application/x-www-form-urlencoded"},
		{"/gifts", "application/x-www-form-urlencoded"}, {"/account/settings", "application/x-www-form-urlencoded"},
		{"/pay/notify/alipay", "application/x-www-form-urlencoded"}, {"/pay/notify/wechat", "application/json"},
		{"/pay/notify/card", "application/x-www-form-urlencoded"}, {"/pay/notify/paypal", "application/json"},
		{"/recharge/orders/T0000000000000000000000/return", "application/x-www-form-urlencoded"},
		{"/api/v1/charges", "application/json"}, {"/api/v1/items/use", "application/json"},
	}
	token := csrfField.FindStringSubmatch(b.get("/account").body)[1]
	big := p.site.tally("10 MB body")
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for _, target := range targets {
		for _, chunked := range []bool{false, true} {
			big.try(target.path, func() answer {
				req, err := http.NewRequest(http.MethodPost, p.srv.URL+target.path, &filler{left: size})
				if err != nil {
					t.Fatal(err)
				}
				if !chunked {
					req.ContentLength = size
				}
				req.Header.Set("Content-Type", target.contentType)
				req.Header.Set("X-CSRF-Token", token)
				req.Header.Set("Authorization", "Bearer "+serviceToken)
				res, err := b.client.Do(req)
				if err != nil {
					// The server answered and closed while we were still
					// sending: refused before the body was read.
					t.Logf("%s (chunked %v): %v", target.path, chunked, err)
					return answer{status: http.StatusRequestEntityTooLarge}
				}
				defer res.Body.Close()
				_, _ = io.Copy(io.Discard, res.Body)
				return answer{status: res.StatusCode}
			})
		}
	}
	runtime.ReadMemStats(&m1)
	big.record()
	// Reading even one of these bodies would allocate at least 10 MB.
	if grew := m1.TotalAlloc - m0.TotalAlloc; grew > 8<<20 {
		t.Errorf("%d requests of 10 MB allocated %d MB in total: a body was read, not refused early", big.attempts, grew>>20)
	}
}
