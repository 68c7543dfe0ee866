// Package unionpay is the merchant side of the UnionPay online gateway
// (银联全渠道 ACP 5.1.0, "gateway payment" bizType 000201): the person types
// the card on UnionPay's hosted page, so our server never sees a card
// number. No Go library for ACP can be pointed at another host, so this is
// written over net/http and crypto only.
//
// Protocol summary: every message is a flat set of fields signed with
// signMethod 01 (see sign.go). The merchant signs with its own RSA key and
// names its certificate by serial number (certId); UnionPay signs with its
// key and ships its certificate in every message (signPubKeyCert), which we
// accept only if UnionPay's configured root and middle issued it to
// UnionPay (chain.go).
package unionpay

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"im2pay/payment"
)

// Config is the merchant's UnionPay configuration. Keys live in files
// outside the repository; only their paths are configured.
type Config struct {
	// MerID is the 15-character merchant number (商户号) UnionPay assigned.
	MerID string `json:"mer_id"`
	// FrontTransURL is the gateway's frontTransReq.do: the browser POSTs
	// the signed Start form there.
	FrontTransURL string `json:"front_trans_url"`
	// BackTransURL is backTransReq.do, where refunds (退货, txnType 04) go;
	// without it Refund fails.
	BackTransURL string `json:"back_trans_url,omitempty"`
	// QueryURL is queryTrans.do, the transaction status query.
	QueryURL string `json:"query_url"`
	// FileTransURL is the file transfer endpoint (txnType 76), on its own
	// host https://filedownload.95516.com/ (PROVIDERS.md §3.5); without it
	// Bill fails.
	FileTransURL string `json:"file_trans_url,omitempty"`
	// BillReadyAfter (a Go duration, default "9h") is how long after the
	// end of a settlement day (Beijing midnight) its file is expected.
	// UnionPay does not say (§3.5: unverified); before it, "no such file"
	// (98) means "not yet", after it "none".
	BillReadyAfter string `json:"bill_ready_after,omitempty"`
	// SignKeyFile is the merchant's RSA private key (PEM, PKCS#1 or
	// PKCS#8); UnionPay ships it inside a .pfx that openssl can convert.
	SignKeyFile string `json:"sign_key_file"`
	// SignCertFile is the merchant's signing certificate (PEM); its serial
	// number, in decimal, is the certId every request carries.
	SignCertFile string `json:"sign_cert_file"`
	// VerifyRootCertFile and VerifyMiddleCertFile are UnionPay's root and
	// middle certificates (PEM, one each; production ships them as
	// acp_prod_root.cer and acp_prod_middle.cer). A message's
	// signPubKeyCert must be issued by the middle, which the root issued.
	VerifyRootCertFile   string `json:"verify_root_cert_file"`
	VerifyMiddleCertFile string `json:"verify_middle_cert_file"`
	// VerifyCertOwner is the name the third @-field of signPubKeyCert's CN
	// must equal; without it any certificate the CA issued to anyone would
	// do. Empty means ProductionOwner; UnionPay's test environment uses
	// 00040000:SIGN (see certOwner).
	VerifyCertOwner string `json:"verify_cert_owner,omitempty"`
	// LegacyVerifyCertFile is the single anchors file of earlier versions,
	// read only to say what replaced it.
	LegacyVerifyCertFile string `json:"verify_cert_file,omitempty"`
	// WebOrigins are the cashier origins beyond the gateway (see
	// payment.Origin); nil means DefaultWebOrigins.
	WebOrigins []string `json:"web_origins"`
	// OrderLifetime (a Go duration, default "30m") is how long before
	// Order.ExpiresAt our orders are created. txnTime is derived from it so
	// that a second Start of the same order signs the same form (see txnTime).
	OrderLifetime string `json:"order_lifetime,omitempty"`
}

// DefaultWebOrigins are UnionPay's card cashiers (PROVIDERS.md §3.7): the
// gateway answers our form post with a page that posts on to
// cashier.95516.com (seen for a related product), and mcashier.95516.com
// is the mobile cashier. Only the gateway is documented as a form-action
// target of our own page, and whether the later hops count as part of our
// form submission is unverified; listing the cashiers costs nothing and
// keeps a redirecting gateway from being stopped by our CSP.
var DefaultWebOrigins = []string{"https://cashier.95516.com", "https://mcashier.95516.com"}

// FormOrigins are the origins our pages' CSP form-action must allow for
// UnionPay: the gateway's (our page posts the signed form there) and the
// web origins.
func (c Config) FormOrigins() ([]string, error) {
	web, err := payment.WebOrigins("unionpay", c.WebOrigins, DefaultWebOrigins)
	if err != nil {
		return nil, err
	}
	return payment.FormOrigins(c.FrontTransURL, web), nil
}

// Provider speaks ACP 5.1.0 for one merchant. It is safe for concurrent use.
type Provider struct {
	cfg      Config
	client   *http.Client
	key      *rsa.PrivateKey
	certID   string
	chain    *chain
	lifetime time.Duration
	ready    time.Duration // BillReadyAfter
	now      func() time.Time
}

var _ payment.Provider = (*Provider)(nil)

// ACP constants every message repeats.
const (
	version      = "5.1.0"
	encoding     = "UTF-8"
	signMethod   = "01" // RSA-SHA256 over the SHA-256 hex digest, with certificates
	currencyCNY  = "156"
	bizGateway   = "000201" // B2C gateway payment
	txnConsume   = "01"
	txnQuery     = "00"
	accessDirect = "0" // the merchant connects directly (not through an acquirer)
)

// beijing is China Standard Time: ACP timestamps are Beijing local time,
// and China has no daylight saving, so a fixed zone needs no tzdata.
var beijing = time.FixedZone("CST", 8*3600)

// timeLayout is ACP's YYYYMMDDhhmmss.
const timeLayout = "20060102150405"

var (
	outTradeNoRE = regexp.MustCompile(`^[0-9A-Za-z]{16,32}$`)
	merIDRE      = regexp.MustCompile(`^[0-9A-Za-z]{1,15}$`)
)

// New loads the keys named in cfg and checks that they fit together.
// client may be nil (a client with a 15-second timeout is used).
func New(cfg Config, client *http.Client) (*Provider, error) {
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	var missing []string
	for name, v := range map[string]string{"mer_id": cfg.MerID, "front_trans_url": cfg.FrontTransURL,
		"query_url": cfg.QueryURL, "sign_key_file": cfg.SignKeyFile, "sign_cert_file": cfg.SignCertFile,
		"verify_root_cert_file": cfg.VerifyRootCertFile, "verify_middle_cert_file": cfg.VerifyMiddleCertFile} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 && cfg.LegacyVerifyCertFile != "" {
		return nil, fmt.Errorf("unionpay: config is missing %s (verify_cert_file was replaced by "+
			"verify_root_cert_file and verify_middle_cert_file)", strings.Join(sortedCopy(missing), ", "))
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("unionpay: config is missing %s", strings.Join(sortedCopy(missing), ", "))
	}
	if !merIDRE.MatchString(cfg.MerID) {
		return nil, fmt.Errorf("unionpay: mer_id %q is not a UnionPay merchant number", cfg.MerID)
	}
	for _, u := range []string{cfg.FrontTransURL, cfg.QueryURL, cfg.BackTransURL, cfg.FileTransURL} {
		if u == "" && (u == cfg.BackTransURL || u == cfg.FileTransURL) {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, fmt.Errorf("unionpay: %q is not an http(s) URL", u)
		}
	}
	if _, err := cfg.FormOrigins(); err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, client: client, now: time.Now, lifetime: 30 * time.Minute, ready: 9 * time.Hour}
	if cfg.BillReadyAfter != "" {
		d, err := time.ParseDuration(cfg.BillReadyAfter)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("unionpay: bill_ready_after %q is not a duration ≥ 0", cfg.BillReadyAfter)
		}
		p.ready = d
	}
	if cfg.OrderLifetime != "" {
		d, err := time.ParseDuration(cfg.OrderLifetime)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("unionpay: order_lifetime %q is not a positive duration", cfg.OrderLifetime)
		}
		p.lifetime = d
	}
	if err := p.loadKeys(); err != nil {
		return nil, err
	}
	return p, nil
}

// Method is payment.Card: UnionPay is how people pay by bank card.
func (p *Provider) Method() payment.Method { return payment.Card }

// Start signs the front transaction (消费, txnType 01) the browser must POST
// to the gateway. The form is deterministic (same order, same fields, and
// PKCS#1 v1.5 signatures are deterministic), so a second Start is safe.
// ProviderRef is the txnTime: queries name a transaction by orderId AND
// txnTime.
func (p *Provider) Start(_ context.Context, o payment.Order) (payment.Next, error) {
	if err := checkOrder(o); err != nil {
		return payment.Next{}, err
	}
	txnTime := p.txnTime(o.ExpiresAt)
	channel := "07" // internet (desktop browser)
	if o.Device == payment.Phone {
		channel = "08" // mobile browser
	}
	fields := []payment.Field{
		{Name: "version", Value: version}, {Name: "encoding", Value: encoding},
		{Name: "txnType", Value: txnConsume}, {Name: "txnSubType", Value: "01"},
		{Name: "bizType", Value: bizGateway}, {Name: "channelType", Value: channel},
		{Name: "accessType", Value: accessDirect}, {Name: "merId", Value: p.cfg.MerID},
		{Name: "orderId", Value: o.OutTradeNo}, {Name: "txnTime", Value: txnTime},
		{Name: "txnAmt", Value: strconv.FormatInt(o.Amount, 10)}, {Name: "currencyCode", Value: currencyCNY},
		{Name: "frontUrl", Value: o.ReturnURL}, {Name: "backUrl", Value: o.NotifyURL},
		{Name: "payTimeout", Value: o.ExpiresAt.In(beijing).Format(timeLayout)},
		// riskRateInfo is ACP's brace-wrapped sub-field list; commodityName is
		// what the cashier page shows as the subject.
		{Name: "riskRateInfo", Value: "{commodityName=" + cleanSubject(o.Subject) + "}"},
		{Name: "certId", Value: p.certID}, {Name: "signMethod", Value: signMethod},
	}
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		m[f.Name] = f.Value
	}
	sig, err := sign(p.key, m)
	if err != nil {
		return payment.Next{}, fmt.Errorf("unionpay: sign front transaction: %w", err)
	}
	fields = append(fields, payment.Field{Name: "signature", Value: sig})
	return payment.Next{Form: &payment.FormPost{Action: p.cfg.FrontTransURL, Fields: fields}, ProviderRef: txnTime}, nil
}

// txnTime is the order's send time (订单发送时间), derived from ExpiresAt
// minus the configured order lifetime rather than read from the clock, so
// that Start is deterministic. Only when the configured lifetime is shorter
// than the real one would that lie in the future; then the clock is used,
// and a second Start may differ (the gateway refuses the second form with
// respCode 12 if the first was already posted).
func (p *Provider) txnTime(expires time.Time) string {
	t := expires.Add(-p.lifetime)
	if now := p.now(); t.After(now) {
		t = now
	}
	return t.In(beijing).Format(timeLayout)
}

func checkOrder(o payment.Order) error {
	switch {
	case !outTradeNoRE.MatchString(o.OutTradeNo):
		return fmt.Errorf("unionpay: order number %q: %w", o.OutTradeNo, payment.ErrMalformed)
	case o.Amount <= 0:
		return fmt.Errorf("unionpay: amount %d fen: %w", o.Amount, payment.ErrMalformed)
	case o.Currency != "CNY":
		return fmt.Errorf("unionpay: currency %q: only CNY (156) is supported", o.Currency)
	case o.ReturnURL == "" || o.NotifyURL == "" || o.ExpiresAt.IsZero():
		return errors.New("unionpay: order needs ReturnURL, NotifyURL and ExpiresAt")
	}
	return nil
}

// cleanSubject drops the characters that would break ACP's k=v&k=v and
// {…} framing, and keeps the name short.
func cleanSubject(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune("{}&=\r\n", r) {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40])
	}
	return s
}
