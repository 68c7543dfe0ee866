package handlers_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"im2pay/internal/figures"
)

// The security suite's payment half (RELIABILITY B1–B3): messages an
// attacker or a replaying network sends to the provider callbacks. Each
// kind of attempt is counted with figures.Record; "through" is an attempt
// that moved money, marked an order paid, was acknowledged as a payment
// although a refusal was due, or crashed a handler.

// notice is one notification as it travels: the headers and the raw body.
type notice struct {
	header http.Header
	body   []byte
}

// formNotice is a form-encoded notification (Alipay, UnionPay).
func formNotice(body string) notice {
	return notice{header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, body: []byte(body)}
}

// probe is one kind of attempt and the messages that make it up.
type probe struct {
	kind    string
	notices []notice
	// mayAck marks genuine messages that state no new payment (WAIT_BUYER_PAY,
	// a pending respCode, a replay of a credited payment): the provider may
	// be told "received", but nothing may be credited.
	mayAck bool
}

// protocol is how a provider reads our answer to its notification. Three
// of the four refuse with a 5xx (WeChat's documented {"code":"FAIL"}, and
// anything but 2xx/200 for PayPal and UnionPay), so a refusal is matched
// exactly, body included: an error page from a crash is not a refusal.
type protocol struct {
	name    string // in the figures
	method  string // in the notify URL
	refused func(answer) bool
	acked   func(answer) bool
}

var (
	alipayProtocol = protocol{name: "alipay", method: "alipay",
		refused: func(a answer) bool { return a.status == http.StatusOK && a.body == "fail" },
		acked:   func(a answer) bool { return a.status == http.StatusOK && a.body == "success" }}
	wechatProtocol = protocol{name: "wechat", method: "wechat",
		refused: func(a answer) bool {
			return a.status == http.StatusInternalServerError && strings.Contains(a.body, `"code":"FAIL"`)
		},
		acked: func(a answer) bool { return a.status == http.StatusNoContent || a.status == http.StatusOK }}
	unionpayProtocol = protocol{name: "unionpay", method: "card",
		refused: func(a answer) bool { return a.status == http.StatusInternalServerError && a.body == "fail" },
		acked:   func(a answer) bool { return a.status == http.StatusOK && a.body == "ok" }}
	paypalProtocol = protocol{name: "paypal", method: "paypal",
		refused: func(a answer) bool { return a.status == http.StatusInternalServerError && a.body == "" },
		acked:   func(a answer) bool { return a.status >= 200 && a.status < 300 }}
)

// notify posts n to our notify endpoint for method, as the provider would.
func (p *paySite) notify(method string, n notice) answer {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.srv.URL+"/pay/notify/"+method, bytes.NewReader(n.body))
	if err != nil {
		p.t.Fatal(err)
	}
	for k, v := range n.header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: string(raw)}
}

// money is what a credit would change: every ledger transaction and every
// paid order.
func (p *paySite) money() int {
	return p.ledgerCount(`SELECT (SELECT count(*) FROM ledger_transactions) + (SELECT count(*) FROM recharge_orders WHERE state = 'paid')`)
}

// events counts the notifications logged: recorded whole once verified,
// counted (with a bounded sample) when refused.
func (p *paySite) events() int {
	return p.ledgerCount(`SELECT (SELECT count(*) FROM payment_events WHERE kind = 'notify')
		+ (SELECT coalesce(sum(refused), 0) FROM callback_refusals WHERE kind = 'notify')`)
}

// runProbes sends each probe's notices repeat times, one at a time, and
// records one figure per kind. Every notice must also be logged.
func (p *paySite) runProbes(t *testing.T, proto protocol, repeat int, probes []probe) {
	t.Helper()
	p.gw.Notifier.Wait() // no genuine delivery may land between two counts
	for _, pr := range probes {
		attempts, through := 0, 0
		for range repeat {
			for _, n := range pr.notices {
				before, logged := p.money(), p.events()
				a := p.notify(proto.method, n)
				attempts++
				credited := p.money() != before
				answered := proto.refused(a) || (pr.mayAck && proto.acked(a))
				if credited || !answered {
					through++
					t.Logf("%s: got through: %d %.200q (credited: %v)", pr.kind, a.status, a.body, credited)
				}
				if p.events() == logged {
					t.Errorf("%s: a notification was not logged", pr.kind)
				}
			}
		}
		figures.Record(t, "security", proto.name+" notify: "+pr.kind, attempts, through)
		if through != 0 {
			t.Errorf("%s notify, %s: %d of %d attempts got through (want every one refused, nothing credited)",
				proto.name, pr.kind, through, attempts)
		}
	}
}

// expectUncredited checks that orders are still unpaid and that the
// person's wallet holds nothing.
func (p *paySite) expectUncredited(t *testing.T, b *browser, nos ...string) {
	t.Helper()
	for _, no := range nos {
		var state string
		if err := p.store.DB().GetContext(context.Background(), &state,
			`SELECT state FROM recharge_orders WHERE out_trade_no = $1`, no); err != nil {
			t.Fatal(err)
		}
		if state == "paid" {
			t.Errorf("order %s is paid after forgeries", no)
		}
	}
	if got := p.balance(b); got != "0" {
		t.Errorf("balance = %s fen after forgeries, want 0", got)
	}
}

// orderRef is the provider's id stored on an order (PayPal's order id).
func (p *paySite) orderRef(no string) string {
	p.t.Helper()
	var ref string
	if err := p.store.DB().GetContext(context.Background(), &ref,
		`SELECT provider_ref FROM recharge_orders WHERE out_trade_no = $1`, no); err != nil {
		p.t.Fatal(err)
	}
	return ref
}

// readKey reads a PEM RSA private key the sandbox provisioned.
func readKey(t *testing.T, path string) *rsa.PrivateKey {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		t.Fatalf("%s holds no PEM", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	rk, ok := k.(*rsa.PrivateKey)
	if err != nil || !ok {
		t.Fatalf("%s is not an RSA private key: %v", path, err)
	}
	return rk
}

// signSHA256 is SHA256withRSA (PKCS#1 v1.5) over msg, base64: how Alipay
// (RSA2), WeChat Pay and PayPal sign.
func signSHA256(key *rsa.PrivateKey, msg []byte) string {
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// strangerKey is a key no provider knows: an attacker's own.
var strangerKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// randomDigits makes order and trade numbers nobody issued.
func randomDigits(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

// repeatKinds is how often each forged message is sent: providers retry,
// and so does an attacker.
const repeatKinds = 3

// expectGenuineCredits is the control of a forgery test: the same forger's
// honest message must credit, or the refusals prove nothing about
// signatures.
func (p *paySite) expectGenuineCredits(t *testing.T, proto protocol, n notice) {
	t.Helper()
	before := p.money()
	a := p.notify(proto.method, n)
	if !proto.acked(a) || p.money() == before {
		t.Fatalf("control: the genuine %s notification was not credited: %d %.300q", proto.method, a.status, a.body)
	}
}
