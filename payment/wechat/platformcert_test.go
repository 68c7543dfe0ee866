package wechat

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"im2pay/payment"
)

// migrating is a merchant switching from WeChat Pay's platform certificate
// to its public key: both are configured, and WeChat signs each message
// with one of them, named in Wechatpay-Serial.
type migrating struct {
	cfg         Config
	publicKey   *rsa.PrivateKey // WeChat's key behind pub_key.pem
	platformKey *rsa.PrivateKey // WeChat's key behind the platform certificate
	apiv3       string
}

const (
	testPubKeyID = "PUB_KEY_ID_0116430535512025030300389200001906"
	testMchID    = "1643053551"
	testAppID    = "wx8888888888888888"
)

func newMigrating(t *testing.T) *migrating {
	t.Helper()
	dir := t.TempDir()
	key := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	m := &migrating{publicKey: key(), platformKey: key(), apiv3: "Kq3v9ZrT2mW8xL5nB7cD1fG4hJ6pQ0sY"}
	merchant, _ := x509.MarshalPKCS8PrivateKey(key())
	pub, _ := x509.MarshalPKIXPublicKey(&m.publicKey.PublicKey)
	serial, _ := new(big.Int).SetString("5157F09EFDC096DE15EBE81A47057A7232F1B8E1", 16)
	cert, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: serial,
		Subject:   pkix.Name{CommonName: "Tenpay.com Root CA test platform certificate"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0)},
		&x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}},
		&m.platformKey.PublicKey, m.platformKey)
	if err != nil {
		t.Fatal(err)
	}
	apiv3 := filepath.Join(dir, "apiv3.txt")
	if err := os.WriteFile(apiv3, []byte(m.apiv3), 0o600); err != nil {
		t.Fatal(err)
	}
	m.cfg = Config{MchID: testMchID, AppID: testAppID, MerchantCertSerialNo: "3775B6A45ACD588826D15E583A95F5DD00000000",
		MerchantPrivateKeyFile: write("apiclient_key.pem", "PRIVATE KEY", merchant), APIv3KeyFile: apiv3,
		WeChatPayPublicKeyID: testPubKeyID, WeChatPayPublicKeyFile: write("pub_key.pem", "PUBLIC KEY", pub),
		PlatformCertSerialNo: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
		PlatformCertFile:     write("wechatpay_platform.pem", "CERTIFICATE", cert)}
	return m
}

// notification is a paid order's TRANSACTION.SUCCESS, encrypted with the
// APIv3 key and signed by key under the Wechatpay-Serial serial.
func (m *migrating) notification(t *testing.T, key *rsa.PrivateKey, serial string) (http.Header, []byte) {
	t.Helper()
	plain, _ := json.Marshal(map[string]any{"appid": testAppID, "mchid": testMchID, "out_trade_no": "T2026120300000001",
		"transaction_id": "4200002026120300000000000001", "trade_type": "NATIVE", "trade_state": "SUCCESS",
		"trade_state_desc": "支付成功", "success_time": time.Now().Format(time.RFC3339),
		"amount": map[string]any{"total": 6800, "payer_total": 6800, "currency": "CNY", "payer_currency": "CNY"}})
	block, _ := aes.NewCipher([]byte(m.apiv3))
	aead, _ := cipher.NewGCM(block)
	nonce := "0123456789ab"
	body, _ := json.Marshal(map[string]any{"id": "4e4159e2-f6dd-5222-9d1c-3a1e6a0b7c55",
		"create_time": time.Now().Format(time.RFC3339), "resource_type": "encrypt-resource",
		"event_type": EventTransactionSuccess, "summary": "支付成功",
		"resource": map[string]string{"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
			"ciphertext":      base64.StdEncoding.EncodeToString(aead.Seal(nil, []byte(nonce), plain, []byte("transaction"))),
			"associated_data": "transaction", "nonce": nonce}})
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	signNonce := "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"
	h := sha256.Sum256([]byte(ts + "\n" + signNonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{HeaderSerial: {serial}, HeaderSignature: {base64.StdEncoding.EncodeToString(sig)},
		HeaderTimestamp: {ts}, HeaderNonce: {signNonce}, HeaderSigType: {SignatureType}}, body
}

func TestAMigratingMerchantVerifiesNotificationsSignedByEitherKey(t *testing.T) {
	m := newMigrating(t)
	p, err := New(m.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		key     *rsa.PrivateKey
		serial  string
		refused error // nil: verified
	}{
		{"signed with the public key under its id", m.publicKey, testPubKeyID, nil},
		{"signed with the platform certificate under its serial", m.platformKey, m.cfg.PlatformCertSerialNo, nil},
		{"signed with the platform certificate but naming the public key", m.platformKey, testPubKeyID, payment.ErrBadSignature},
		{"signed with the public key but naming the certificate", m.publicKey, m.cfg.PlatformCertSerialNo, payment.ErrBadSignature},
		{"naming an unknown certificate serial", m.platformKey, "7A2C9A3EC2A1BDB25F6D1A7F1F1D5A2B00000001", payment.ErrBadSignature},
		{"naming another public key id", m.publicKey, "PUB_KEY_ID_0116430535512025030300389200009999", payment.ErrBadSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, body := m.notification(t, c.key, c.serial)
			n, err := p.ParseNotification(context.Background(), h, body)
			if c.refused != nil {
				if !errors.Is(err, c.refused) {
					t.Fatalf("ParseNotification = %+v, %v; want %v", n, err, c.refused)
				}
				return
			}
			if err != nil || n.Result.Status != payment.StatusPaid || n.Result.Amount != 6800 {
				t.Fatalf("ParseNotification = %+v, %v; want a verified payment of 6800", n, err)
			}
			if n.EventID != "4e4159e2-f6dd-5222-9d1c-3a1e6a0b7c55" {
				t.Errorf("event id %q, want the notification's id as sent", n.EventID)
			}
		})
	}
}

// Without a platform certificate configured, a message naming one is
// refused, however it is signed: public-key mode trusts one key.
func TestAMerchantWithoutAPlatformCertificateRefusesMessagesNamingOne(t *testing.T) {
	m := newMigrating(t)
	cfg := m.cfg
	cfg.PlatformCertSerialNo, cfg.PlatformCertFile = "", ""
	p, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, body := m.notification(t, m.platformKey, m.cfg.PlatformCertSerialNo)
	if _, err := p.ParseNotification(context.Background(), h, body); !errors.Is(err, payment.ErrBadSignature) {
		t.Fatalf("ParseNotification = %v, want ErrBadSignature", err)
	}
	h, body = m.notification(t, m.publicKey, testPubKeyID)
	if _, err := p.ParseNotification(context.Background(), h, body); err != nil {
		t.Fatalf("a public-key notification: %v", err)
	}
}

func TestAPlatformCertificateIsConfiguredWholeAndMatchingItsSerial(t *testing.T) {
	m := newMigrating(t)
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"a serial without the certificate", func(c *Config) { c.PlatformCertFile = "" }, "go together"},
		{"a certificate without its serial", func(c *Config) { c.PlatformCertSerialNo = "" }, "go together"},
		{"another certificate's serial", func(c *Config) { c.PlatformCertSerialNo = "7A2C9A3EC2A1BDB25F6D1A7F1F1D5A2B00000001" },
			"has serial 5157F09EFDC096DE15EBE81A47057A7232F1B8E1"},
		{"a file that is no certificate", func(c *Config) { c.PlatformCertFile = c.WeChatPayPublicKeyFile }, "platform certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := m.cfg
			c.edit(&cfg)
			if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want an error saying %q", err, c.want)
			}
		})
	}
	// The serial is hex: WeChat writes it upper-case, a copy may not.
	cfg := m.cfg
	cfg.PlatformCertSerialNo = strings.ToLower(cfg.PlatformCertSerialNo)
	p, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, body := m.notification(t, m.platformKey, m.cfg.PlatformCertSerialNo)
	if _, err := p.ParseNotification(context.Background(), h, body); err != nil {
		t.Fatal(fmt.Errorf("a lower-case configured serial: %w", err))
	}
}
