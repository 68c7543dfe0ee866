// Package cache is the one in-process cache the services use: a bounded
// map for values that cannot change once read (the id of a user's wallet,
// of a system account, a user found by name). Several instances run over
// one database, so nothing that can change belongs here unless the place
// that relies on it checks it again (see the gift catalog).
package cache

import (
	"sync"
	"sync/atomic"
)

// Bounded remembers up to max values; past that it stops remembering and
// every miss reads through, so an attacker who makes us look up many keys
// costs queries, not memory. The zero value is not usable: see New.
type Bounded[K comparable, V any] struct {
	m     sync.Map
	count atomic.Int64
	max   int64
}

// New returns a cache that holds at most max values.
func New[K comparable, V any](max int) *Bounded[K, V] {
	return &Bounded[K, V]{max: int64(max)}
}

// Get returns the value remembered under k.
func (c *Bounded[K, V]) Get(k K) (V, bool) {
	v, ok := c.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

// Put remembers v under k while there is room.
func (c *Bounded[K, V]) Put(k K, v V) {
	if c.count.Load() >= c.max {
		return
	}
	if _, loaded := c.m.LoadOrStore(k, v); !loaded {
		c.count.Add(1)
	}
}

// Forget drops k, for a value found stale where it was used.
func (c *Bounded[K, V]) Forget(k K) {
	if _, loaded := c.m.LoadAndDelete(k); loaded {
		c.count.Add(-1)
	}
}

// Len is how many values are remembered.
func (c *Bounded[K, V]) Len() int { return int(c.count.Load()) }
