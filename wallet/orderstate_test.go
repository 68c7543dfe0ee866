package wallet

import (
	"testing"

	"im2pay/db"
)

func TestTheOrderStateMachine(t *testing.T) {
	all := []string{db.OrderAwaiting, db.OrderProcessing, db.OrderPaid, db.OrderFailed, db.OrderCancelled, db.OrderClosed}
	for _, from := range all {
		for _, to := range all {
			if from == to {
				continue
			}
			want := IsOpen(from) || to == db.OrderPaid && from != db.OrderPaid
			if got := CanMove(from, to); got != want {
				t.Errorf("CanMove(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	if IsOpen(db.OrderCancelled) || !IsOpen(db.OrderProcessing) {
		t.Error("open states are awaiting and processing only")
	}
	if got := sourcesOf(db.OrderCancelled); len(got) != 2 {
		t.Errorf("an order is cancelled from %v, want the two open states", got)
	}
}
