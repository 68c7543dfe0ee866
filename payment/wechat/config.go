// Package wechat is the merchant side of WeChat Pay APIv3 (微信支付): Native
// (QR code) payments on desktop, H5 payments on phones, signed asynchronous
// notifications, order query and close. It uses the official
// wechatpay-go SDK in public-key mode: responses and notifications are
// verified with the WeChat Pay public key ("PUB_KEY_ID_…"), not with
// downloaded platform certificates.
package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/signers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"im2pay/payment"
)

// Config is everything the merchant side needs. Keys are files, never
// values, so the JSON can live in the repository's config while the keys
// stay outside it.
type Config struct {
	// MchID is the merchant number (商户号), e.g. "1900000109".
	MchID string `json:"mch_id"`
	// AppID is the app bound to the merchant (公众号/开放平台 APPID, "wx…").
	AppID string `json:"app_id"`
	// MerchantCertSerialNo is the serial number of the merchant API
	// certificate (商户API证书序列号), hex; WeChat finds our public key by it.
	MerchantCertSerialNo string `json:"merchant_cert_serial_no"`
	// MerchantPrivateKeyFile is apiclient_key.pem (PKCS#8 "PRIVATE KEY").
	MerchantPrivateKeyFile string `json:"merchant_private_key_file"`
	// APIv3KeyFile holds the 32-byte APIv3 key (APIv3密钥) that decrypts
	// notification resources; surrounding whitespace is ignored.
	APIv3KeyFile string `json:"apiv3_key_file"`
	// WeChatPayPublicKeyID is the id of the WeChat Pay public key
	// ("PUB_KEY_ID_…"); it arrives as Wechatpay-Serial on signed messages.
	WeChatPayPublicKeyID string `json:"wechatpay_public_key_id"`
	// WeChatPayPublicKeyFile is pub_key.pem ("PUBLIC KEY").
	WeChatPayPublicKeyFile string `json:"wechatpay_public_key_file"`
	// PlatformCertSerialNo and PlatformCertFile are the WeChat Pay platform
	// certificate (平台证书) of a merchant migrating from it to the public
	// key: optional, both or neither (see platformcert.go).
	PlatformCertSerialNo string `json:"wechatpay_platform_cert_serial_no,omitempty"`
	PlatformCertFile     string `json:"wechatpay_platform_cert_file,omitempty"`
	// BaseURL is where the API lives; "" means https://api.mch.weixin.qq.com.
	// The sandbox sets it to its own "…/wechat".
	BaseURL string `json:"base_url"`
	// WebOrigins are the origins of the H5 payment page the browser is sent
	// to (h5_url; see payment.Origin); nil means DefaultWebOrigins.
	WebOrigins []string `json:"web_origins"`
}

// DefaultWebOrigins is where production h5_url points: wx.tenpay.com
// (/cgi-bin/mmpayweb-bin/checkmweb), PROVIDERS.md §2.7. Native payments send
// the browser nowhere (the code_url is drawn as a QR code), and the API
// host is server-side only.
var DefaultWebOrigins = []string{"https://wx.tenpay.com"}

// FormOrigins are the origins our pages' CSP form-action must allow for
// WeChat Pay: the API's (harmless: the browser never goes there) and the
// web origins, which the redirect to h5_url needs.
func (c Config) FormOrigins() ([]string, error) {
	web, err := payment.WebOrigins("wechat", c.WebOrigins, DefaultWebOrigins)
	if err != nil {
		return nil, err
	}
	api := c.BaseURL
	if api == "" {
		api = consts.WechatPayAPIServer
	}
	return payment.FormOrigins(api, web), nil
}

// Provider speaks WeChat Pay APIv3 for one merchant and app.
type Provider struct {
	cfg      Config
	client   *core.Client
	download *core.Client // unverified answers: bill downloads only
	now      func() time.Time
	verifier auth.Verifier
	// checker verifies error answers too: the SDK checks the signature of
	// 2xx answers only, and we act on some error codes (ORDERPAID).
	checker *validators.WechatPayResponseValidator
	notify  *notify.Handler
	// serials are the Wechatpay-Serial values a message may carry: the
	// public key id, and the platform certificate's serial when configured.
	serials []string
}

// New loads the keys named in cfg and builds the SDK client. client may be
// nil (a default client with the SDK's timeout is used).
func New(cfg Config, client *http.Client) (*Provider, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	key, err := utils.LoadPrivateKeyWithPath(cfg.MerchantPrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("wechat: merchant private key %s: %w", cfg.MerchantPrivateKeyFile, err)
	}
	pub, err := utils.LoadPublicKeyWithPath(cfg.WeChatPayPublicKeyFile)
	if err != nil {
		return nil, fmt.Errorf("wechat: WeChat Pay public key %s: %w", cfg.WeChatPayPublicKeyFile, err)
	}
	apiv3, err := loadAPIv3Key(cfg.APIv3KeyFile)
	if err != nil {
		return nil, err
	}
	hc, err := rewritingClient(client, cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	// Public-key mode: responses are verified with the WeChat Pay public
	// key whose id must come back as Wechatpay-Serial; with a platform
	// certificate configured, messages naming its serial verify with it.
	verifier, err := newVerifier(cfg, pub)
	if err != nil {
		return nil, err
	}
	signer := &signers.SHA256WithRSASigner{MchID: cfg.MchID, CertificateSerialNo: cfg.MerchantCertSerialNo, PrivateKey: key}
	c, err := core.NewClientWithDialSettings(context.Background(), &core.DialSettings{
		HTTPClient: hc, Signer: signer,
		Validator: taggingValidator{validators.NewWechatPayResponseValidator(verifier)},
	})
	if err != nil {
		return nil, fmt.Errorf("wechat: client: %w", err)
	}
	// The bill download's answer carries no WeChat Pay signature
	// (PROVIDERS.md §2.5; WXGO's option.WithoutValidator names bill
	// downloads): this client, used for that one call only, skips the
	// check; the bill is checked by its SHA-1 from the signed tradebill
	// answer instead.
	dl, err := core.NewClientWithDialSettings(context.Background(), &core.DialSettings{
		HTTPClient: hc, Signer: signer, Validator: &validators.NullValidator{},
	})
	if err != nil {
		return nil, fmt.Errorf("wechat: download client: %w", err)
	}
	h, err := notify.NewRSANotifyHandler(apiv3, verifier)
	if err != nil {
		return nil, fmt.Errorf("wechat: notify handler: %w", err)
	}
	return &Provider{cfg: cfg, client: c, download: dl, verifier: verifier, notify: h, serials: serials(cfg),
		checker: validators.NewWechatPayResponseValidator(verifier)}, nil
}

func (c Config) check() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"mch_id", c.MchID}, {"app_id", c.AppID}, {"merchant_cert_serial_no", c.MerchantCertSerialNo},
		{"merchant_private_key_file", c.MerchantPrivateKeyFile}, {"apiv3_key_file", c.APIv3KeyFile},
		{"wechatpay_public_key_id", c.WeChatPayPublicKeyID}, {"wechatpay_public_key_file", c.WeChatPayPublicKeyFile},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("wechat: config is missing %s", strings.Join(missing, ", "))
	}
	_, err := c.FormOrigins()
	return err
}

// loadAPIv3Key reads the APIv3 key; AES-256-GCM needs exactly 32 bytes.
func loadAPIv3Key(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("wechat: APIv3 key: %w", err)
	}
	k := strings.TrimSpace(string(b))
	if len(k) != 32 {
		return "", fmt.Errorf("wechat: APIv3 key in %s must be 32 bytes, got %d", path, len(k))
	}
	return k, nil
}

// rewritingClient returns a copy of client whose transport sends the SDK's
// requests to base. Every SDK service builds its URL from the constant
// consts.WechatPayAPIServer, so the host cannot be configured in the SDK;
// rewriting in the transport keeps the signed request line ("/v3/pay/…",
// computed before sending) exactly what the real API would see, and
// switching to production is only a matter of base_url.
func rewritingClient(client *http.Client, base string) (*http.Client, error) {
	if client == nil {
		client = &http.Client{Timeout: consts.DefaultTimeout}
	}
	if base == "" || strings.TrimRight(base, "/") == consts.WechatPayAPIServer {
		return client, nil
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("wechat: base_url %q is not an http(s) URL", base)
	}
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c := *client
	c.Transport = &rewriter{to: u, next: next}
	return &c, nil
}

var official, _ = url.Parse(consts.WechatPayAPIServer)

// rewriter moves requests for the official API host to another base URL.
type rewriter struct {
	to   *url.URL
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (r *rewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != official.Host {
		return nil, errors.New("wechat: refusing a request for an unexpected host " + req.URL.Host)
	}
	out := req.Clone(req.Context())
	u := *req.URL
	u.Scheme, u.Host = r.to.Scheme, r.to.Host
	u.Path = r.to.Path + req.URL.Path
	if req.URL.RawPath != "" {
		u.RawPath = r.to.EscapedPath() + req.URL.RawPath
	}
	out.URL, out.Host = &u, r.to.Host
	return r.next.RoundTrip(out)
}

var _ http.RoundTripper = (*rewriter)(nil)

// taggingValidator marks every failed response verification as
// payment.ErrBadSignature, so callers need not read the SDK's messages.
type taggingValidator struct{ auth.Validator }

// Validate implements auth.Validator.
func (v taggingValidator) Validate(ctx context.Context, res *http.Response) error {
	if err := v.Validator.Validate(ctx, res); err != nil {
		return fmt.Errorf("wechat: response: %w: %w", payment.ErrBadSignature, err)
	}
	return nil
}
