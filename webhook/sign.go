// Package webhook tells the IM backend about every change of a wallet's
// balance: it delivers the events the ledger's trigger writes to the
// outbox (db/migrations/0012_webhooks.sql), signed, in order per user, at
// least once, retrying for a day.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Header names of a delivery.
const (
	HeaderID        = "Webhook-Id"        // the event id, for deduplication
	HeaderTimestamp = "Webhook-Timestamp" // Unix seconds when it was signed
	HeaderSignature = "Webhook-Signature" // "v1=" + hex HMAC-SHA256
)

// Sign is the signature of body sent at timestamp: HMAC-SHA256 keyed with
// the secret over the decimal timestamp, a dot, and the body's bytes.
// Covering the timestamp lets a receiver refuse an old delivery replayed.
func Sign(secret []byte, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verification errors.
var (
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrStale        = errors.New("webhook: timestamp outside the tolerance")
)

// Verify checks a delivery as a receiver should: the signature over the
// timestamp and the exact body bytes, compared in constant time, and the
// timestamp within tolerance of now.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := Sign(secret, ts, body)
	// A receiver may get several signatures during a secret rotation.
	for _, got := range strings.Fields(signature) {
		if hmac.Equal([]byte(got), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}
