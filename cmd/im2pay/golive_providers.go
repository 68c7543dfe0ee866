package main

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"im2pay/payment"
	"im2pay/payment/alipay"
	"im2pay/payment/paypal"
	"im2pay/payment/unionpay"
	"im2pay/payment/wechat"
)

// liveHosts are each provider's production API hosts; testHosts are the
// providers' own sandboxes (PROVIDERS.md §1.7, 2.7, 3.7, 4.7).
var (
	liveHosts = map[string][]string{
		"alipay": {"openapi.alipay.com"},
		"wechat": {"api.mch.weixin.qq.com", "api2.mch.weixin.qq.com"},
		"card":   {"gateway.95516.com"},
		"paypal": {"api-m.paypal.com", "api.paypal.com"},
	}
	testHosts = []string{"openapi-sandbox.dl.alipaydev.com", "openapi.alipaydev.com",
		"gateway.test.95516.com", "api-m.sandbox.paypal.com", "api.sandbox.paypal.com"}
	// browserHosts are where the browser goes after our form post, beyond
	// the API origin: each provider's documented production web origins
	// (its DefaultWebOrigins, sourced from PROVIDERS.md there). CSP
	// form-action must list them or Chrome stops the redirect.
	browserHosts = map[string][]string{
		"alipay": alipay.DefaultWebOrigins,
		"wechat": wechat.DefaultWebOrigins,
		"card":   unionpay.DefaultWebOrigins,
		"paypal": paypal.DefaultWebOrigins,
	}
)

func (c *checklist) providers(pc paymentConfig) {
	for _, m := range payment.Methods {
		if c.sections[string(m)] != nil {
			c.urls(string(m))
		}
	}
	if pc.Alipay != nil {
		_, err := alipay.New(*pc.Alipay, nil)
		c.loads("alipay", err)
		c.alipay(*pc.Alipay)
	}
	if pc.WeChat != nil {
		_, err := wechat.New(*pc.WeChat, nil)
		c.loads("wechat", err)
		c.wechat(*pc.WeChat)
	}
	if pc.Card != nil {
		_, err := unionpay.New(*pc.Card, nil)
		c.loads("card", err)
		c.unionpay(*pc.Card)
	}
	if pc.PayPal != nil {
		_, err := paypal.New(*pc.PayPal, &http.Client{})
		if !errors.Is(err, paypal.ErrPricing) { // payPalPricing words those
			c.loads("paypal", err)
		}
		c.paypal(*pc.PayPal)
	}
}

// loads reports a section the app itself would fail to load; the server
// would stop at start anyway, so production reports it with the rest.
func (c *checklist) loads(area string, err error) {
	if err != nil {
		c.refuse(area, "the app cannot load this section: %v.", err)
	}
}

// urls checks every URL of a section by field name, so fields added later
// (a notify URL, a bill download host) are held to the same rule.
func (c *checklist) urls(area string) {
	sec := c.sections[area]
	keys := make([]string, 0, len(sec))
	for k := range sec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	live := false
	for _, k := range keys {
		v, ok := sec[k].(string)
		if !ok || v == "" || !(strings.HasSuffix(k, "_url") || strings.HasSuffix(k, "_base")) {
			continue
		}
		if err := payment.CheckPublicHTTPS(v); err != nil {
			c.refuse(area, "%s %s %v: the provider is unreachable there, or it is not the provider.", k, v, err)
			continue
		}
		host := hostOf(v)
		switch {
		case slices.Contains(testHosts, host):
			c.note(area, "%s %s is the provider's own sandbox: no real money moves there.", k, v)
		case slices.Contains(liveHosts[area], host):
			live = true
		case k == "notify_url" || k == "webhook_url":
			if want := c.cfg.BaseURL + "/pay/notify/" + area; v != want {
				c.note(area, "%s %s is not %s, where this app receives %s notifications.", k, v, want, area)
			}
		default:
			c.note(area, "%s %s is not one of the provider's production hosts (%s).", k, v, strings.Join(liveHosts[area], ", "))
		}
	}
	if s, _ := sec["base_url"].(string); area == "wechat" && s == "" {
		live = true // an empty base_url is the production API
	}
	c.webOrigins(area, live)
}

// webOrigins checks the origins the browser passes through: the section's
// web_origins when it lists them, else the provider's documented production
// defaults. Each must be a public https origin; and when the section points
// at the provider's production API, every documented host must be allowed
// (by web_origins or FORM_ACTION_ORIGINS), or the page's CSP would stop the
// person on the way to pay.
func (c *checklist) webOrigins(area string, live bool) {
	allowed := slices.Clone(c.cfg.FormActionOrigins)
	web := browserHosts[area]
	if raw, ok := c.sections[area]["web_origins"]; ok && raw != nil {
		web = nil
		list, isList := raw.([]any)
		if !isList {
			c.refuse(area, "web_origins must be a list of origins such as [\"https://www.paypal.com\"].")
		}
		for _, o := range list {
			s, _ := o.(string)
			if err := payment.CheckPublicHTTPS(s); err != nil {
				c.refuse(area, "web_origins lists %q, which %v: a page may only send the browser to public https sites.", s, err)
				continue
			}
			if n, err := payment.Origin(s); err == nil {
				web = append(web, n)
			}
		}
	}
	allowed = append(allowed, web...)
	if !live {
		return
	}
	for _, h := range browserHosts[area] {
		if !slices.Contains(allowed, h) {
			c.note(area, "the browser passes through %s on its way to pay, but web_origins does not list it: the page's CSP would stop the person there.", h)
		}
	}
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
}

var (
	alipayAppIDRe  = regexp.MustCompile(`^20\d{14}$`)
	alipayPIDRe    = regexp.MustCompile(`^2088\d{12}$`)
	wechatMchIDRe  = regexp.MustCompile(`^\d{10}$`)
	wechatAppIDRe  = regexp.MustCompile(`^wx[0-9a-f]{16}$`)
	wechatSerialRe = regexp.MustCompile(`^[0-9A-Fa-f]{40}$`)
	paypalIDRe     = regexp.MustCompile(`^[A-Za-z0-9_-]{40,100}$`)
	paypalWebhook  = regexp.MustCompile(`^[A-Z0-9]{10,40}$`)
	paypalPayerRe  = regexp.MustCompile(`^[A-Z0-9]{13}$`)
)

func (c *checklist) alipay(cfg alipay.Config) {
	const a = "alipay"
	if !alipayAppIDRe.MatchString(cfg.AppID) {
		c.note(a, "app_id %q is not an Alipay APPID (16 digits starting 20).", cfg.AppID)
	}
	if !alipayPIDRe.MatchString(cfg.SellerID) {
		c.note(a, "seller_id %q is not an Alipay partner id (2088 and 12 more digits).", cfg.SellerID)
	}
	if u, err := url.Parse(cfg.GatewayURL); err == nil && (u.RawQuery != "" || !strings.HasSuffix(u.Path, "/gateway.do")) {
		c.note(a, "gateway_url %s should end in /gateway.do with no query (the SDK adds its own).", cfg.GatewayURL)
	}
	app := c.privateKey(a, "app_private_key_file", cfg.AppPrivateKeyFile, false)
	ali := c.publicKey(a, "alipay_public_key_file", cfg.AlipayPublicKeyFile)
	if app != nil && ali != nil && app.PublicKey.Equal(ali) {
		c.note(a, "alipay_public_key_file holds your own app public key, not Alipay's: every notification would fail its signature check.")
	}
}

func (c *checklist) wechat(cfg wechat.Config) {
	const a = "wechat"
	if !wechatMchIDRe.MatchString(cfg.MchID) {
		c.note(a, "mch_id %q is not a WeChat Pay merchant number (10 digits).", cfg.MchID)
	}
	if !wechatAppIDRe.MatchString(cfg.AppID) {
		c.note(a, "app_id %q is not a WeChat APPID (wx and 16 hex digits).", cfg.AppID)
	}
	if !wechatSerialRe.MatchString(cfg.MerchantCertSerialNo) {
		c.note(a, "merchant_cert_serial_no %q is not a certificate serial (40 hex digits); WeChat would refuse every request.", cfg.MerchantCertSerialNo)
	}
	if !strings.HasPrefix(cfg.WeChatPayPublicKeyID, "PUB_KEY_ID_") {
		c.note(a, "wechatpay_public_key_id %q does not start with PUB_KEY_ID_: copy it from the merchant platform.", cfg.WeChatPayPublicKeyID)
	}
	mch := c.privateKey(a, "merchant_private_key_file", cfg.MerchantPrivateKeyFile, true)
	pub := c.publicKey(a, "wechatpay_public_key_file", cfg.WeChatPayPublicKeyFile)
	if mch != nil && pub != nil && mch.PublicKey.Equal(pub) {
		c.note(a, "wechatpay_public_key_file holds your own merchant key, not WeChat Pay's public key.")
	}
	if k := c.secret(a, "apiv3_key_file", cfg.APIv3KeyFile); k != "" && len(k) != 32 {
		c.note(a, "apiv3_key_file holds %d bytes; the APIv3 key is exactly 32.", len(k))
	}
	c.wechatPlatformCert(cfg)
}

// wechatPlatformCert checks the platform certificate a merchant keeps
// beside the public key while switching to it (payment/wechat,
// platformcert.go): WeChat's, not the sandbox's, and not about to lapse,
// since WeChat stops signing with a certificate when it expires.
func (c *checklist) wechatPlatformCert(cfg wechat.Config) {
	const a = "wechat"
	if cfg.PlatformCertFile == "" {
		return
	}
	for _, cert := range c.certificates(a, "wechatpay_platform_cert_file", cfg.PlatformCertFile) {
		if left := time.Until(cert.NotAfter); left < 30*24*time.Hour {
			c.note(a, "wechatpay_platform_cert_file %s expires on %s: finish the switch to the public key and remove it before then.",
				cfg.PlatformCertFile, cert.NotAfter.Format(time.DateOnly))
		}
	}
}

func (c *checklist) paypal(cfg paypal.Config) {
	const a = "paypal"
	if !paypalIDRe.MatchString(cfg.ClientID) {
		c.note(a, "client_id is not a PayPal REST client id (40 to 100 letters, digits, - or _).")
	}
	if s := c.secret(a, "secret_file", cfg.SecretFile); s != "" && !paypalIDRe.MatchString(s) {
		c.note(a, "secret_file %s does not hold a PayPal client secret (one line of letters, digits, - or _).", cfg.SecretFile)
	}
	if !paypalWebhook.MatchString(cfg.WebhookID) {
		c.note(a, "webhook_id %q is not a PayPal webhook id (upper-case letters and digits).", cfg.WebhookID)
	}
	if cfg.MerchantID != "" && !paypalPayerRe.MatchString(cfg.MerchantID) {
		c.note(a, "merchant_id %q is not a PayPal merchant id (13 upper-case letters and digits).", cfg.MerchantID)
	}
	c.payPalPricing(cfg)
}
