package wallet

import (
	"context"

	"im2pay/db"
)

// Sessions lists where a user is logged in, most recently used first.
func (s *Service) Sessions(ctx context.Context, userID int64) ([]db.SessionRow, error) {
	return s.store.SessionsOf(ctx, userID)
}

// EndSession logs one of the user's own sessions out; another user's
// session, or one already ended, is db.ErrNotFound.
func (s *Service) EndSession(ctx context.Context, userID, publicID int64) error {
	return s.store.EndSessionOf(ctx, userID, publicID)
}

// EndOtherSessions logs the user out everywhere but the session whose token
// hashes to keep, under a new session generation, so a request that
// loaded one of the others before this and saves after it finds it dead.
// It returns the new generation.
func (s *Service) EndOtherSessions(ctx context.Context, userID int64, keep []byte) (int, error) {
	return s.store.EndOtherSessions(ctx, userID, keep)
}
