package recharge

import "context"

// Requery is staff's 补单: it asks the provider about order no now and
// credits only what the provider says is paid, through the one crediting
// function (Settle, reached as every notification and 再次查询 reaches
// it), so a second Requery of a paid order moves nothing. Unlike the
// person's 再次查询 it also asks about an order that ended unpaid
// (failed, cancelled, closed) but reached its provider: money the
// provider took after all is credited, as the state machine allows. A
// paid order, or one that never reached its provider, is answered
// without asking. The error is the order's lookup; a provider that cannot
// be asked is Answer.Said "error" with Answer.Err.
func (s *Service) Requery(ctx context.Context, no string) (Order, Answer, error) {
	o, err := s.OrderByNo(ctx, no)
	if err != nil {
		return o, Answer{}, err
	}
	if IsOpen(o.State) || o.State == OrderPaid || !Started(o) {
		after, a := s.Recheck(ctx, o)
		return after, a, nil
	}
	after, a := s.askAnswer(ctx, o, Answer{Method: o.Method, At: s.now()})
	return after, a, nil
}
