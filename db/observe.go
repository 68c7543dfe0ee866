package db

import "time"

// PostingObserver hears of each posting that moved money (not a replayed
// key, not a refusal): its kind, and how long its statement took.
type PostingObserver func(kind TxnKind, took time.Duration)

// ObservePostings sets the observer (metrics); call it before serving.
func (s *Store) ObservePostings(f PostingObserver) { s.observer = f }

// posted tells the observer of a posting that began at start, if it moved
// money.
func (s *Store) posted(kind TxnKind, start time.Time, moved bool) {
	if s.observer != nil && moved {
		s.observer(kind, time.Since(start))
	}
}
