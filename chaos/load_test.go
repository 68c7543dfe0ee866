package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// load is the clients: chargers (the IM backend), people topping up, and
// readers sampling balances. Every write is keyed and logged.
type load struct {
	e       *env
	log     *ledgerLog
	api     *api
	people  []*person
	silence float64
	prefix  string

	stop    chan struct{}
	wg      sync.WaitGroup
	seq     atomic.Int64
	errMu   sync.Mutex
	errs    []error
	running bool
}

// clientDeadline is how long a client waits for any answer, unless the
// test sets its own.
const clientDeadline = 20 * time.Second

func newLoad(e *env, users int, silence float64) *load {
	e.t.Helper()
	deadline := e.opts.clientDeadline
	if deadline == 0 {
		deadline = clientDeadline
	}
	l := &load{e: e, log: &ledgerLog{}, silence: silence, prefix: fmt.Sprintf("%s-%d", e.t.Name(), time.Now().UnixNano())}
	base := "http://" + e.appAddr
	l.api = newAPI(base, deadline, l.log)
	for i := range users {
		p, err := register(base, fmt.Sprintf("chaos_%d", i), deadline)
		if err != nil {
			e.t.Fatal(err)
		}
		l.people = append(l.people, p)
	}
	return l
}

func (l *load) fail(err error) {
	if err == nil {
		return
	}
	l.errMu.Lock()
	defer l.errMu.Unlock()
	if len(l.errs) < 20 {
		l.errs = append(l.errs, err)
	}
}

// start runs chargers charge clients, one top-up client per person when
// topups is set, and a balance reader.
func (l *load) start(chargers int, topups bool) {
	l.stop = make(chan struct{})
	l.running = true
	for i := range chargers {
		l.wg.Add(1)
		go l.charger(uint64(i))
	}
	if topups {
		for i, p := range l.people {
			l.wg.Add(1)
			go l.topupper(uint64(100+i), p)
		}
	}
	l.wg.Add(2)
	go l.reader()
	go l.sampler()
}

// stopAndWait ends the run and waits for every client's last operation.
func (l *load) stopAndWait() {
	if !l.running {
		return
	}
	close(l.stop)
	l.wg.Wait()
	l.running = false
}

func (l *load) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

func (l *load) pause(d time.Duration) {
	select {
	case <-l.stop:
	case <-time.After(d):
	}
}

func (l *load) charger(seed uint64) {
	defer l.wg.Done()
	rng := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
	for !l.stopped() {
		amount := int64(1 + rng.IntN(400))
		if rng.IntN(20) == 0 {
			amount = int64(5000 + rng.IntN(5001)) // often more than is left: a 402
		}
		c := &charge{key: fmt.Sprintf("%s-c%d", l.prefix, l.seq.Add(1)), amount: amount,
			user: l.people[rng.IntN(len(l.people))].name, reason: reasons[rng.IntN(len(reasons))]}
		out, status, err := l.api.charge(c)
		l.fail(err)
		c.first, c.status = out, status
		l.log.addCharge(c)
		if out == unknown {
			l.pause(50 * time.Millisecond)
		}
	}
}

func (l *load) topupper(seed uint64, p *person) {
	defer l.wg.Done()
	rng := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
	for !l.stopped() {
		tp := newTopup(rng, p.name, fmt.Sprintf("%s-t%d", l.prefix, l.seq.Add(1)), l.silence)
		out, err := p.pay(l.e.gw, tp)
		l.fail(err)
		tp.first = out
		l.log.addTopup(tp)
		l.pause(time.Duration(100+rng.IntN(300)) * time.Millisecond)
	}
}

// reader samples balances over the API the whole time.
func (l *load) reader() {
	defer l.wg.Done()
	for i := 0; !l.stopped(); i++ {
		l.api.balance(l.people[i%len(l.people)].name)
		l.pause(50 * time.Millisecond)
	}
}

// sampler reads every wallet directly, as often as the database lets it.
func (l *load) sampler() {
	defer l.wg.Done()
	for !l.stopped() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var bals []int64
		err := l.e.check.SelectContext(ctx, &bals, `SELECT balance FROM accounts WHERE kind = 'wallet'`)
		cancel()
		if err == nil {
			for _, b := range bals {
				l.log.reads.Add(1)
				if b < 0 {
					l.log.negative.Add(1)
				}
			}
		}
		l.pause(200 * time.Millisecond)
	}
}

// person finds a person by name.
func (l *load) person(name string) *person {
	for _, p := range l.people {
		if p.name == name {
			return p
		}
	}
	return nil
}

// resolve is the healing: every unknown is sent again with its original
// key until it gets a deciding answer; every top-up is driven to paid.
// It returns how many unknowns were resolved.
func (l *load) resolve(limit time.Duration) int {
	t := l.e.t
	t.Helper()
	deadline := time.Now().Add(limit)
	resolved := 0
	for _, c := range l.log.charges {
		if c.first != unknown {
			c.final = c.first
			continue
		}
		for c.final == "" {
			out, status, err := l.api.charge(c)
			l.fail(err)
			if out != unknown {
				c.final, c.status = out, status
				resolved++
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("charge %s still unknown after healing", c.key)
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, tp := range l.log.topups {
		if tp.first == ok {
			tp.final = ok
			continue
		}
		p := l.person(tp.user)
		for tp.final == "" {
			out, err := p.pay(l.e.gw, tp)
			if out == ok {
				tp.final = ok
				resolved++
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("top-up %s (order %q) still unresolved after healing: %s %v", tp.key, tp.no, out, err)
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, err := range l.errs {
		t.Errorf("client: %v", err)
	}
	return resolved
}
