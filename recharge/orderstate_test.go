package recharge

import "testing"

func TestTheOrderStateMachine(t *testing.T) {
	all := []string{OrderAwaiting, OrderProcessing, OrderPaid, OrderFailed, OrderCancelled, OrderClosed}
	for _, from := range all {
		for _, to := range all {
			if from == to {
				continue
			}
			want := IsOpen(from) || to == OrderPaid && from != OrderPaid
			if got := CanMove(from, to); got != want {
				t.Errorf("CanMove(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	if IsOpen(OrderCancelled) || !IsOpen(OrderProcessing) {
		t.Error("open states are awaiting and processing only")
	}
	if got := sourcesOf(OrderCancelled); len(got) != 2 {
		t.Errorf("an order is cancelled from %v, want the two open states", got)
	}
}
