package wechat

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// A merchant that used WeChat Pay's platform certificate (平台证书) and
// switches to the WeChat Pay public key (微信支付公钥) receives messages
// signed by either for a while: WeChat names the key of each signature in
// Wechatpay-Serial (the certificate's serial, or the PUB_KEY_ID_…), and the
// merchant must verify with the key that header names. During the switch
// answers follow the Wechatpay-Serial the merchant's request named, but
// notifications pick a key at random, with the public key's share growing
// daily until it reaches 100% from the seventh day, so both must be
// configured until then.
//
// Sources: "如何从平台证书切换成微信支付公钥",
// pay.weixin.qq.com/doc/v3/merchant/4012154180 (verification in answers
// and in notifications both switch); WeChat Pay's support answer in
// developers.weixin.qq.com/community/develop/doc/0004e8c40b09182972936db6d69400
// ("验签时需要用证书还是公钥，请以微信返回的wechatpay-serial为准", the random
// share of notifications, and "平台证书切换微信支付公钥期间需要同时配置平台证书/
// 微信支付公钥"); pay.weixin.qq.com/wiki/doc/apiv3/open/pay/wechatpay5_0.shtml
// (every answer and notification declares its certificate's serial in
// Wechatpay-Serial). The official Go SDK's combined verifier does exactly
// this: the public key for its id, the certificate map for anything else.

// newVerifier is the public-key verifier, or, with a platform certificate
// configured, the SDK's combined verifier over both. A Wechatpay-Serial
// that names neither finds no key and is refused.
func newVerifier(cfg Config, pub *rsa.PublicKey) (auth.Verifier, error) {
	if cfg.PlatformCertFile == "" && cfg.PlatformCertSerialNo == "" {
		return verifiers.NewSHA256WithRSAPubkeyVerifier(cfg.WeChatPayPublicKeyID, *pub), nil
	}
	if cfg.PlatformCertFile == "" || cfg.PlatformCertSerialNo == "" {
		return nil, fmt.Errorf("wechat: wechatpay_platform_cert_serial_no and wechatpay_platform_cert_file go together")
	}
	cert, err := utils.LoadCertificateWithPath(cfg.PlatformCertFile)
	if err != nil {
		return nil, fmt.Errorf("wechat: platform certificate %s: %w", cfg.PlatformCertFile, err)
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("wechat: platform certificate %s holds no RSA key", cfg.PlatformCertFile)
	}
	// WeChat writes the serial in upper-case hex, as the SDK keys its map.
	if got := utils.GetCertificateSerialNumber(*cert); !strings.EqualFold(got, cfg.PlatformCertSerialNo) {
		return nil, fmt.Errorf("wechat: platform certificate %s has serial %s, not wechatpay_platform_cert_serial_no %s",
			cfg.PlatformCertFile, got, cfg.PlatformCertSerialNo)
	}
	if cfg.PlatformCertSerialNo == cfg.WeChatPayPublicKeyID {
		return nil, fmt.Errorf("wechat: the platform certificate's serial equals the public key id")
	}
	// Platform certificates live five years; an expired one is no longer
	// used to sign, so it can only be a configuration left behind.
	if time.Now().After(cert.NotAfter) {
		return nil, fmt.Errorf("wechat: platform certificate %s expired on %s: remove it from the configuration",
			cfg.PlatformCertFile, cert.NotAfter.Format(time.DateOnly))
	}
	return verifiers.NewSHA256WithRSACombinedVerifier(core.NewCertificateMapWithList([]*x509.Certificate{cert}),
		cfg.WeChatPayPublicKeyID, *pub), nil
}

// serials are the Wechatpay-Serial values cfg can verify.
func serials(cfg Config) []string {
	out := []string{cfg.WeChatPayPublicKeyID}
	if cfg.PlatformCertSerialNo != "" {
		out = append(out, strings.ToUpper(cfg.PlatformCertSerialNo))
	}
	return out
}
