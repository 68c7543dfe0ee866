package alipaysandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"im2pay/payment/alipay"
	"im2pay/payment/sandbox/sandboxmark"
)

// Files under dir/alipay/. The app key pair is the merchant's (应用私钥 /
// 应用公钥: the merchant signs, Alipay verifies); the Alipay key pair is the
// platform's (支付宝私钥 / 支付宝公钥: Alipay signs, the merchant verifies).
const (
	keySubdir       = "alipay"
	appPrivateFile  = "app_private_key.pem"
	appPublicFile   = "app_public_key.pem"
	alipayPrivFile  = "alipay_private_key.pem"
	alipayPubFile   = "alipay_public_key.pem"
	identitiesFile  = "ids.json"
	provisionedMode = 0o600
)

// identities are the ids the sandbox assigns to our merchant, kept beside
// the keys so both sides agree across restarts.
type identities struct {
	AppID    string `json:"app_id"`    // 2021 + 12 digits, like a real APPID
	SellerID string `json:"seller_id"` // 2088 + 12 digits, like a real PID
}

// Provision makes (first call) or reuses (later calls) everything both sides
// need under dir/alipay: two RSA 2048 key pairs as PEM files (0600) and the
// app and seller ids. It returns the merchant Config pointing at this
// sandbox's gateway under sandboxBaseURL.
func Provision(dir, sandboxBaseURL string) (alipay.Config, error) {
	d := filepath.Join(dir, keySubdir)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return alipay.Config{}, fmt.Errorf("alipay sandbox: %w", err)
	}
	for _, pair := range [][2]string{{appPrivateFile, appPublicFile}, {alipayPrivFile, alipayPubFile}} {
		if err := ensureKeyPair(d, pair[0], pair[1]); err != nil {
			return alipay.Config{}, err
		}
	}
	ids, err := ensureIdentities(d)
	if err != nil {
		return alipay.Config{}, err
	}
	return alipay.Config{
		AppID:               ids.AppID,
		SellerID:            ids.SellerID,
		GatewayURL:          strings.TrimRight(sandboxBaseURL, "/") + "/" + name + "/gateway.do",
		AppPrivateKeyFile:   filepath.Join(d, appPrivateFile),
		AlipayPublicKeyFile: filepath.Join(d, alipayPubFile),
	}, nil
}

// ensureKeyPair creates the private key once and (re)derives the public
// key file from it, so the two can never disagree.
func ensureKeyPair(dir, privFile, pubFile string) error {
	privPath := filepath.Join(dir, privFile)
	if _, err := os.Stat(privPath); errors.Is(err, os.ErrNotExist) {
		// Marked, so production recognises these keys wherever they are copied.
		key, err := sandboxmark.Key()
		if err != nil {
			return fmt.Errorf("alipay sandbox: generate %s: %w", privFile, err)
		}
		der := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		if err := createOnce(privPath, der); err != nil {
			return err
		}
	}
	key, err := readPrivateKey(privPath)
	if err != nil {
		return err
	}
	pubPath := filepath.Join(dir, pubFile)
	if _, err := os.Stat(pubPath); err == nil {
		return nil
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("alipay sandbox: %w", err)
	}
	return createOnce(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// createOnce writes a complete file under a temporary name and links it into
// place, so two processes provisioning at once never see half a key and the
// first one wins.
func createOnce(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("alipay sandbox: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err = tmp.Chmod(provisionedMode); err == nil {
		_, err = tmp.Write(data)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("alipay sandbox: write %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("alipay sandbox: %w", err)
	}
	return nil
}

func ensureIdentities(dir string) (identities, error) {
	path := filepath.Join(dir, identitiesFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		ids := identities{AppID: "2021" + digits(12), SellerID: "2088" + digits(12)}
		b, _ := json.Marshal(ids)
		if err := createOnce(path, b); err != nil {
			return identities{}, err
		}
	}
	return readIdentities(dir)
}

func readIdentities(dir string) (identities, error) {
	var ids identities
	b, err := os.ReadFile(filepath.Join(dir, identitiesFile))
	if err == nil {
		err = json.Unmarshal(b, &ids)
	}
	if err == nil && (len(ids.AppID) != 16 || len(ids.SellerID) != 16) {
		err = errors.New("app_id and seller_id must have 16 digits")
	}
	if err != nil {
		return ids, fmt.Errorf("alipay sandbox: ids: %w", err)
	}
	return ids, nil
}

func readPrivateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("alipay sandbox: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("alipay sandbox: %s is not PEM", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if rk, ok := k.(*rsa.PrivateKey); ok && err == nil {
		return rk, nil
	}
	return nil, fmt.Errorf("alipay sandbox: %s is not an RSA private key", path)
}

func readPublicKey(path string) (*rsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("alipay sandbox: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("alipay sandbox: %s is not PEM", path)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if rk, ok := k.(*rsa.PublicKey); ok && err == nil {
		return rk, nil
	}
	return nil, fmt.Errorf("alipay sandbox: %s is not an RSA public key", path)
}

// digits is n random decimal digits.
func digits(n int) string {
	var b strings.Builder
	for range n {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}
