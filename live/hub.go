// Package live tells a person's open pages that their money moved: one
// PostgreSQL LISTEN connection per process hears every wallet movement,
// gift received and ended session (announced by the triggers of migration
// 0028, whichever process committed them) and fans each out to the
// subscriptions of the one user it names.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"
)

// The channels the triggers notify on.
const (
	chanMoved   = "wallet_moved"
	chanSession = "session_ended"
)

// Kind says what an Event is about.
type Kind int

const (
	// Moved: a transaction touched the user's wallet or gave them a gift.
	Moved Kind = iota + 1
	// SessionEnded: one of the user's sessions ended; each stream checks
	// whether it was its own.
	SessionEnded
	// Resync: notices may have been missed (the listener reconnected, or
	// this subscriber fell behind); read the balance again.
	Resync
)

// Event is one notice for one user. TxnID is set for Moved only.
type Event struct {
	Kind  Kind
	TxnID int64
}

// ErrTooMany refuses a subscription past MaxPerUser: a script opening
// streams in a loop must not hold a connection each for ever.
var ErrTooMany = errors.New("live: too many open streams for this person")

// ErrClosed refuses a subscription once the hub has stopped (the process
// is shutting down).
var ErrClosed = errors.New("live: the hub has stopped")

// Options tune a Hub; zero values take the defaults.
type Options struct {
	MaxPerUser int // open subscriptions per user in this process (default 5)
	Logger     *slog.Logger
}

// DefaultMaxPerUser is enough for a few tabs and devices of one person.
const DefaultMaxPerUser = 5

// subBuffer holds notices a slow reader has not taken yet; past it the
// subscriber is told to resync instead, so the hub never waits on anyone.
const subBuffer = 16

// Hub fans notifications out to subscriptions, per user.
type Hub struct {
	url string
	max int
	log *slog.Logger

	mu     sync.Mutex
	subs   map[int64]map[*Subscription]struct{}
	closed bool
	done   chan struct{}
	ready  chan struct{} // closed once LISTEN is in place
	once   sync.Once
}

// NewHub returns a hub that listens on the database at url once Run starts.
func NewHub(url string, o Options) *Hub {
	if o.MaxPerUser <= 0 {
		o.MaxPerUser = DefaultMaxPerUser
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{url: url, max: o.MaxPerUser, log: o.Logger, subs: map[int64]map[*Subscription]struct{}{},
		done: make(chan struct{}), ready: make(chan struct{})}
}

// Subscription receives one user's events until Close, or until the hub
// stops, which closes C.
type Subscription struct {
	hub    *Hub
	userID int64
	c      chan Event
	once   sync.Once
}

// C delivers the events; it is closed when the hub stops.
func (s *Subscription) C() <-chan Event { return s.c }

// Close ends the subscription; safe to call more than once and after the
// hub stopped.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if set, ok := s.hub.subs[s.userID]; ok {
		if _, mine := set[s]; mine {
			delete(set, s)
			if len(set) == 0 {
				delete(s.hub.subs, s.userID)
			}
		}
	}
}

// Subscribe opens a subscription to userID's events.
func (h *Hub) Subscribe(userID int64) (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	set := h.subs[userID]
	if len(set) >= h.max {
		return nil, ErrTooMany
	}
	if set == nil {
		set = map[*Subscription]struct{}{}
		h.subs[userID] = set
	}
	s := &Subscription{hub: h, userID: userID, c: make(chan Event, subBuffer)}
	set[s] = struct{}{}
	return s, nil
}

// Ready is closed once the hub listens: a notice committed after it is
// delivered. Tests wait on it before moving money.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Done is closed when the hub has stopped and closed every subscription.
func (h *Hub) Done() <-chan struct{} { return h.done }

// Close stops fanning out and closes every subscription's channel, so every
// stream ends (a graceful shutdown waits for them). Run returns soon after.
func (h *Hub) Close() {
	h.once.Do(func() {
		h.mu.Lock()
		h.closed = true
		for _, set := range h.subs {
			for s := range set {
				close(s.c)
			}
		}
		h.subs = map[int64]map[*Subscription]struct{}{}
		h.mu.Unlock()
		close(h.done)
	})
}

// pingEvery checks an idle listening connection, as lib/pq recommends: a
// connection silently dropped by a network device is noticed and replaced.
const pingEvery = 60 * time.Second

// Run listens until ctx ends or Close is called, then closes every
// subscription. The listening connection reconnects by itself; after each
// reconnect every subscriber is told to resync, since notices sent while
// it was away are lost.
func (h *Hub) Run(ctx context.Context) error {
	defer h.Close()
	l := pq.NewListener(h.url, time.Second, 30*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			h.log.Warn("live: listening connection", "event", int(ev), "err", err)
		}
	})
	defer l.Close()
	for _, ch := range []string{chanMoved, chanSession} {
		if err := l.Listen(ch); err != nil {
			return fmt.Errorf("live: listen on %s: %w", ch, err)
		}
	}
	close(h.ready)
	tick := time.NewTicker(pingEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.done:
			return nil
		case n := <-l.Notify:
			h.dispatch(n)
		case <-tick.C:
			if err := l.Ping(); err != nil {
				h.log.Warn("live: ping the listening connection", "err", err)
			}
		}
	}
}

// dispatch hands one notification to its user's subscriptions; nil (the
// connection was re-established) tells everyone to resync.
func (h *Hub) dispatch(n *pq.Notification) {
	if n == nil {
		h.broadcast(Event{Kind: Resync})
		return
	}
	uid, ev, ok := parse(n.Channel, n.Extra)
	if !ok {
		h.log.Warn("live: unreadable notification", "channel", n.Channel)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[uid] {
		s.send(ev)
	}
}

func (h *Hub) broadcast(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.subs {
		for s := range set {
			s.send(ev)
		}
	}
}

// send never blocks (the hub serves everyone from one goroutine): a full
// buffer drops the notice and leaves a Resync in its place, so the reader
// still ends on the right balance. Called with the hub's lock held, which
// also keeps Close from closing c meanwhile.
func (s *Subscription) send(ev Event) {
	select {
	case s.c <- ev:
		return
	default:
	}
	// Make room: drop the oldest notice for a resync.
	select {
	case <-s.c:
	default:
	}
	select {
	case s.c <- Event{Kind: Resync}:
	default:
	}
}

// parse reads "user:transaction" (wallet_moved) or "user" (session_ended).
func parse(channel, payload string) (int64, Event, bool) {
	switch channel {
	case chanMoved:
		u, t, ok := strings.Cut(payload, ":")
		uid, err1 := strconv.ParseInt(u, 10, 64)
		txn, err2 := strconv.ParseInt(t, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return 0, Event{}, false
		}
		return uid, Event{Kind: Moved, TxnID: txn}, true
	case chanSession:
		uid, err := strconv.ParseInt(payload, 10, 64)
		if err != nil {
			return 0, Event{}, false
		}
		return uid, Event{Kind: SessionEnded}, true
	}
	return 0, Event{}, false
}

// Count is the number of open subscriptions of userID (for tests and the
// cap).
func (h *Hub) Count(userID int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[userID])
}
