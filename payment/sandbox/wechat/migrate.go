package wechatsandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"im2pay/payment/wechat"
)

// A merchant switching from WeChat Pay's platform certificate to its public
// key gets notifications signed by either while the switch lasts: WeChat
// picks the key per notification, the public key's share growing daily to
// 100% from the seventh day, and names the key in Wechatpay-Serial (WeChat
// Pay's support answer in developers.weixin.qq.com/community/develop/doc/
// 0004e8c40b09182972936db6d69400; pay.weixin.qq.com/doc/v3/merchant/4012154180).
// The sandbox plays that switch when told to (Migrate): it signs the given
// share of notifications with a platform certificate instead of the public
// key. The daily schedule itself is left to the caller. API answers keep
// the public key: during the switch they follow the Wechatpay-Serial the
// merchant's request names, which the SDK sets to the public key id.

// Files of the sandbox's platform certificate, made by ProvisionMigrating.
const (
	PlatformCertFile    = "wechat_platform_cert.pem"     // merchant side: the certificate
	PlatformCertKeyFile = "wechat_platform_cert_key.pem" // sandbox side: its private key
)

// migration is the platform certificate the sandbox signs a share of
// notifications with.
type migration struct {
	mu     sync.Mutex
	key    *rsa.PrivateKey
	serial string
	share  float64 // of notifications signed by the certificate, 0..1
}

// ProvisionMigrating is Provision for a merchant in the middle of the
// switch: it also makes the platform certificate (once) and returns the
// configuration that names both the public key and the certificate.
func ProvisionMigrating(dir, sandboxBaseURL string) (wechat.Config, error) {
	cfg, err := Provision(dir, sandboxBaseURL)
	if err != nil {
		return cfg, err
	}
	key, err := ensureKey(filepath.Join(dir, PlatformCertKeyFile))
	if err != nil {
		return cfg, fmt.Errorf("wechat sandbox: %w", err)
	}
	certPath := filepath.Join(dir, PlatformCertFile)
	if !exists(certPath) {
		if err := writePlatformCert(certPath, key); err != nil {
			return cfg, fmt.Errorf("wechat sandbox: %w", err)
		}
	}
	der, err := readPEM(certPath, "CERTIFICATE")
	if err != nil {
		return cfg, fmt.Errorf("wechat sandbox: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return cfg, fmt.Errorf("wechat sandbox: %w", err)
	}
	cfg.PlatformCertSerialNo, cfg.PlatformCertFile = fmt.Sprintf("%X", cert.SerialNumber.Bytes()), certPath
	return cfg, nil
}

// writePlatformCert issues the platform certificate: 40 hex digits of
// serial and five years of validity, as WeChat's (pay.weixin.qq.com/wiki/
// doc/apiv3/open/pay/wechatpay5_0.shtml); self-signed, since only the
// serial and the key inside matter to the protocol.
func writePlatformCert(path string, key *rsa.PrivateKey) error {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, new(big.Int).Lsh(big.NewInt(1), 156)),
		Subject:      pkix.Name{CommonName: "Tenpay.com sandbox platform certificate", Organization: []string{"沙箱 SANDBOX"}},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	return writePEM(path, "CERTIFICATE", der)
}

// Migrate makes the sandbox sign share (0..1) of its notifications with
// the platform certificate ProvisionMigrating made in dir.
func (s *Sandbox) Migrate(dir string, share float64) error {
	key, err := readKey(filepath.Join(dir, PlatformCertKeyFile))
	if err != nil {
		return fmt.Errorf("wechat sandbox: no platform certificate (ProvisionMigrating): %w", err)
	}
	der, err := readPEM(filepath.Join(dir, PlatformCertFile), "CERTIFICATE")
	if err != nil {
		return fmt.Errorf("wechat sandbox: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("wechat sandbox: %w", err)
	}
	s.migration.mu.Lock()
	defer s.migration.mu.Unlock()
	s.migration.key, s.migration.serial = key, fmt.Sprintf("%X", cert.SerialNumber.Bytes())
	s.migration.share = min(max(share, 0), 1)
	return nil
}

// signNotification signs one delivery of a notification: with the public
// key, or, for the migrating share, with the platform certificate.
func (s *Sandbox) signNotification(h http.Header, body []byte, at time.Time) {
	s.sign(h, body, at)
	m := &s.migration
	m.mu.Lock()
	key, serial, share := m.key, m.serial, m.share
	m.mu.Unlock()
	if key == nil || share == 0 {
		return
	}
	if share < 1 {
		n, _ := rand.Int(rand.Reader, big.NewInt(1000))
		if float64(n.Int64()) >= share*1000 {
			return
		}
	}
	ts, nonce := strconv.FormatInt(at.Unix(), 10), h.Get(wechat.HeaderNonce)
	h.Set(wechat.HeaderSerial, serial)
	h.Set(wechat.HeaderSignature, signWith(key, ts+"\n"+nonce+"\n"+string(body)+"\n"))
}
