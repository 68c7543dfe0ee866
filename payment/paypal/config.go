// Package paypal is the merchant side of PayPal Checkout (Orders API v2):
// it creates an order, sends the person to PayPal's approval page, captures
// the order once they come back (money only moves at capture), and reads
// PAYMENT.CAPTURE.* webhooks, whose signatures it has PayPal itself verify.
//
// It speaks through github.com/plutov/paypal/v4 against a configured API
// base, so the local sandbox and the real PayPal differ only in Config.
package paypal

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	sdk "github.com/plutov/paypal/v4"

	"im2pay/payment"
)

// Config is what the merchant side needs to talk to PayPal. The client
// secret is never in the repository or in this struct: only its file path.
type Config struct {
	// ClientID is the REST app's client id (Developer Dashboard → Apps).
	ClientID string `json:"client_id"`
	// SecretFile holds the REST app's client secret, alone, on one line.
	SecretFile string `json:"secret_file"`
	// APIBase is https://api-m.paypal.com, https://api-m.sandbox.paypal.com,
	// or the local sandbox's http://host/paypal.
	APIBase string `json:"api_base"`
	// WebOrigins are the origins of the approve page the person is sent to
	// (see payment.Origin); nil means DefaultWebOrigins.
	WebOrigins []string `json:"web_origins"`
	// WebhookID is the id PayPal gave the webhook listener registered for
	// this app; the webhook signature covers it, so it binds events to us.
	WebhookID string `json:"webhook_id"`
	// BrandName is shown on PayPal's approval page instead of the account name.
	BrandName string `json:"brand_name"`
	// MerchantID is the PayPal merchant id (payer id) of the receiving
	// account. Optional; when set, every order we read must name it as payee.
	MerchantID string `json:"merchant_id,omitempty"`
	// Currency is what orders are priced in at PayPal (default USD), one of
	// Currencies. CNY, BRL and MYR need InCountry.
	Currency string `json:"currency,omitempty"`
	// Rate is how many CNY one unit of Currency is ("7.2000"), at most six
	// decimals; each order stores the rate and amount it was quoted with.
	Rate RateText `json:"rate,omitempty"`
	// InCountry says the receiving account is registered in the country of
	// Currency: PayPal takes CNY only from accounts registered in China.
	InCountry bool `json:"in_country,omitempty"`
	// ReportPageSize is Transaction Search's page_size for bills, 1–500
	// (PROVIDERS.md §4.5); 0 means 500.
	ReportPageSize int `json:"report_page_size,omitempty"`
}

// DefaultWebOrigins is where the approve link points in production:
// https://www.paypal.com/checkoutnow?token=… (PROVIDERS.md §4.7). PayPal's
// own sandbox uses https://www.sandbox.paypal.com: list it in web_origins
// when api_base is api-m.sandbox.paypal.com.
var DefaultWebOrigins = []string{"https://www.paypal.com"}

// FormOrigins are the origins our pages' CSP form-action must allow for
// PayPal: the API's (harmless: the browser never goes there) and the web
// origins, which the redirect to the approve page needs.
func (c Config) FormOrigins() ([]string, error) {
	web, err := payment.WebOrigins("paypal", c.WebOrigins, DefaultWebOrigins)
	if err != nil {
		return nil, err
	}
	return payment.FormOrigins(c.APIBase, web), nil
}

// Provider is the PayPal implementation of payment.Provider.
type Provider struct {
	cfg      Config
	secret   string
	hc       *http.Client
	currency string       // from cfg.Pricing
	rate     payment.Rate // CNY per unit of currency

	now func() time.Time // the app's clock: when a day's bill is complete

	mu  sync.Mutex
	api *sdk.Client // replaced when PayPal stops accepting its access token
}

var (
	_ payment.Provider  = (*Provider)(nil)
	_ payment.Converter = (*Provider)(nil)
)

// New loads the client secret and prepares the API client. client may be
// nil (a client with a 20 s timeout is used).
func New(cfg Config, client *http.Client) (*Provider, error) {
	var missing []string
	for name, v := range map[string]string{"client_id": cfg.ClientID, "secret_file": cfg.SecretFile,
		"api_base": cfg.APIBase, "webhook_id": cfg.WebhookID} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("paypal: config is missing %s", strings.Join(missing, ", "))
	}
	if !strings.HasPrefix(cfg.APIBase, "https://") && !strings.HasPrefix(cfg.APIBase, "http://") {
		return nil, fmt.Errorf("paypal: api_base %q is not an http(s) URL", cfg.APIBase)
	}
	if _, err := cfg.FormOrigins(); err != nil {
		return nil, err
	}
	currency, rate, err := cfg.Pricing()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(cfg.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("paypal: read client secret: %w", err)
	}
	secret := strings.TrimSpace(string(raw))
	if secret == "" {
		return nil, fmt.Errorf("paypal: client secret file %s is empty", cfg.SecretFile)
	}
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	cfg.APIBase = strings.TrimRight(cfg.APIBase, "/")
	if cfg.ReportPageSize < 0 || cfg.ReportPageSize > 500 {
		return nil, fmt.Errorf("paypal: report_page_size %d is not 1–500", cfg.ReportPageSize)
	}
	p := &Provider{cfg: cfg, secret: secret, hc: client, currency: currency, rate: rate, now: time.Now}
	if p.api, err = p.newClient(); err != nil {
		return nil, err
	}
	return p, nil
}

// Method is payment.PayPal.
func (p *Provider) Method() payment.Method { return payment.PayPal }

func (p *Provider) newClient() (*sdk.Client, error) {
	c, err := sdk.NewClient(p.cfg.ClientID, p.secret, p.cfg.APIBase)
	if err != nil {
		return nil, fmt.Errorf("paypal: %w", err)
	}
	c.SetHTTPClient(p.hc)
	return c, nil
}

// call runs f with the current API client. The SDK caches its access token
// until expires_in and never drops it on a 401, so a token PayPal revoked
// (or a restarted sandbox forgot) would fail every call for hours: on a 401
// from an API endpoint we start a fresh client, which fetches a new token,
// and try once more.
func (p *Provider) call(f func(c *sdk.Client) error) error {
	p.mu.Lock()
	c := p.api
	p.mu.Unlock()
	err := f(c)
	var er *sdk.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnauthorized ||
		er.Response.Request == nil || strings.HasSuffix(er.Response.Request.URL.Path, "/v1/oauth2/token") {
		return err
	}
	fresh, nerr := p.newClient()
	if nerr != nil {
		return err
	}
	p.mu.Lock()
	if p.api == c {
		p.api = fresh
	} else {
		fresh = p.api // another call already renewed it
	}
	p.mu.Unlock()
	return f(fresh)
}

// PayPal ids (orders, captures, payers) are upper-case letters and digits.
// The SDK pastes ids into URL paths unescaped, so anything else is refused
// before it reaches a request.
var (
	idRe         = regexp.MustCompile(`^[A-Z0-9]{8,36}$`)
	outTradeNoRe = regexp.MustCompile(`^[0-9A-Za-z]{16,32}$`)
)
