package unionpaysandbox

import (
	"context"
	"net/http"
	"testing"
)

// FuzzParseNotification: no body may panic the parser, and none verifies,
// since only the sandbox's key (generated for this run) signs. The
// dynamic seeds carry the run's genuine certificate, so the fuzzer reaches
// the signature check itself; their signatures cover another order, far
// more than a few mutated bytes away.
func FuzzParseNotification(f *testing.F) {
	cfg, p, sb := offlinePair(f)
	e := &env{sb: sb}
	signedElsewhere := e.genuine(cfg.MerID, "00")
	forged := e.swap(e.swap(e.swap(signedElsewhere, "orderId", "UPFUZZ0000000000000000099"), "txnAmt", "999999"), "queryId", "1")
	f.Add([]byte(enc(forged)))
	f.Add([]byte(enc(e.swap(forged, "respCode", "64"))))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := p.ParseNotification(context.Background(), http.Header{}, body)
		if err == nil {
			t.Fatalf("a fuzzed body verified: %+v", got)
		}
	})
}
