package paypalsandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"im2pay/payment/paypal"
	"im2pay/payment/sandbox/sandboxmark"
)

// Files under dir/paypal/. The client secret is what PayPal's dashboard
// shows once; the signing key and its certificate are PayPal's side of the
// webhook signature (real PayPal publishes the certificate at
// PAYPAL-CERT-URL and keeps the key).
const (
	subdir     = "paypal"
	stateFile  = "sandbox.json"
	secretFile = "client_secret"
	keyFile    = "webhook_signing_key.pem"
	certFile   = "webhook_signing_cert.pem"
)

// app is the one REST app the sandbox knows, as PayPal's dashboard would
// list it: credentials, the merchant account behind it, and its webhook.
type app struct {
	BaseURL    string `json:"base_url"` // the sandbox server's origin, without /paypal
	WebhookURL string `json:"webhook_url"`
	ClientID   string `json:"client_id"`
	WebhookID  string `json:"webhook_id"`
	MerchantID string `json:"merchant_id"`
	CertID     string `json:"cert_id"`
	// Country is where the merchant account is registered (ISO 3166-1,
	// "US" when empty). It decides the one in-country currency the account
	// may take: CNY only for an account registered in China.
	Country string `json:"country,omitempty"`
}

// inCountry maps a country to the currency PayPal takes only from accounts
// registered there (developer.paypal.com/reference/currency-codes/, note 1).
var inCountry = map[string]string{"CN": "CNY", "BR": "BRL", "MY": "MYR"}

func (a app) inCountryCurrency() string { return inCountry[a.Country] }

// DemoRate is the rate the demo configuration quotes USD at: CNY per USD,
// a round figure near the market's, not a live rate.
const DemoRate = "7.2000"

// BrandName is what Provision puts in the merchant config.
const BrandName = "IM2.0 Pay"

// Provision creates (first call) or reuses (later calls) the sandbox app's
// credentials and webhook signing key under dir, records where the sandbox
// is served and where webhooks go, and returns the merchant config. PayPal
// configures webhooks per app, not per order, hence webhookURL here.
//
// The app is a merchant account registered in the US: its orders are
// priced in USD at DemoRate, and the sandbox refuses CNY orders for it as
// PayPal would (ProvisionIn makes an in-country account).
func Provision(dir, sandboxBaseURL, webhookURL string) (paypal.Config, error) {
	return ProvisionIn(dir, sandboxBaseURL, webhookURL, "US")
}

// ProvisionIn is Provision for a merchant account registered in country
// (ISO 3166-1). An account registered in China ("CN") is priced in CNY,
// which PayPal takes only from such accounts, with in_country set; every
// other country gets USD at DemoRate.
func ProvisionIn(dir, sandboxBaseURL, webhookURL, country string) (paypal.Config, error) {
	for _, u := range []string{sandboxBaseURL, webhookURL} {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return paypal.Config{}, fmt.Errorf("paypal sandbox: %q is not an absolute http(s) URL", u)
		}
	}
	d := filepath.Join(dir, subdir)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return paypal.Config{}, fmt.Errorf("paypal sandbox: %w", err)
	}
	a, err := loadApp(d)
	if errors.Is(err, fs.ErrNotExist) {
		a = &app{ClientID: "AS" + randomString(idAlphabet+"abcdefghijklmnopqrstuvwxyz_-", 78),
			WebhookID: randomID(17), MerchantID: randomID(13), CertID: "CERT-" + strings.ToLower(randomID(8)+"-"+randomID(8))}
	} else if err != nil {
		return paypal.Config{}, err
	}
	a.BaseURL, a.WebhookURL, a.Country = strings.TrimRight(sandboxBaseURL, "/"), webhookURL, country
	if err := ensureSecret(d); err != nil {
		return paypal.Config{}, err
	}
	if err := ensureSigningKey(d); err != nil {
		return paypal.Config{}, err
	}
	raw, _ := json.MarshalIndent(a, "", "  ")
	if err := writeFile(filepath.Join(d, stateFile), raw); err != nil {
		return paypal.Config{}, err
	}
	abs, err := filepath.Abs(filepath.Join(d, secretFile))
	if err != nil {
		return paypal.Config{}, err
	}
	cfg := paypal.Config{ClientID: a.ClientID, SecretFile: abs, APIBase: a.BaseURL + "/" + name,
		WebhookID: a.WebhookID, BrandName: BrandName, MerchantID: a.MerchantID, Currency: "USD", Rate: DemoRate}
	if cur := a.inCountryCurrency(); cur == "CNY" {
		cfg.Currency, cfg.Rate, cfg.InCountry = cur, "", true
	}
	return cfg, nil
}

func loadApp(d string) (*app, error) {
	raw, err := os.ReadFile(filepath.Join(d, stateFile))
	if err != nil {
		return nil, err
	}
	var a app
	if err := json.Unmarshal(raw, &a); err != nil || a.ClientID == "" || a.WebhookID == "" || a.CertID == "" {
		return nil, fmt.Errorf("paypal sandbox: %s is damaged; delete %s to provision again", stateFile, d)
	}
	return &a, nil
}

func ensureSecret(d string) error {
	p := filepath.Join(d, secretFile)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	// Tagged, so production recognises this secret wherever it is copied.
	secret, err := sandboxmark.Secret(idAlphabet+"abcdefghijklmnopqrstuvwxyz_-", 80)
	if err != nil {
		return fmt.Errorf("paypal sandbox: client secret: %w", err)
	}
	return writeFile(p, []byte(secret+"\n"))
}

// ensureSigningKey makes the RSA 2048 key PayPal signs webhooks with and a
// self-signed certificate for it, like the one behind PAYPAL-CERT-URL.
func ensureSigningKey(d string) error {
	kp, cp := filepath.Join(d, keyFile), filepath.Join(d, certFile)
	_, kerr := os.Stat(kp)
	_, cerr := os.Stat(cp)
	if kerr == nil && cerr == nil {
		return nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "messageverificationcerts.sandbox.paypal.com (im2pay sandbox)"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(key)})
	if err := writeFile(kp, keyPEM); err != nil {
		return err
	}
	return writeFile(cp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func mustPKCS8(key *rsa.PrivateKey) []byte {
	b, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err) // only fails for key types we do not use
	}
	return b
}

// writeFile replaces p atomically with mode 0600.
func writeFile(p string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}

// loadKeys reads what New needs from dir/paypal.
func loadKeys(dir string) (*app, string, *rsa.PrivateKey, []byte, error) {
	d := filepath.Join(dir, subdir)
	a, err := loadApp(d)
	if err != nil {
		return nil, "", nil, nil, fmt.Errorf("paypal sandbox: not provisioned in %s (call Provision first): %w", dir, err)
	}
	secret, err := os.ReadFile(filepath.Join(d, secretFile))
	if err != nil {
		return nil, "", nil, nil, fmt.Errorf("paypal sandbox: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(d, keyFile))
	if err != nil {
		return nil, "", nil, nil, fmt.Errorf("paypal sandbox: %w", err)
	}
	certPEM, err := os.ReadFile(filepath.Join(d, certFile))
	if err != nil {
		return nil, "", nil, nil, fmt.Errorf("paypal sandbox: %w", err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, "", nil, nil, fmt.Errorf("paypal sandbox: %s is not PEM", keyFile)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	key, ok := k.(*rsa.PrivateKey)
	if err != nil || !ok {
		return nil, "", nil, nil, fmt.Errorf("paypal sandbox: %s is not an RSA key: %v", keyFile, err)
	}
	return a, strings.TrimSpace(string(secret)), key, certPEM, nil
}
