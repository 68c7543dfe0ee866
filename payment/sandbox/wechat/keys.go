package wechatsandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"im2pay/payment/sandbox/sandboxmark"
	"im2pay/payment/wechat"
)

// Key files under the provisioning dir. The first four are what a real
// merchant downloads or sets in the merchant platform; the platform key
// and ids.json are the sandbox's side only.
const (
	MerchantKeyFile  = "wechat_apiclient_key.pem"  // merchant API private key (PKCS#8)
	MerchantCertFile = "wechat_apiclient_cert.pem" // merchant API certificate; its serial is serial_no
	PublicKeyFile    = "wechat_pub_key.pem"        // WeChat Pay public key (merchant side)
	APIv3KeyFile     = "wechat_apiv3_key.txt"      // 32-character APIv3 key
	PlatformKeyFile  = "wechat_platform_key.pem"   // WeChat Pay private key (sandbox side)
	IDsFile          = "wechat_ids.json"           // mchid, appid, public key id
)

// ids are the sandbox merchant's identifiers, fixed at provisioning.
type ids struct {
	MchID       string `json:"mch_id"`
	AppID       string `json:"app_id"`
	PublicKeyID string `json:"public_key_id"`
}

// keys is what the sandbox itself needs.
type keys struct {
	ids
	serial      string         // merchant certificate serial, upper-case hex
	merchantPub *rsa.PublicKey // verifies the merchant's Authorization
	platform    *rsa.PrivateKey
	apiv3       []byte
}

// Provision makes (first call) or reuses (later calls) every key both sides
// need under dir, and returns the merchant configuration pointing at
// sandboxBaseURL + "/wechat".
func Provision(dir, sandboxBaseURL string) (wechat.Config, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return wechat.Config{}, fmt.Errorf("wechat sandbox: %w", err)
	}
	if err := provisionFiles(dir); err != nil {
		return wechat.Config{}, fmt.Errorf("wechat sandbox: provision %s: %w", dir, err)
	}
	k, err := loadKeys(dir)
	if err != nil {
		return wechat.Config{}, err
	}
	return wechat.Config{
		MchID: k.MchID, AppID: k.AppID, MerchantCertSerialNo: k.serial,
		MerchantPrivateKeyFile: filepath.Join(dir, MerchantKeyFile),
		APIv3KeyFile:           filepath.Join(dir, APIv3KeyFile),
		WeChatPayPublicKeyID:   k.PublicKeyID,
		WeChatPayPublicKeyFile: filepath.Join(dir, PublicKeyFile),
		BaseURL:                strings.TrimRight(sandboxBaseURL, "/") + "/" + Name,
	}, nil
}

func provisionFiles(dir string) error {
	path := func(n string) string { return filepath.Join(dir, n) }
	merchant, err := ensureKey(path(MerchantKeyFile))
	if err != nil {
		return err
	}
	if !exists(path(MerchantCertFile)) {
		if err := writeCert(path(MerchantCertFile), merchant); err != nil {
			return err
		}
	}
	platform, err := ensureKey(path(PlatformKeyFile))
	if err != nil {
		return err
	}
	if !exists(path(PublicKeyFile)) {
		der, err := x509.MarshalPKIXPublicKey(&platform.PublicKey)
		if err != nil {
			return err
		}
		if err := writePEM(path(PublicKeyFile), "PUBLIC KEY", der); err != nil {
			return err
		}
	}
	if !exists(path(APIv3KeyFile)) {
		apiv3, err := sandboxmark.Secret(alnum, 32) // tagged, so production recognises it
		if err != nil {
			return err
		}
		if err := os.WriteFile(path(APIv3KeyFile), []byte(apiv3+"\n"), 0o600); err != nil {
			return err
		}
	}
	if exists(path(IDsFile)) {
		return nil
	}
	// Real shapes: a 10-digit mchid, "wx" + 16 hex, and a public key id.
	mch := "19" + randString(8, digits)
	b, err := json.MarshalIndent(ids{MchID: mch, AppID: "wx" + randString(16, hexdigits),
		PublicKeyID: publicKeyID(mch, time.Now())}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path(IDsFile), b, 0o600)
}

// ensureKey loads an RSA key, generating it when the file is missing.
func ensureKey(path string) (*rsa.PrivateKey, error) {
	if exists(path) {
		return readKey(path)
	}
	// Marked, so production recognises these keys wherever they are copied.
	k, err := sandboxmark.Key()
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return k, writePEM(path, "PRIVATE KEY", der)
}

// writeCert issues the merchant API certificate. Real ones come from
// WeChat's CA; the sandbox self-signs, since only the serial number and
// the public key inside matter to the protocol.
func writeCert(path string, key *rsa.PrivateKey) error {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      pkix.Name{CommonName: "WeChat Pay sandbox merchant", Organization: []string{"沙箱 SANDBOX"}},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	return writePEM(path, "CERTIFICATE", der)
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func readPEM(path, typ string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != typ {
		return nil, fmt.Errorf("%s: no %s PEM block", path, typ)
	}
	return blk.Bytes, nil
}

func readKey(path string) (*rsa.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA key", path)
	}
	return rk, nil
}

// loadKeys reads what the sandbox needs from a provisioned dir.
func loadKeys(dir string) (keys, error) {
	var k keys
	b, err := os.ReadFile(filepath.Join(dir, IDsFile))
	if err != nil {
		return k, fmt.Errorf("wechat sandbox: not provisioned (run Provision first): %w", err)
	}
	if err := json.Unmarshal(b, &k.ids); err != nil || k.MchID == "" || k.AppID == "" || k.PublicKeyID == "" {
		return k, fmt.Errorf("wechat sandbox: %s is incomplete", IDsFile)
	}
	der, err := readPEM(filepath.Join(dir, MerchantCertFile), "CERTIFICATE")
	if err != nil {
		return k, fmt.Errorf("wechat sandbox: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return k, fmt.Errorf("wechat sandbox: merchant certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return k, errors.New("wechat sandbox: merchant certificate holds no RSA key")
	}
	// WeChat writes certificate serials as upper-case hex.
	k.serial, k.merchantPub = fmt.Sprintf("%X", cert.SerialNumber.Bytes()), pub
	if k.platform, err = readKey(filepath.Join(dir, PlatformKeyFile)); err != nil {
		return k, fmt.Errorf("wechat sandbox: %w", err)
	}
	v3, err := os.ReadFile(filepath.Join(dir, APIv3KeyFile))
	if err != nil {
		return k, fmt.Errorf("wechat sandbox: %w", err)
	}
	if k.apiv3 = []byte(strings.TrimSpace(string(v3))); len(k.apiv3) != 32 {
		return k, fmt.Errorf("wechat sandbox: APIv3 key must be 32 bytes")
	}
	return k, nil
}

const (
	digits    = "0123456789"
	hexdigits = "0123456789abcdef"
	alnum     = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// randString draws n characters from alphabet with crypto/rand.
func randString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = alphabet[j.Int64()]
	}
	return string(b)
}

// publicKeyID is a public-key id shaped like the real ones: "PUB_KEY_ID_"
// and 34 digits. Ids in public merchant configurations read "01", the
// 10-digit mchid, the date the key was issued (yyyyMMdd) and 14 more
// digits, e.g. PUB_KEY_ID_0116430535512025030300389200001906 for mchid
// 1643053551 on 2025-03-03 (PROVIDERS.md §2.8; §5 row 16). WeChat's docs
// say 32 digits and describe no structure, so the merchant side treats
// the id as opaque and compares it whole.
func publicKeyID(mchID string, issued time.Time) string {
	return "PUB_KEY_ID_01" + mchID + issued.In(cst).Format("20060102") + randString(14, digits)
}
