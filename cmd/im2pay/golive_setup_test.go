package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// liveKeys are freshly generated keys, made once per test binary: real
// providers' keys cannot be in a repository, and these are shaped exactly
// like them (RSA 2048) without being the sandbox's.
var liveKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 7)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

// liveSetup writes a configuration a real go-live would accept into a
// fresh directory, and returns the environment pointing at it.
func liveSetup(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	k := liveKeys()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pkcs8 := func(key *rsa.PrivateKey) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	now := time.Now()
	// UnionPay's production chain as shipped: root CFCA CS CA → middle CFCA OCA1.
	root := issueCert(t, &x509.Certificate{Subject: pkix.Name{Organization: []string{"CFCA CS CA"}, CommonName: "CFCA CS CA"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(20, 0, 0)}, nil, k[4], k[4])
	middle := issueCert(t, &x509.Certificate{Subject: pkix.Name{Organization: []string{"CFCA OCA1"}, CommonName: "CFCA OCA1"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(10, 0, 0)}, root, k[5], k[4])
	merchant := issueCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "041@Z12@898310148160568@00000001"},
		KeyUsage: x509.KeyUsageDigitalSignature, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(2, 0, 0)}, middle, k[6], k[5])
	certPEM := func(cs ...*x509.Certificate) []byte {
		var out []byte
		for _, c := range cs {
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		return out
	}
	pubPEM := func(key *rsa.PrivateKey) []byte {
		der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	pc := map[string]map[string]any{
		"alipay": {"app_id": "2021004123456789", "seller_id": "2088123456789012",
			"gateway_url":          "https://openapi.alipay.com/gateway.do",
			"app_private_key_file": file("alipay_app.pem", pkcs8(k[0])), "alipay_public_key_file": file("alipay_pub.pem", pubPEM(k[1]))},
		"wechat": {"mch_id": "1900000109", "app_id": "wx8888888888888888",
			"merchant_cert_serial_no":   "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
			"merchant_private_key_file": file("apiclient_key.pem", pkcs8(k[2])),
			"apiv3_key_file":            file("apiv3.txt", []byte("Kq3v9ZrT2mW8xL5nB7cD1fG4hJ6pQ0sY\n")),
			"wechatpay_public_key_id":   "PUB_KEY_ID_0116430535512025030300389200001906",
			"wechatpay_public_key_file": file("pub_key.pem", pubPEM(k[3]))},
		"card": {"mer_id": "898310148160568", "front_trans_url": "https://gateway.95516.com/gateway/api/frontTransReq.do",
			"query_url":     "https://gateway.95516.com/gateway/api/queryTrans.do",
			"sign_key_file": file("acp_key.pem", pkcs8(k[6])), "sign_cert_file": file("acp_cert.pem", certPEM(merchant)),
			"verify_root_cert_file":   file("acp_prod_root.pem", certPEM(root)),
			"verify_middle_cert_file": file("acp_prod_middle.pem", certPEM(middle))},
		"paypal": {"client_id": "AYSq3RDGsmBLJE-otTkBtM-jBRd1TCQwFf9RGfwddNXWz0uFU9ztymylOhRSHFHNVHyfDeFA8mR1Nswk",
			"secret_file": file("paypal_secret", []byte("EGnHDxD_qRPdaLdZz8iCr8N7_MzF-YHPTkjs6NKYQvQSBngp4PTTVWkPZRbL\n")),
			"api_base":    "https://api-m.paypal.com", "webhook_id": "1JE4291016473214C", "brand_name": "IM2.0 Pay",
			"currency": "USD", "rate": "7.2000"},
	}
	raw, err := json.MarshalIndent(pc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"APP_ENV": "production", "BASE_URL": "https://pay.example.com",
		"DATABASE_URL": "postgres://im2pay@db.example.com/im2pay", "DATA_DIR": filepath.Join(dir, "data"),
		"PAYMENT_CONFIG": file("payment.json", raw),
		"FORM_ACTION_ORIGINS": strings.Join([]string{"https://unitradeprod.alipay.com", "https://excashier.alipay.com",
			"https://mclient.alipay.com", "https://wx.tenpay.com", "https://www.paypal.com"}, ","),
	}
}

func issueCert(t *testing.T, tmpl, parent *x509.Certificate, key, parentKey *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// editPayment changes one field of the payment configuration in env.
func editPayment(t *testing.T, env map[string]string, section, field string, value any) {
	t.Helper()
	raw, err := os.ReadFile(env["PAYMENT_CONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	var pc map[string]map[string]any
	if err := json.Unmarshal(raw, &pc); err != nil {
		t.Fatal(err)
	}
	if value == nil {
		delete(pc[section], field)
	} else {
		pc[section][field] = value
	}
	raw, _ = json.Marshal(pc)
	if err := os.WriteFile(env["PAYMENT_CONFIG"], raw, 0o600); err != nil {
		t.Fatal(err)
	}
}
