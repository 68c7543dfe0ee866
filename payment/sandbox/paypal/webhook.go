package paypalsandbox

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"hash/crc32"
	"net/http"
	"strconv"
	"time"

	"im2pay/payment/sandbox/sim"
)

// authAlgo is PAYPAL-AUTH-ALGO: RSA PKCS#1 v1.5 with SHA-256.
const authAlgo = "SHA256withRSA"

// signedString is what PayPal signs for a webhook delivery:
// transmission_id|transmission_time|webhook_id|crc32, the CRC32 (IEEE) of
// the raw body in decimal.
func signedString(transmissionID, transmissionTime, webhookID string, body []byte) string {
	return transmissionID + "|" + transmissionTime + "|" + webhookID + "|" +
		strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)
}

func (s *Sandbox) certURL() string { return s.apiBase() + "/v1/notifications/certs/" + s.app.CertID }

// transmission signs one delivery of body for webhookID and returns the
// headers PayPal sends with it. Every delivery (and every retry) is a new
// transmission with its own id, time and signature.
func (s *Sandbox) transmission(body []byte, webhookID string) http.Header {
	tid, at := uuid4(), time.Now().UTC().Format(time.RFC3339)
	sum := sha256.Sum256([]byte(signedString(tid, at, webhookID, body)))
	sig, err := rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err) // a loaded 2048-bit key always signs
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "PayPal/AUHD-214.0-im2pay-sandbox")
	h.Set("PAYPAL-TRANSMISSION-ID", tid)
	h.Set("PAYPAL-TRANSMISSION-TIME", at)
	h.Set("PAYPAL-TRANSMISSION-SIG", base64.StdEncoding.EncodeToString(sig))
	h.Set("PAYPAL-CERT-URL", s.certURL())
	h.Set("PAYPAL-AUTH-ALGO", authAlgo)
	return h
}

// event is one webhook event: its id (WH-…) and its body, fixed at
// creation so every delivery and retry carries the same bytes.
type event struct {
	id   string
	body []byte
}

// delivery posts ev to the app's webhook URL until a 2xx answer.
func (s *Sandbox) delivery(ev event, delay time.Duration, schedule []time.Duration) sim.Delivery {
	return sim.Delivery{
		Name:     "paypal webhook " + ev.id,
		Schedule: schedule,
		Delay:    delay,
		Build: func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.app.WebhookURL, bytes.NewReader(ev.body))
			if err != nil {
				return nil, err
			}
			req.Header = s.transmission(ev.body, s.app.WebhookID)
			return req, nil
		},
		Acked: func(status int, _ []byte) bool { return status >= 200 && status < 300 },
	}
}

// notify sends ev as the outcome's plan says.
func (s *Sandbox) notify(ev event, mode sim.NotifyMode) {
	switch mode {
	case sim.NotifyNone:
	case sim.NotifyNow:
		s.n.Deliver(s.delivery(ev, 0, sim.PayPalSchedule))
	case sim.NotifyTwice:
		// The same event twice at the same moment (PayPal does redeliver
		// events it thinks were lost), then the usual retries.
		s.n.After(0, func() { s.n.Attempt(s.delivery(ev, 0, nil)) })
		s.n.Deliver(s.delivery(ev, 0, sim.PayPalSchedule))
	case sim.NotifyAfterBack:
		s.n.Deliver(s.delivery(ev, sim.ReturnDelay, sim.PayPalSchedule))
	case sim.NotifyLate:
		s.n.Deliver(s.delivery(ev, sim.LateDelay, sim.PayPalSchedule))
	}
}

type verifyRequest struct {
	AuthAlgo         string          `json:"auth_algo"`
	CertURL          string          `json:"cert_url"`
	TransmissionID   string          `json:"transmission_id"`
	TransmissionSig  string          `json:"transmission_sig"`
	TransmissionTime string          `json:"transmission_time"`
	WebhookID        string          `json:"webhook_id"`
	WebhookEvent     json.RawMessage `json:"webhook_event"`
}

// verifyWebhook is POST /v1/notifications/verify-webhook-signature. It
// recomputes the signed string over webhook_event exactly as received and
// checks it with the certificate's key. Only the caller's own webhook id
// and PayPal's own certificate can give SUCCESS.
func (s *Sandbox) verifyWebhook(w http.ResponseWriter, r *http.Request) {
	var req verifyRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, detail{Issue: "MALFORMED_REQUEST_JSON", Location: "body",
			Description: "The request JSON is not well formed."})
		return
	}
	for field, v := range map[string]string{"auth_algo": req.AuthAlgo, "cert_url": req.CertURL,
		"transmission_id": req.TransmissionID, "transmission_sig": req.TransmissionSig,
		"transmission_time": req.TransmissionTime, "webhook_id": req.WebhookID} {
		if v == "" {
			apiError(w, http.StatusBadRequest, detail{Field: "/" + field, Location: "body",
				Issue: "MISSING_REQUIRED_PARAMETER", Description: "A required field is missing."})
			return
		}
	}
	if len(req.WebhookEvent) == 0 || req.WebhookEvent[0] != '{' {
		apiError(w, http.StatusBadRequest, detail{Field: "/webhook_event", Location: "body",
			Issue: "INVALID_PARAMETER_SYNTAX", Description: "webhook_event must be an object."})
		return
	}
	status := "FAILURE"
	if s.genuine(&req) {
		status = "SUCCESS"
	}
	writeJSON(w, http.StatusOK, map[string]string{"verification_status": status})
}

func (s *Sandbox) genuine(req *verifyRequest) bool {
	if req.WebhookID != s.app.WebhookID || req.AuthAlgo != authAlgo || req.CertURL != s.certURL() {
		return false
	}
	sig, err := base64.StdEncoding.DecodeString(req.TransmissionSig)
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(signedString(req.TransmissionID, req.TransmissionTime, req.WebhookID, req.WebhookEvent)))
	return rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig) == nil
}

// cert is GET /v1/notifications/certs/{id}: the public certificate a
// merchant may download to check signatures itself.
func (s *Sandbox) cert(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != s.app.CertID {
		apiError(w, http.StatusNotFound, detail{Field: "cert_id", Location: "path", Issue: "INVALID_RESOURCE_ID",
			Description: "Specified resource ID does not exist."})
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(s.certPEM)
}
