// Package alipay is the merchant side of Alipay (支付宝) open-platform
// payments: 电脑网站支付 (alipay.trade.page.pay) on desktops and 手机网站支付
// (alipay.trade.wap.pay) on phones, with alipay.trade.query, .close and
// .refund, signed RSA2 in public-key mode (公钥模式, not certificate mode)
// through github.com/smartwalle/alipay/v3.
//
// Every message from Alipay is verified fail-closed: the RSA2 signature with
// Alipay's public key, then our app_id and seller_id. Amounts come back in
// fen exactly as Alipay stated them; the caller compares them with the order.
package alipay

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	sdk "github.com/smartwalle/alipay/v3"

	"im2pay/payment"
)

// ProductionGateway is Alipay's real open-platform gateway; the sandbox
// gateway is configured the same way, only its URL differs.
const ProductionGateway = "https://openapi.alipay.com/gateway.do"

// Config is everything the merchant side needs. Keys live in files outside
// the repository.
type Config struct {
	// AppID is the 应用 APPID of our application on the open platform.
	AppID string `json:"app_id"`
	// SellerID is our merchant's Alipay user id (2088 + 12 digits, the PID);
	// notifications and returns must name it.
	SellerID string `json:"seller_id"`
	// GatewayURL is the gateway.do endpoint (ProductionGateway in
	// production). It must carry no query string: the SDK appends "?" itself.
	GatewayURL string `json:"gateway_url"`
	// AppPrivateKeyFile is the PEM (PKCS#1 or PKCS#8) 应用私钥 that signs
	// our requests; Alipay holds the matching public key.
	AppPrivateKeyFile string `json:"app_private_key_file"`
	// AlipayPublicKeyFile is the PEM (PKIX) 支付宝公钥 that verifies API
	// answers, notifications and returns.
	AlipayPublicKeyFile string `json:"alipay_public_key_file"`
	// WebOrigins are the cashier origins the browser is redirected through
	// after the gateway (see payment.Origin); nil means DefaultWebOrigins.
	WebOrigins []string `json:"web_origins"`
}

// DefaultWebOrigins are the hosts a production page or wap payment passes
// through after openapi.alipay.com/gateway.do (PROVIDERS.md §1.7): the PC
// chain unitradeprod.alipay.com → excashier.alipay.com (third-party code, and
// one public app's CSP test that lists exactly those with the gateway), and
// the wap cashier mclient.alipay.com. Alipay's own sandbox cashier hosts are
// not documented: list them in web_origins when using that sandbox.
var DefaultWebOrigins = []string{"https://unitradeprod.alipay.com", "https://excashier.alipay.com", "https://mclient.alipay.com"}

// FormOrigins are the origins our pages' CSP form-action must allow for
// Alipay: the gateway's and the web origins.
func (c Config) FormOrigins() ([]string, error) {
	web, err := payment.WebOrigins("alipay", c.WebOrigins, DefaultWebOrigins)
	if err != nil {
		return nil, err
	}
	return payment.FormOrigins(c.GatewayURL, web), nil
}

// Provider speaks Alipay's protocol for one app; it implements
// payment.Provider and adds Refund.
type Provider struct {
	cfg    Config
	client *sdk.Client
	// http fetches bill downloads, which are plain GETs outside the SDK.
	http *http.Client
	now  func() time.Time // nil: time.Now (see SetClock)
}

var _ payment.Provider = (*Provider)(nil)

// beijing is the zone of every timestamp Alipay reads or writes
// (timestamp, time_expire, gmt_payment): UTC+8, whatever our server's zone.
var beijing = time.FixedZone("CST", 8*60*60)

// timeLayout is Alipay's "yyyy-MM-dd HH:mm:ss".
const timeLayout = "2006-01-02 15:04:05"

// New loads the keys named in cfg and makes a provider that talks to
// cfg.GatewayURL through client (nil: a client with a 15 s timeout).
func New(cfg Config, client *http.Client) (*Provider, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	priv, err := readKey("app private key", cfg.AppPrivateKeyFile)
	if err != nil {
		return nil, err
	}
	pub, err := readKey("Alipay public key", cfg.AlipayPublicKeyFile)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	// production=true is what makes WithProductionGateway take effect; in
	// the SDK's "sandbox" mode it would ignore our gateway URL and talk to
	// Alipay's own sandbox host instead.
	c, err := sdk.New(cfg.AppID, priv, true,
		sdk.WithProductionGateway(cfg.GatewayURL),
		sdk.WithHTTPClient(client),
		sdk.WithTimeLocation(beijing))
	if err != nil {
		return nil, fmt.Errorf("alipay: app private key %s: %w", cfg.AppPrivateKeyFile, err)
	}
	if err := c.LoadAliPayPublicKey(pub); err != nil {
		return nil, fmt.Errorf("alipay: Alipay public key %s: %w", cfg.AlipayPublicKeyFile, err)
	}
	return &Provider{cfg: cfg, client: c, http: client}, nil
}

func (c Config) check() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"app_id", c.AppID}, {"seller_id", c.SellerID}, {"gateway_url", c.GatewayURL},
		{"app_private_key_file", c.AppPrivateKeyFile}, {"alipay_public_key_file", c.AlipayPublicKeyFile},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("alipay: config is missing %s", strings.Join(missing, ", "))
	}
	u, err := url.Parse(c.GatewayURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return fmt.Errorf("alipay: gateway_url %q must be an absolute http(s) URL without a query", c.GatewayURL)
	}
	_, err = c.FormOrigins()
	return err
}

// readKey reads a PEM file. The SDK only recognises PEM when the text starts
// with "-----", so surrounding whitespace is trimmed.
func readKey(what, file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("alipay: read %s: %w", what, err)
	}
	s := strings.TrimSpace(string(b))
	if !strings.HasPrefix(s, "-----BEGIN ") {
		return "", fmt.Errorf("alipay: %s %s is not PEM", what, file)
	}
	return s, nil
}

// Method says this provider is Alipay.
func (p *Provider) Method() payment.Method { return payment.Alipay }

// AppID is the configured app id (for logs and the admin page).
func (p *Provider) AppID() string { return p.cfg.AppID }

// APIError is a signed business refusal from Alipay: code 40004 and the like
// with a sub_code such as ACQ.TRADE_STATUS_ERROR, or an unsigned gateway
// refusal (40002 isv.invalid-signature).
type APIError struct {
	Method  string // the API, e.g. alipay.trade.refund
	Code    string // 40001, 40002, 40004, 20000…
	SubCode string // ACQ.* or isv.*
	SubMsg  string
}

// Error reads like Alipay's own answer.
func (e *APIError) Error() string {
	return fmt.Sprintf("alipay: %s answered %s %s: %s", e.Method, e.Code, e.SubCode, e.SubMsg)
}

// apiError turns what the SDK returned into our error: its *sdk.Error (an
// unsigned gateway answer such as a bad signature) or a signed non-10000 code.
func apiError(method string, err error, e sdk.Error) error {
	var se *sdk.Error
	if errors.As(err, &se) {
		return &APIError{Method: method, Code: string(se.Code), SubCode: se.SubCode, SubMsg: se.SubMsg}
	}
	if errors.Is(err, rsa.ErrVerification) {
		return fmt.Errorf("alipay: %s answer: %w", method, payment.ErrBadSignature)
	}
	if err != nil {
		return fmt.Errorf("alipay: %s: %w", method, err)
	}
	return &APIError{Method: method, Code: string(e.Code), SubCode: e.SubCode, SubMsg: e.SubMsg}
}
