// Package live tells a person's open pages that their money moved. One
// hub per process looks twice a second for new ledger entries of the
// wallets and new gifts of the people it has subscribers for, whichever
// process committed them, and fans each out to that one person's
// subscriptions. Ended sessions come by PostgreSQL LISTEN, from the
// triggers of migration 0028.
//
// Why movements are read rather than announced: a NOTIFY in the posting's
// transaction takes a database-wide lock from its commit until the commit
// is flushed, so every posting's commit would wait for the one before it.
// Measured with figure 1's load (8 workers, fsync on), postings ran at
// 512-1,205 tps with a NOTIFY trigger on ledger_entries against
// 1,740-2,539 tps without, round by round. The read costs an index probe
// per subscribed person every half second, and nothing when nobody looks.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The channel the session triggers notify on.
const chanSession = "session_ended"

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
	MaxPerUser int           // open subscriptions per user in this process (default 5)
	PollEvery  time.Duration // how often movements are read (default DefaultPollEvery)
	Lookback   time.Duration // how far behind the newest ids a read starts (default DefaultLookback)
	Logger     *slog.Logger
}

// DefaultPollEvery: a toast half a second after the money moved reads as
// immediate, and two light reads a second cost the database nothing it
// would notice.
const DefaultPollEvery = 500 * time.Millisecond

// DefaultMaxPerUser is enough for a few tabs and devices of one person.
const DefaultMaxPerUser = 5

// subBuffer holds notices a slow reader has not taken yet; past it the
// subscriber is told to resync instead, so the hub never waits on anyone.
const subBuffer = 16

// Hub fans notifications out to subscriptions, per user.
type Hub struct {
	url   string   // for the LISTEN connection (ended sessions)
	conn  *sqlx.DB // for reading movements: the primary, which has them first
	every time.Duration
	max   int
	log   *slog.Logger
	look  looking // the movements reader's place; only Run's goroutine uses it

	mu     sync.Mutex
	subs   map[int64]map[*Subscription]struct{}
	closed bool
	done   chan struct{}
	ready  chan struct{} // closed once LISTEN is in place
	once   sync.Once
}

// NewHub returns a hub that, once Run starts, reads movements through conn
// and listens for ended sessions on the database at url (the same one).
func NewHub(url string, conn *sqlx.DB, o Options) *Hub {
	if o.MaxPerUser <= 0 {
		o.MaxPerUser = DefaultMaxPerUser
	}
	if o.PollEvery <= 0 {
		o.PollEvery = DefaultPollEvery
	}
	if o.Lookback <= 0 {
		o.Lookback = DefaultLookback
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{url: url, conn: conn, every: o.PollEvery, max: o.MaxPerUser, log: o.Logger, look: looking{lookback: o.Lookback},
		subs: map[int64]map[*Subscription]struct{}{}, done: make(chan struct{}), ready: make(chan struct{})}
}

// Subscription receives one user's events until Close, or until the hub
// stops, which closes C.
type Subscription struct {
	hub    *Hub
	userID int64
	c      chan Event
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

// Ready is closed once the hub listens and has its place in the ledger: a
// movement committed after it is delivered. Tests wait on it before moving
// money.
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

// Run reads movements and listens until ctx ends or Close is called, then
// closes every subscription. The listening connection reconnects by
// itself; after each reconnect every subscriber is told to resync, since
// notices sent while it was away are lost. A failed read of movements is
// retried from the same place at the next tick: nothing is skipped.
func (h *Hub) Run(ctx context.Context) error {
	defer h.Close()
	l := pq.NewListener(named(h.url), time.Second, 30*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			h.log.Warn("live: listening connection", "event", int(ev), "err", err)
		}
	})
	defer l.Close()
	if err := l.Listen(chanSession); err != nil {
		return fmt.Errorf("live: listen on %s: %w", chanSession, err)
	}
	if err := h.look.start(ctx, h.conn); err != nil {
		return err
	}
	close(h.ready)
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	poll := time.NewTicker(h.every)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.done:
			return nil
		case n := <-l.Notify:
			h.dispatch(n)
		case <-poll.C:
			moved, err := h.look.next(ctx, h.conn, h.watched())
			if err != nil {
				if ctx.Err() == nil {
					h.log.Warn("live: read movements", "err", err)
				}
				continue
			}
			for _, m := range moved {
				h.deliver(m.userID, Event{Kind: Moved, TxnID: m.txnID})
			}
		case <-ping.C:
			if err := l.Ping(); err != nil {
				h.log.Warn("live: ping the listening connection", "err", err)
			}
		}
	}
}

// ListenerName is the application_name of the hub's one listening
// connection, the one connection a process holds outside its pool: an
// operator (or a test counting the pool) can tell it apart.
const ListenerName = "im2pay-live"

// named sets ListenerName on a connection string, URL or key=value form.
func named(conn string) string {
	if u, err := url.Parse(conn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("application_name", ListenerName)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return conn + " application_name=" + ListenerName
}

// watched is the users with a subscription here now.
func (h *Hub) watched() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]int64, 0, len(h.subs))
	for uid := range h.subs {
		ids = append(ids, uid)
	}
	return ids
}

// deliver hands ev to userID's subscriptions.
func (h *Hub) deliver(userID int64, ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[userID] {
		s.send(ev)
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
	h.deliver(uid, ev)
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

// parse reads a session_ended notice's payload, the user's id.
func parse(channel, payload string) (int64, Event, bool) {
	if channel != chanSession {
		return 0, Event{}, false
	}
	uid, err := strconv.ParseInt(payload, 10, 64)
	if err != nil {
		return 0, Event{}, false
	}
	return uid, Event{Kind: SessionEnded}, true
}

// Count is the number of open subscriptions of userID (for tests and the
// cap).
func (h *Hub) Count(userID int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[userID])
}
