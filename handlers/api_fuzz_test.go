package handlers

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"im2pay/spend"
	"im2pay/wallet"
)

// FuzzDecodeCharge checks the charge API's body reader against the two
// ways a lenient reader would let a charge mean two things: what it
// accepts, encoding/json reads the same way (one object, exactly the four
// fields, no duplicate, the amount an integer in range), and writing the
// request back out reads as the same request. Refusals are always a
// *wallet.Problem, which the handler answers with 400.
func FuzzDecodeCharge(f *testing.F) {
	for _, s := range []string{
		`{"user":"alice","amount_fen":100,"reason":"voice_to_text","idempotency_key":"k1"}`,
		`{"user":"alice","amount_fen":100,"amount_fen":1,"reason":"voice_to_text","idempotency_key":"k1"}`,
		`{"user":"alice","amount_fen":1e3,"reason":"voice_to_text","idempotency_key":"k1"}`,
		`{"user":"alice","amount_fen":10.0,"reason":"voice_to_text","idempotency_key":"k1"}`,
		`{"user":"alice","amount_fen":-1,"reason":"voice_to_text","idempotency_key":"k1"}`,
		`{"user":"alice","amount_fen":"100","reason":"voice_to_text","idempotency_key":"k1"}`,
		`{"user":"alice","amount_fen":100,"reason":"voice_to_text","idempotency_key":"k1","price":1}`,
		`{"user":"alice","amount_fen":100,"reason":"voice_to_text","idempotency_key":"k1"}{}`,
		`{"user":"al\ud800ice","amount_fen":100,"reason":"voice_to_text","idempotency_key":"k1"}`,
		"{\"user\":\"al\xffice\",\"amount_fen\":100,\"reason\":\"voice_to_text\",\"idempotency_key\":\"k1\"}",
		`[]`, ``, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeCharge(body)
		if err != nil {
			var p *wallet.Problem
			if !errors.As(err, &p) || p.Code == "" {
				t.Fatalf("decodeCharge(%q) refused with %#v, not a *wallet.Problem", body, err)
			}
			return
		}
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Fatalf("decodeCharge accepted invalid UTF-8 or JSON: %q", body)
		}
		if req.Amount <= 0 || req.Amount > spend.MaxCharge {
			t.Fatalf("decodeCharge(%q) amount %d out of range", body, req.Amount)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil || len(fields) != len(chargeFields) {
			t.Fatalf("decodeCharge(%q) accepted what encoding/json reads as %d fields, %v", body, len(fields), err)
		}
		var std struct {
			User   string `json:"user"`
			Amount int64  `json:"amount_fen"`
			Reason string `json:"reason"`
			Key    string `json:"idempotency_key"`
		}
		if err := json.Unmarshal(body, &std); err != nil {
			t.Fatalf("decodeCharge(%q) accepted what encoding/json refuses: %v", body, err)
		}
		if got := (spend.ChargeRequest{User: std.User, Amount: wallet.Money(std.Amount), Reason: std.Reason, Key: std.Key}); got != req {
			t.Fatalf("decodeCharge(%q) = %+v, encoding/json reads %+v", body, req, got)
		}
		again, err := json.Marshal(std)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := decodeCharge(again); err != nil || back != req {
			t.Fatalf("decodeCharge(%q) = %+v, written back as %s it reads %+v, %v", body, req, again, back, err)
		}
	})
}
