package chaos

import (
	"math/rand/v2"
	"net/url"
	"strconv"
	"testing"
	"time"

	"im2pay/internal/figures"
	"im2pay/payment/sandbox/sim"
)

// F1: the app is killed with SIGKILL at random points under load and
// started again; clients retry their unknowns with the same keys.
func TestAppKilledUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	l := newLoad(e, 4, 0)
	cycles := pick(5, 30)
	l.start(6, true)
	for range cycles {
		time.Sleep(time.Duration(300+rand.IntN(1500)) * time.Millisecond)
		e.killApp()
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		e.startApp()
	}
	time.Sleep(500 * time.Millisecond)
	e.finish(l, cycles)
}

// F2: the app commits a credit but the provider never hears the
// acknowledgement — first because the answer is lost on the way back, then
// because the app is killed while notifications arrive. The provider
// retries; nothing is credited twice, and every notification is in the end
// acknowledged.
func TestCrashAfterCommitBeforeAck(t *testing.T) {
	t.Parallel()
	var tp *toxi
	e := newEnv(t, options{notifyVia: func(appAddr string) string {
		tp = startToxi(t)
		return "http://" + tp.proxy(t, "notify", appAddr)
	}})
	l := newLoad(e, 4, 0)
	// The request reaches the app, which credits and commits; its answer
	// never leaves the proxy, which drops the connection.
	tp.add(t, "notify", "lost_acks", "timeout", "downstream", 1, map[string]any{"timeout": 100})
	l.start(2, true)
	time.Sleep(pick(4*time.Second, 15*time.Second))
	tp.remove(t, "notify", "lost_acks")
	kills := pick(3, 10)
	for range kills {
		time.Sleep(time.Duration(200+rand.IntN(800)) * time.Millisecond)
		e.killApp()
		e.startApp()
	}
	e.finish(l, kills)

	var notified []string
	for _, tp := range l.log.topups {
		if tp.outcome == sim.Success {
			notified = append(notified, tp.no)
		}
	}
	var eventsBeyondOne int
	must(t, e.check.Get(&eventsBeyondOne, `SELECT count(*) FROM (SELECT out_trade_no FROM payment_events
		WHERE kind = 'notify' AND verified GROUP BY 1 HAVING count(*) > 1) s`))
	if eventsBeyondOne == 0 {
		t.Errorf("no order was notified again after a committed credit: the fault did not happen")
	}
	// The provider must in the end read an acknowledgement for every
	// order, or it would keep retrying for a day.
	deadline := time.Now().Add(time.Minute)
	for e.gw.ackedCount(notified) < len(notified) && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
	}
	acked := e.gw.ackedCount(notified)
	if acked != len(notified) {
		t.Errorf("the provider got its acknowledgement for %d of %d notified orders", acked, len(notified))
	}
	t.Logf("F2: %d notified orders, %d delivered more than once, %d verified more than once by the app, %d acknowledged in the end",
		len(notified), e.gw.redelivered(notified), eventsBeyondOne, acked)
	figures.Line(t, "chaos", t.Name()+" redelivered after a committed credit", strconv.Itoa(eventsBeyondOne),
		"acknowledged", strconv.Itoa(acked), "of", strconv.Itoa(len(notified)))
}

// withHost replaces the host:port of a database URL.
func withHost(raw, host string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Host = host
	return u.String()
}
