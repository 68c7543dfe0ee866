package unionpaysandbox

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

	"im2pay/payment/unionpay"
)

// The key set lives in dir/unionpay/, created whole or not at all.
const (
	keyDirName   = "unionpay"
	rootCertFile = "sandbox-root-ca.pem" // plays CFCA's root: issues both signing certificates
	rootKeyFile  = "sandbox-root-ca-key.pem"
	acpCertFile  = "acp-sign-cert.pem" // UnionPay's signing certificate (signPubKeyCert)
	acpKeyFile   = "acp-sign-key.pem"
	merCertFile  = "merchant-sign-cert.pem" // its serial number is the merchant's certId
	merKeyFile   = "merchant-sign-key.pem"
	merchantFile = "merchant.json"
)

// SandboxCN is the common name of the sandbox's UnionPay signing
// certificate; Provision puts it in Config.VerifyCertCN.
const SandboxCN = "中国银联股份有限公司 沙箱 SANDBOX"

type merchantInfo struct {
	MerID string `json:"mer_id"`
}

// Provision creates, on first call, every key and certificate both sides
// need under dir/unionpay/ (files 0600): a sandbox root CA, UnionPay's
// signing key and certificate, and a merchant key and certificate with a
// fresh 15-digit merId. Later calls reuse them. It returns the merchant
// Config pointing at sandboxBaseURL + "/unionpay".
func Provision(dir, sandboxBaseURL string) (unionpay.Config, error) {
	kd, err := ensureKeys(dir)
	if err != nil {
		return unionpay.Config{}, err
	}
	mer, err := readMerchant(kd)
	if err != nil {
		return unionpay.Config{}, err
	}
	base := strings.TrimRight(sandboxBaseURL, "/") + "/" + name + "/gateway/api/"
	return unionpay.Config{
		MerID:         mer.MerID,
		FrontTransURL: base + "frontTransReq.do",
		BackTransURL:  base + "backTransReq.do",
		QueryURL:      base + "queryTrans.do",
		SignKeyFile:   filepath.Join(kd, merKeyFile),
		SignCertFile:  filepath.Join(kd, merCertFile),
		// The root, not the signing certificate: the merchant then checks
		// the chain and the common name, as in production.
		VerifyCertFile: filepath.Join(kd, rootCertFile),
		VerifyCertCN:   SandboxCN,
	}, nil
}

// ensureKeys generates the key set in a temporary directory and renames it
// into place, so that two processes provisioning at once end up sharing
// one complete set.
func ensureKeys(dir string) (string, error) {
	kd := filepath.Join(dir, keyDirName)
	if _, err := os.Stat(kd); err == nil {
		return kd, checkComplete(kd)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("unionpay sandbox: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".unionpay-keys-*")
	if err != nil {
		return "", fmt.Errorf("unionpay sandbox: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := generate(tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, kd); err != nil {
		if _, statErr := os.Stat(kd); statErr == nil {
			return kd, checkComplete(kd) // another process won the race
		}
		return "", fmt.Errorf("unionpay sandbox: %w", err)
	}
	return kd, nil
}

func checkComplete(kd string) error {
	for _, f := range []string{rootCertFile, rootKeyFile, acpCertFile, acpKeyFile, merCertFile, merKeyFile, merchantFile} {
		if _, err := os.Stat(filepath.Join(kd, f)); err != nil {
			return fmt.Errorf("unionpay sandbox: incomplete key set in %s (%s missing): remove the directory to regenerate", kd, f)
		}
	}
	return nil
}

func generate(dir string) error {
	now := time.Now().Add(-time.Hour)
	root, rootKey, err := issue(dir, rootCertFile, rootKeyFile, &x509.Certificate{
		Subject:   pkix.Name{CommonName: "UnionPay Sandbox Root CA 沙箱根证书", Organization: []string{"IM2.0 Pay sandbox"}},
		NotBefore: now, NotAfter: now.AddDate(20, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, nil)
	if err != nil {
		return err
	}
	leaf := func(cn string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: []string{"IM2.0 Pay sandbox"}},
			NotBefore: now, NotAfter: now.AddDate(10, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true}
	}
	if _, _, err := issue(dir, acpCertFile, acpKeyFile, leaf(SandboxCN), root, rootKey); err != nil {
		return err
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return err
	}
	// 777290058 is the prefix of UnionPay's public test merchant numbers.
	mer := merchantInfo{MerID: fmt.Sprintf("777290058%06d", n.Int64())}
	if _, _, err := issue(dir, merCertFile, merKeyFile, leaf("商户 "+mer.MerID+" SIGN"), root, rootKey); err != nil {
		return err
	}
	data, _ := json.Marshal(mer)
	return os.WriteFile(filepath.Join(dir, merchantFile), data, 0o600)
}

// issue makes a key and a certificate signed by parent (self-signed when
// parent is nil) and writes both as PEM.
func issue(dir, certFile, keyFile string, tmpl, parent *x509.Certificate, parentKey *rsa.PrivateKey) (*x509.Certificate, *rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("unionpay sandbox: key: %w", err)
	}
	// A random positive serial: the merchant's becomes its certId, which
	// UnionPay prints in decimal.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1))
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("unionpay sandbox: certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	err = errors.Join(
		os.WriteFile(filepath.Join(dir, keyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600),
		os.WriteFile(filepath.Join(dir, certFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return cert, key, err
}

func readMerchant(kd string) (merchantInfo, error) {
	var m merchantInfo
	data, err := os.ReadFile(filepath.Join(kd, merchantFile))
	if err == nil {
		err = json.Unmarshal(data, &m)
	}
	if err != nil || m.MerID == "" {
		return m, fmt.Errorf("unionpay sandbox: %s: unreadable merchant file (%v)", filepath.Join(kd, merchantFile), err)
	}
	return m, nil
}
