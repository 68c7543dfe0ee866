package live

import "im2pay/db"

// Service is what the web tier needs for live balances: the reads (always)
// and the hub that streams (nil: no streams, pages show the balance as it
// was when they were drawn).
type Service struct {
	*Reader
	hub *Hub
}

// NewService reads over store and streams through hub (which may be nil).
func NewService(store *db.Store, hub *Hub) *Service {
	return &Service{Reader: NewReader(store), hub: hub}
}

// Hub is the process's hub, or nil when there is none.
func (s *Service) Hub() *Hub { return s.hub }

// Streaming reports whether pages should open a stream: there is a hub
// and it has not stopped (a listener that could not start, a shutdown).
func (s *Service) Streaming() bool {
	if s.hub == nil {
		return false
	}
	select {
	case <-s.hub.Done():
		return false
	default:
		return true
	}
}
