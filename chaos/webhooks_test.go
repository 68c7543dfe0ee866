package chaos

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"im2pay/internal/figures"
	"im2pay/webhook"
)

const webhookSecret = "chaos-webhook-secret-0123456789abcdef"

// refusedCopies is how many deliveries the receiver turns away once.
const refusedCopies = 3

// hookReceiver is the IM backend: it verifies each delivery, turns away
// the first copy of a few events (so retries happen: each holds its
// person's later events back for the 30 s retry, so only a few), and keeps
// the first accepted copy of each event in arrival order.
type hookReceiver struct {
	mu       sync.Mutex
	forged   int
	refused  map[string]bool
	copies   int
	arrivals []webhook.Event
	seen     map[string]bool
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if webhook.Verify([]byte(webhookSecret), r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature),
		body, time.Now(), 5*time.Minute) != nil {
		h.forged++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var e webhook.Event
	if json.Unmarshal(body, &e) != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f := fnv.New32a()
	f.Write([]byte(e.ID))
	if f.Sum32()%7 == 0 && len(h.refused) < refusedCopies && !h.refused[e.ID] {
		h.refused[e.ID] = true
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	h.copies++
	if !h.seen[e.ID] {
		h.seen[e.ID] = true
		h.arrivals = append(h.arrivals, e)
	}
	w.WriteHeader(http.StatusNoContent)
}

// F7: every balance change reaches the IM backend while the app is killed
// again and again: each exactly as the ledger has it, each person's in
// order, every delivery signed.
func TestWebhooksSurviveCrashes(t *testing.T) {
	t.Parallel()
	h := &hookReceiver{refused: map[string]bool{}, seen: map[string]bool{}}
	rcv := httptest.NewServer(h)
	defer rcv.Close()
	e := newEnv(t, options{env: []string{"WEBHOOK_URL=" + rcv.URL, "WEBHOOK_SECRET=" + webhookSecret}})
	l := newLoad(e, 4, 0)
	cycles := pick(3, 10)
	l.start(4, true)
	for range cycles {
		time.Sleep(time.Duration(500+rand.IntN(1500)) * time.Millisecond)
		e.killApp()
		e.startApp()
	}
	e.finish(l, cycles)

	// What the ledger holds for each person, entry by entry.
	var want []struct {
		ID   string `db:"id"`
		User string `db:"username"`
	}
	const q = `SELECT 'evt_' || e.id AS id, u.username FROM ledger_entries e
		JOIN accounts a ON a.id = e.account_id JOIN users u ON u.id = a.user_id ORDER BY e.id`
	if err := e.check.Select(&want, q); err != nil {
		t.Fatal(err)
	}
	missing := func() []string {
		h.mu.Lock()
		defer h.mu.Unlock()
		var out []string
		for _, w := range want {
			if !h.seen[w.ID] {
				out = append(out, w.ID)
			}
		}
		return out
	}
	// A refused copy is retried 30 s later; wait for every event to land
	// (giveUpAfter only keeps a lost one from hanging the run).
	deadline := time.Now().Add(giveUpAfter)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if m := missing(); len(m) > 0 {
		sort.Strings(m)
		var outbox []string
		_ = e.check.Select(&outbox, `SELECT format('%s user %s attempts %s leased %s next %s delivered %s err %s', event_id, user_id,
			attempts, leased_until, next_attempt_at, delivered_at, last_error) FROM webhook_events
			WHERE delivered_at IS NULL ORDER BY id LIMIT 10`)
		t.Fatalf("%d of %d balance changes never reached the receiver, e.g. %v\noutbox: %v\n%s", len(m), len(want),
			m[:min(5, len(m))], outbox, e.logTail())
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.forged != 0 {
		t.Fatalf("%d deliveries failed their signature", h.forged)
	}
	// Each person's events, in arrival order, replay their balance.
	balance := map[string]int64{}
	for _, ev := range h.arrivals {
		if balance[ev.User]+ev.AmountFen != ev.BalanceFen {
			t.Fatalf("%s for %s: %d %+d should be %d, event says %d: out of order", ev.ID, ev.User,
				balance[ev.User], ev.AmountFen, balance[ev.User]+ev.AmountFen, ev.BalanceFen)
		}
		balance[ev.User] = ev.BalanceFen
	}
	t.Logf("F7 webhooks: %d balance changes, %d delivered copies, %d first copies refused and retried, %d crash cycles",
		len(want), h.copies, len(h.refused), cycles)
	figures.Line(t, "chaos", t.Name()+" delivered", fmt.Sprintf("changes=%d", len(want)), fmt.Sprintf("copies=%d", h.copies),
		fmt.Sprintf("retried=%d", len(h.refused)), fmt.Sprintf("crashes=%d", cycles))
}
