package wechatsandbox

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"im2pay/payment/wechat"
)

// Routes implements sim.Simulator: the APIv3 endpoints the merchant calls
// and the pages the person sees.
func (s *Sandbox) Routes(mux *http.ServeMux) {
	p := "/" + Name
	mux.HandleFunc("POST "+p+"/v3/pay/transactions/native", s.api(s.prepay(tradeNative)))
	mux.HandleFunc("POST "+p+"/v3/pay/transactions/h5", s.api(s.prepay(tradeH5)))
	mux.HandleFunc("GET "+p+"/v3/pay/transactions/out-trade-no/{no}", s.api(s.query))
	mux.HandleFunc("GET "+p+"/v3/pay/transactions/id/{id}", s.api(s.queryByID))
	mux.HandleFunc("POST "+p+"/v3/pay/transactions/out-trade-no/{no}/close", s.api(s.close))
	mux.HandleFunc("POST "+p+"/v3/refund/domestic/refunds", s.api(s.createRefund))
	mux.HandleFunc("GET "+p+"/v3/refund/domestic/refunds/{no}", s.api(s.queryRefund))
	mux.HandleFunc("GET "+p+"/v3/bill/tradebill", s.api(s.tradeBill))
	mux.HandleFunc("GET "+p+"/v3/billdownload/file", s.billDownload)
	s.controls(mux)
	mux.HandleFunc("GET "+p+"/scan", s.scanPage)
	mux.HandleFunc("POST "+p+"/scan", s.scanPay)
	mux.HandleFunc("GET "+p+"/h5/{token}", s.h5Page)
	mux.HandleFunc("POST "+p+"/h5/{token}", s.h5Pay)
}

// apiError is WeChat's error body: {"code":"SIGN_ERROR","message":"…"}.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func fail(status int, code, msg string) *apiError {
	return &apiError{status: status, Code: code, Message: msg}
}

// handler answers one authenticated API call; a nil value means no body.
type handler func(r *http.Request, body []byte) (int, any)

// api authenticates the merchant, runs h and signs the answer.
func (s *Sandbox) api(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			s.reply(w, http.StatusBadRequest, fail(http.StatusBadRequest, "INVALID_REQUEST", "无法读取请求体"))
			return
		}
		if e := s.authenticate(r, body); e != nil {
			s.log.Info("api call refused", "path", r.URL.Path, "code", e.Code, "message", e.Message)
			s.reply(w, e.status, e)
			return
		}
		status, v := h(r, body)
		if _, ok := v.(lostAnswer); ok {
			// The server closes the connection without a response, as a
			// network failure after WeChat acted would look.
			panic(http.ErrAbortHandler)
		}
		if e, ok := v.(*apiError); ok {
			status = e.status
		}
		s.reply(w, status, v)
	}
}

const authScheme = "WECHATPAY2-SHA256-RSA2048 "

// authenticate checks the Authorization header the way WeChat does: the
// merchant exists, serial_no names its certificate, the timestamp is
// fresh, and the signature over "METHOD\nURI\ntimestamp\nnonce\nbody\n"
// verifies with the certificate's key. The URI is the one the merchant
// signed: the request's, less the sandbox's "/wechat" mount prefix.
func (s *Sandbox) authenticate(r *http.Request, body []byte) *apiError {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, authScheme) {
		return fail(http.StatusUnauthorized, "SIGN_ERROR", "Authorization 缺失或认证类型不是 WECHATPAY2-SHA256-RSA2048")
	}
	p := map[string]string{}
	for _, kv := range strings.Split(auth[len(authScheme):], ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		p[k] = strings.Trim(v, `"`)
	}
	if p["mchid"] != s.keys.MchID {
		return fail(http.StatusBadRequest, "MCH_NOT_EXISTS", "商户号不存在")
	}
	if p["serial_no"] != s.keys.serial {
		return fail(http.StatusUnauthorized, "SIGN_ERROR", "商户API证书序列号不正确")
	}
	ts, err := strconv.ParseInt(p["timestamp"], 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > wechat.MaxSkew {
		return fail(http.StatusUnauthorized, "SIGN_ERROR", "签名时间戳缺失或已过期")
	}
	uri := strings.TrimPrefix(r.RequestURI, "/"+Name)
	msg := r.Method + "\n" + uri + "\n" + p["timestamp"] + "\n" + p["nonce_str"] + "\n" + string(body) + "\n"
	sig, err := base64.StdEncoding.DecodeString(p["signature"])
	sum := sha256.Sum256([]byte(msg))
	if err != nil || rsa.VerifyPKCS1v15(s.keys.merchantPub, crypto.SHA256, sum[:], sig) != nil {
		return fail(http.StatusUnauthorized, "SIGN_ERROR", "签名错误，请检查签名串和商户私钥")
	}
	return nil
}

// reply writes v (nil: no body) signed with the WeChat Pay private key, so
// the SDK's response validator accepts it.
func (s *Sandbox) reply(w http.ResponseWriter, status int, v any) {
	var body []byte
	if v != nil {
		body, _ = json.Marshal(v)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.Header().Set("Request-ID", randString(32, hexdigits))
	s.sign(w.Header(), body, time.Now())
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// sign sets the Wechatpay-* headers for body: an RSA-SHA256 signature over
// "timestamp\nnonce\nbody\n", and the public key id as the serial.
func (s *Sandbox) sign(h http.Header, body []byte, at time.Time) {
	ts, nonce := strconv.FormatInt(at.Unix(), 10), randString(32, alnum)
	h.Set(wechat.HeaderTimestamp, ts)
	h.Set(wechat.HeaderNonce, nonce)
	h.Set(wechat.HeaderSerial, s.keys.PublicKeyID)
	h.Set(wechat.HeaderSigType, wechat.SignatureType)
	h.Set(wechat.HeaderSignature, signWith(s.keys.platform, ts+"\n"+nonce+"\n"+string(body)+"\n"))
}

// signWith is SHA256withRSA (PKCS#1 v1.5), base64.
func signWith(key *rsa.PrivateKey, msg string) string {
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(fmt.Sprintf("wechat sandbox: sign: %v", err)) // only fails for keys too small for SHA-256
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// query answers GET /v3/pay/transactions/out-trade-no/{no}?mchid=.
func (s *Sandbox) query(r *http.Request, _ []byte) (int, any) {
	if r.URL.Query().Get("mchid") != s.keys.MchID {
		return 0, fail(http.StatusBadRequest, "PARAM_ERROR", "mchid 与请求签名中的商户号不一致")
	}
	s.tick() // trade_state REFUND once a refund due on the sandbox's clock settled
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[r.PathValue("no")]
	if o == nil {
		return 0, fail(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
	}
	return http.StatusOK, s.transaction(o)
}

// queryByID answers GET /v3/pay/transactions/id/{transaction_id}?mchid=.
func (s *Sandbox) queryByID(r *http.Request, _ []byte) (int, any) {
	if r.URL.Query().Get("mchid") != s.keys.MchID {
		return 0, fail(http.StatusBadRequest, "PARAM_ERROR", "mchid 与请求签名中的商户号不一致")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.orders {
		if o.transactionID != "" && o.transactionID == r.PathValue("id") {
			return http.StatusOK, s.transaction(o)
		}
	}
	return 0, fail(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
}

// close answers POST …/out-trade-no/{no}/close with {"mchid":…}: 204. Like
// the real API it answers 204 for an order it does not know
// (developers.weixin.qq.com/community/pay/doc/000ac25b728328e60221a8d536b000).
// For a paid order APIv3's answer is not published: ORDERPAID is the v2
// XML code (PROVIDERS.md §2.3, table §5 row 15). The sandbox answers the
// least a real close could tell, 204 with the order left paid, so the
// merchant must query after every close, as it must anyway.
func (s *Sandbox) close(r *http.Request, body []byte) (int, any) {
	var req struct {
		MchID string `json:"mchid"`
	}
	if json.Unmarshal(body, &req) != nil || req.MchID != s.keys.MchID {
		return 0, fail(http.StatusBadRequest, "PARAM_ERROR", "mchid 缺失或与请求签名中的商户号不一致")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[r.PathValue("no")]
	if o == nil {
		return http.StatusNoContent, nil
	}
	if s.stateOf(o) == wechat.StateNotPay {
		o.state, o.desc = wechat.StateClosed, "订单已关闭"
	}
	return http.StatusNoContent, nil
}
