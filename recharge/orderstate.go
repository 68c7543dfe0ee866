package recharge

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The order state machine. An order is created 待支付 (awaiting). While it
// is open (awaiting or processing) it can become anything; the person
// saying they paid, or a provider reporting a payment we have not credited
// yet, makes it 处理中 (processing). Failed, cancelled and closed are final
// for the person, but money a provider really took is always credited, so
// each may still become paid. A paid order never moves. The database
// refuses every other move (migration 0011); each move is one conditional
// update, so two racing moves cannot both apply.
var transitions = map[string][]string{
	OrderAwaiting:   {OrderProcessing, OrderPaid, OrderFailed, OrderCancelled, OrderClosed},
	OrderProcessing: {OrderAwaiting, OrderPaid, OrderFailed, OrderCancelled, OrderClosed},
	OrderFailed:     {OrderPaid},
	OrderCancelled:  {OrderPaid},
	OrderClosed:     {OrderPaid},
	OrderPaid:       nil,
}

// CanMove reports whether an order may go from one state to another.
func CanMove(from, to string) bool { return slices.Contains(transitions[from], to) }

// IsOpen reports whether an order in state can still be paid, cancelled or
// checked with its provider.
func IsOpen(state string) bool { return slices.Contains(OpenStates, state) }

// sourcesOf lists the states that may move to to.
func sourcesOf(to string) []string {
	var from []string
	for f, tos := range transitions {
		if slices.Contains(tos, to) {
			from = append(from, f)
		}
	}
	slices.Sort(from)
	return from
}

// move moves an order to state to (reason for failed) if the state machine
// allows it from where the order is now, and reports whether it moved. To
// paid an order moves only through Settle, with its credit.
func (s *Service) move(ctx context.Context, o Order, to, reason string) (bool, error) {
	if to == OrderPaid {
		return false, fmt.Errorf("order %s: only Settle marks an order paid", o.OutTradeNo)
	}
	if to != OrderFailed {
		reason = ""
	}
	moved, err := s.moveOrder(ctx, o.ID, sourcesOf(to), to, reason)
	if moved && to != OrderAwaiting && to != OrderProcessing {
		s.metrics.TopUp(o.Method, to) // failed, cancelled or closed
	}
	return moved, err
}

// Now is the app's clock, the one order expiries are written with.
func (s *Service) Now() time.Time { return s.now() }
