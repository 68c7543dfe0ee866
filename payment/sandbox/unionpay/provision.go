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

	"im2pay/payment/sandbox/sandboxmark"
	"im2pay/payment/unionpay"
)

// The key set lives in dir/unionpay/, created whole or not at all. Like
// production it is root → middle → signing certificates (PROVIDERS.md §3.8:
// CFCA CS CA → CFCA OCA1 → UnionPay's and each merchant's certificate).
const (
	keyDirName     = "unionpay"
	rootCertFile   = "sandbox-root-ca.pem" // plays CFCA's root (acp_prod_root.cer)
	rootKeyFile    = "sandbox-root-ca-key.pem"
	middleCertFile = "sandbox-middle-ca.pem" // plays CFCA OCA1 (acp_prod_middle.cer)
	middleKeyFile  = "sandbox-middle-ca-key.pem"
	acpCertFile    = "acp-sign-cert.pem" // UnionPay's signing certificate (signPubKeyCert)
	acpKeyFile     = "acp-sign-key.pem"
	merCertFile    = "merchant-sign-cert.pem" // its serial number is the merchant's certId
	merKeyFile     = "merchant-sign-key.pem"
	merchantFile   = "merchant.json"
)

// SandboxCN is the common name of the sandbox's UnionPay signing
// certificate, shaped like production's: the SDKs read the owner from the
// third @-field, here unionpay.ProductionOwner, which Provision configures.
// What the other fields mean is not documented; these are a real CN's.
const SandboxCN = "041@Z12@" + unionpay.ProductionOwner + "@00000001"

type merchantInfo struct {
	MerID string `json:"mer_id"`
}

// Provision creates, on first call, every key and certificate both sides
// need under dir/unionpay/ (files 0600): a sandbox root and middle CA,
// UnionPay's signing key and certificate, and a merchant key and
// certificate with a fresh 15-digit merId. Later calls reuse them; a set
// made before the middle existed is replaced. It returns the merchant
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
		// The file transfer has a host of its own (PROVIDERS.md §3.5).
		FileTransURL: strings.TrimRight(sandboxBaseURL, "/") + "/" + name + "/filedownload/",
		SignKeyFile:  filepath.Join(kd, merKeyFile),
		SignCertFile: filepath.Join(kd, merCertFile),
		// The root and middle, not the signing certificate: the merchant
		// then checks the chain and the owner, as in production.
		VerifyRootCertFile:   filepath.Join(kd, rootCertFile),
		VerifyMiddleCertFile: filepath.Join(kd, middleCertFile),
		VerifyCertOwner:      unionpay.ProductionOwner,
	}, nil
}

// ensureKeys generates the key set in a temporary directory and renames it
// into place, so that two processes provisioning at once end up sharing
// one complete set.
func ensureKeys(dir string) (string, error) {
	kd := filepath.Join(dir, keyDirName)
	if _, err := os.Stat(kd); err == nil {
		if !preMiddle(kd) {
			return kd, checkComplete(kd)
		}
		if err := retire(dir, kd); err != nil {
			return "", err
		}
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

// preMiddle says whether kd is a whole key set from before the sandbox had a
// middle certificate (the root signed the leaves). The merchant no longer
// accepts such a chain, so it is replaced rather than reported.
func preMiddle(kd string) bool {
	_, errMiddle := os.Stat(filepath.Join(kd, middleCertFile))
	_, errRoot := os.Stat(filepath.Join(kd, rootCertFile))
	return errors.Is(errMiddle, os.ErrNotExist) && errRoot == nil
}

// retire moves an old key set aside and removes it (they are the sandbox's
// own play keys; Provision rewrites the configuration that named them).
// Two processes upgrading at once mostly find the old set already moved and
// race as on a first start; but one that checked before the other finished
// moves the other's new set aside too, and the other's configuration then
// names keys that changed. Only this one-time upgrade opens that window.
func retire(dir, kd string) error {
	old, err := os.MkdirTemp(dir, ".unionpay-pre-middle-*")
	if err != nil {
		return fmt.Errorf("unionpay sandbox: %w", err)
	}
	defer os.RemoveAll(old)
	if err := os.Rename(kd, filepath.Join(old, keyDirName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("unionpay sandbox: retire the key set in %s: %w", kd, err)
	}
	return nil
}

func checkComplete(kd string) error {
	for _, f := range []string{rootCertFile, rootKeyFile, middleCertFile, middleKeyFile, acpCertFile, acpKeyFile, merCertFile, merKeyFile, merchantFile} {
		if _, err := os.Stat(filepath.Join(kd, f)); err != nil {
			return fmt.Errorf("unionpay sandbox: incomplete key set in %s (%s missing): remove the directory to regenerate", kd, f)
		}
	}
	return nil
}

func generate(dir string) error {
	now := time.Now().Add(-time.Hour)
	org := []string{"IM2.0 Pay sandbox"}
	ca := func(cn string, years, pathLen int) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: org},
			NotBefore: now, NotAfter: now.AddDate(years, 0, 0), IsCA: true, BasicConstraintsValid: true,
			MaxPathLen: pathLen, MaxPathLenZero: pathLen == 0, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	}
	// Root and middle are signed with SHA-1 like CFCA's; the signing
	// certificates with SHA-256 (what UnionPay's leaf uses today is not
	// documented), so the merchant meets both algorithms.
	root, rootKey, err := issue(dir, rootCertFile, rootKeyFile, ca("UnionPay Sandbox Root CA 沙箱根证书", 20, -1), nil, nil, true)
	if err != nil {
		return err
	}
	middle, middleKey, err := issue(dir, middleCertFile, middleKeyFile, ca("UnionPay Sandbox OCA1 沙箱中级证书", 15, 0), root, rootKey, true)
	if err != nil {
		return err
	}
	leaf := func(cn string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: org},
			NotBefore: now, NotAfter: now.AddDate(10, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true}
	}
	if _, _, err := issue(dir, acpCertFile, acpKeyFile, leaf(SandboxCN), middle, middleKey, false); err != nil {
		return err
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return err
	}
	// 777290058 is the prefix of UnionPay's public test merchant numbers.
	mer := merchantInfo{MerID: fmt.Sprintf("777290058%06d", n.Int64())}
	if _, _, err := issue(dir, merCertFile, merKeyFile, leaf("商户 "+mer.MerID+" SIGN"), middle, middleKey, false); err != nil {
		return err
	}
	data, _ := json.Marshal(mer)
	return os.WriteFile(filepath.Join(dir, merchantFile), data, 0o600)
}

// issue makes a key and a certificate signed by parent (self-signed when
// parent is nil), with SHA-1 when useSHA1 is set, and writes both as PEM.
func issue(dir, certFile, keyFile string, tmpl, parent *x509.Certificate, parentKey *rsa.PrivateKey, useSHA1 bool) (*x509.Certificate, *rsa.PrivateKey, error) {
	// Marked, so production recognises these keys wherever they are copied.
	key, err := sandboxmark.Key()
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
	if useSHA1 {
		if der, err = resignSHA1(der, parentKey); err != nil {
			return nil, nil, err
		}
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
