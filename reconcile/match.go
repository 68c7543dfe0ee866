package reconcile

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"time"

	"github.com/lib/pq"

	"im2pay/ledger"
	"im2pay/payment"
	"im2pay/recharge"
)

// ourOrder is what matching needs of an order.
type ourOrder struct {
	No          string       `db:"out_trade_no"`
	State       string       `db:"state"`
	TradeNo     string       `db:"trade_no"`
	PayAmount   int64        `db:"pay_amount"`
	PayCurrency string       `db:"pay_currency"`
	PaidAt      sql.NullTime `db:"paid_at"`
}

// ourRefund is what matching needs of a refund: its amount in CNY, and
// what is needed to state it in the currency the order was paid in (the
// bill's: PayPal's USD).
type ourRefund struct {
	RequestNo   string `db:"request_no"`
	RefundID    string `db:"refund_id"`
	ExternalNo  string `db:"external_no"`
	External    bool   `db:"external"`
	Amount      int64  `db:"amount"`
	State       string `db:"state"`
	OrderAmount int64  `db:"order_amount"`
	PayAmount   int64  `db:"pay_amount"`
	PayCurrency string `db:"pay_currency"`
	Before      int64  `db:"before"` // the order's refunds before this one (refund.payAmount's)
}

// paid is the refund in the order's pay currency as we sent it: the same
// for CNY; else, as package refund computes what it asks the provider
// for, the share of the price of everything refunded after it, rounded
// down, less the same share before it.
func (f *ourRefund) paid() int64 {
	if f.PayCurrency == "CNY" || f.PayAmount == f.OrderAmount || f.OrderAmount <= 0 {
		return f.Amount
	}
	share := func(fen int64) int64 {
		n := new(big.Int).Mul(big.NewInt(f.PayAmount), big.NewInt(min(fen, f.OrderAmount)))
		return n.Quo(n, big.NewInt(f.OrderAmount)).Int64()
	}
	return share(f.Before+f.Amount) - share(f.Before)
}

// agrees says whether a bill's refund line states f's amount. A refund we
// sent is compared in the pay currency (what we asked for); one made
// outside the app was booked from the provider's figure, converted to CNY
// rounded half up (refund's externalAmount), and is compared the same way.
// Comparing our CNY with a bill in USD reported every PayPal refund as a
// difference: bug found by TestAPayPalDayThroughTransactionSearch….
func (f *ourRefund) agrees(l payment.BillLine) bool {
	if !f.External || f.PayCurrency == "CNY" || f.PayAmount == f.OrderAmount || f.PayAmount <= 0 {
		return f.paid() == l.Amount
	}
	n := new(big.Int).Mul(big.NewInt(f.OrderAmount), big.NewInt(2*l.Amount))
	n.Add(n, big.NewInt(f.PayAmount)).Quo(n, big.NewInt(2*f.PayAmount))
	return n.Int64() == f.Amount
}

// The orders a bill names, and every order of the method credited within
// the day's window. The amount checked is the one the person paid the
// provider (pay_amount in pay_currency: PayPal's USD, else the yuan).
const ordersSQL = `
	SELECT out_trade_no, state, coalesce(provider_trade_no, '') AS trade_no,
	       coalesce(pay_amount, amount) AS pay_amount, coalesce(pay_currency, currency) AS pay_currency, paid_at
	  FROM recharge_orders
	 WHERE method = $1
	   AND (out_trade_no = ANY($2) OR provider_trade_no = ANY($3)
	        OR (state = 'paid' AND paid_at >= $4 AND paid_at < $5))`

// The refunds a bill names, and every refund of the method the provider
// confirmed within the day's window.
const refundsSQL = `
	SELECT r.request_no, r.provider_refund_id AS refund_id, coalesce(r.external_no, '') AS external_no, r.external,
	       r.amount, r.state, o.amount AS order_amount, coalesce(o.pay_amount, o.amount) AS pay_amount,
	       coalesce(o.pay_currency, o.currency) AS pay_currency,
	       coalesce((SELECT sum(b.amount) FROM refunds b WHERE b.order_id = r.order_id AND b.id < r.id
	                   AND b.state IN ('in_flight', 'succeeded')), 0) AS before
	  FROM refunds r JOIN recharge_orders o ON o.id = r.order_id
	 WHERE r.method = $1
	   AND (r.request_no = ANY($2) OR r.provider_refund_id = ANY($3) OR r.external_no = ANY($3)
	        OR (r.state = 'succeeded' AND r.finished_at >= $4 AND r.finished_at < $5))`

// found is one classified item of a run.
type found struct {
	class  string
	amount int64
	diff   *Difference // nil when matched
}

// run is one reconciliation in progress.
type run struct {
	s        *Service
	method   payment.Method
	day, end time.Time
	report   int64
	known    map[string]Difference // this report's stored differences, by key
	items    []found
	fees     int64
}

func (s *Service) match(ctx context.Context, method payment.Method, day time.Time, bill payment.Bill) (Report, error) {
	end := day.AddDate(0, 0, 1)
	if !bill.Day.IsZero() && method == payment.PayPal {
		day, end = bill.Day, bill.Day.AddDate(0, 0, 1) // the window PayPal was asked for
	}
	var nos, trades, reqs, refIDs []string
	for _, l := range bill.Lines {
		if l.Kind == payment.BillPayment {
			nos, trades = append(nos, l.OutTradeNo), append(trades, l.TradeNo)
		} else {
			reqs, refIDs = append(reqs, l.RequestNo), append(refIDs, l.RefundID)
		}
	}
	q := s.store.DB()
	var orders []ourOrder
	if err := q.SelectContext(ctx, &orders, ordersSQL, method, pq.Array(nos), pq.Array(trades), day, end); err != nil {
		return Report{}, fmt.Errorf("orders: %w", err)
	}
	var refunds []ourRefund
	if err := q.SelectContext(ctx, &refunds, refundsSQL, method, pq.Array(reqs), pq.Array(refIDs), day, end); err != nil {
		return Report{}, fmt.Errorf("refunds: %w", err)
	}
	r := &run{s: s, method: method, day: day, end: end}
	var err error
	if r.report, err = s.openReport(ctx, method, day, bill); err != nil {
		return Report{}, err
	}
	if r.known, err = s.differences(ctx, r.report); err != nil {
		return Report{}, err
	}
	byNo, byTrade := map[string]*ourOrder{}, map[string]*ourOrder{}
	for i := range orders {
		byNo[orders[i].No] = &orders[i]
		if orders[i].TradeNo != "" {
			byTrade[orders[i].TradeNo] = &orders[i]
		}
	}
	byReq, byRefID := map[string]*ourRefund{}, map[string]*ourRefund{}
	for i := range refunds {
		byReq[refunds[i].RequestNo] = &refunds[i]
		for _, id := range []string{refunds[i].RefundID, refunds[i].ExternalNo} {
			if id != "" {
				byRefID[id] = &refunds[i]
			}
		}
	}
	seenOrders, seenRefunds := map[string]bool{}, map[string]bool{}
	for _, l := range bill.Lines {
		if err := r.fee(ctx, l); err != nil {
			return Report{}, err
		}
		if l.Kind == payment.BillPayment {
			o := byNo[l.OutTradeNo]
			if o == nil {
				o = byTrade[l.TradeNo]
			}
			if o != nil {
				seenOrders[o.No] = true
			}
			if err := r.payment(ctx, l, o); err != nil {
				return Report{}, err
			}
			continue
		}
		f := byReq[l.RequestNo]
		if f == nil && l.RefundID != "" {
			f = byRefID[l.RefundID]
		}
		if f != nil {
			seenRefunds[f.RequestNo] = true
		}
		r.refund(l, f)
	}
	for _, o := range orders {
		if !seenOrders[o.No] && o.State == recharge.OrderPaid && o.PaidAt.Valid &&
			!o.PaidAt.Time.Before(day) && o.PaidAt.Time.Before(end) {
			r.add("payment:"+o.No, Absent, o.PayAmount, Difference{OutTradeNo: o.No, TradeNo: o.TradeNo,
				Ours: sql.NullInt64{Int64: o.PayAmount, Valid: true}, OursCurrency: o.PayCurrency, Detail: "absent_at_provider"})
		}
	}
	for _, f := range refunds {
		if !seenRefunds[f.RequestNo] && f.State == "succeeded" {
			r.add("refund:"+f.RequestNo, Refund, f.paid(), Difference{RequestNo: f.RequestNo, RefundID: f.RefundID,
				Ours: sql.NullInt64{Int64: f.paid(), Valid: true}, OursCurrency: f.PayCurrency, Detail: "missing_at_provider"})
		}
	}
	return s.finish(ctx, r, bill)
}

// add classifies one item under key. A key this report already holds a
// difference for keeps that difference's class (and its resolution): a
// payment reconciliation credited is matched now, but it was lost.
func (r *run) add(key, class string, amount int64, d Difference) {
	if k, ok := r.known[key]; ok {
		r.items = append(r.items, found{class: k.Class, amount: amount})
		delete(r.known, key)
		return
	}
	if class == Matched {
		r.items = append(r.items, found{class: Matched, amount: amount})
		return
	}
	d.Key, d.Class = key, class
	r.items = append(r.items, found{class: class, amount: amount, diff: &d})
}

// payment classifies a payment line against our order o (nil: none).
func (r *run) payment(ctx context.Context, l payment.BillLine, o *ourOrder) error {
	key := "payment:" + l.OutTradeNo
	if o != nil {
		key = "payment:" + o.No
	} else if l.OutTradeNo == "" {
		key = "payment:trade:" + l.TradeNo
	}
	d := Difference{OutTradeNo: l.OutTradeNo, TradeNo: l.TradeNo, Theirs: sql.NullInt64{Int64: l.Amount, Valid: true},
		TheirsCurrency: l.Currency}
	if _, ok := r.known[key]; ok {
		r.add(key, Matched, l.Amount, d)
		return nil
	}
	switch {
	case o == nil:
		d.Detail = "unknown_order"
		r.add(key, Lost, l.Amount, d)
	case o.State != recharge.OrderPaid:
		return r.lost(ctx, key, l, o, d)
	case o.PayAmount != l.Amount || o.PayCurrency != l.Currency:
		d.OutTradeNo, d.Ours, d.OursCurrency, d.Detail = o.No, sql.NullInt64{Int64: o.PayAmount, Valid: true}, o.PayCurrency, "amount_or_currency"
		r.add(key, Mismatch, l.Amount, d)
	default:
		r.add(key, Matched, l.Amount, d)
	}
	return nil
}

// lost is a payment the provider holds and we never credited: the
// difference is stored first (so a crash after the credit still shows
// it), then the provider is asked again through recharge, which credits
// through the one crediting function when it confirms.
func (r *run) lost(ctx context.Context, key string, l payment.BillLine, o *ourOrder, d Difference) error {
	d.Key, d.Class, d.OutTradeNo = key, Lost, o.No
	d.Ours, d.OursCurrency = sql.NullInt64{Int64: o.PayAmount, Valid: true}, o.PayCurrency
	d.Detail = "not_credited"
	if err := r.s.insertDifference(ctx, r.report, d); err != nil {
		return err
	}
	after, ans, err := r.s.o.Recharge.Requery(ctx, o.No)
	if err != nil {
		return fmt.Errorf("requery %s: %w", o.No, err)
	}
	if after.State == recharge.OrderPaid {
		if err := r.s.markCredited(ctx, r.report, key); err != nil {
			return err
		}
		d.Credited, d.Detail = true, "credited"
	} else {
		d.Detail = "provider_said_" + ans.Said
		if err := r.s.setDetail(ctx, r.report, key, d.Detail); err != nil {
			return err
		}
		r.s.o.Logger.WarnContext(ctx, "reconcile: a billed payment the provider does not confirm", "order", o.No,
			"said", ans.Said, "err", ans.Err)
	}
	r.items = append(r.items, found{class: Lost, amount: l.Amount})
	delete(r.known, key)
	return nil
}

// refund classifies a refund or reversal line against our refund f.
func (r *run) refund(l payment.BillLine, f *ourRefund) {
	key := "refund:" + l.RequestNo
	if f != nil {
		key = "refund:" + f.RequestNo
	} else if l.RequestNo == "" {
		key = "refund:id:" + l.RefundID
	}
	d := Difference{OutTradeNo: l.OutTradeNo, TradeNo: l.TradeNo, RequestNo: l.RequestNo, RefundID: l.RefundID,
		Theirs: sql.NullInt64{Int64: l.Amount, Valid: true}, TheirsCurrency: l.Currency}
	switch {
	case f == nil:
		d.Detail = "unknown_refund"
	case f.State != "succeeded" && f.State != "in_flight":
		d.RequestNo, d.Ours, d.OursCurrency, d.Detail = f.RequestNo, sql.NullInt64{Int64: f.paid(), Valid: true}, f.PayCurrency, "refund_"+f.State+"_here"
	case !f.agrees(l):
		d.RequestNo, d.Ours, d.OursCurrency, d.Detail = f.RequestNo, sql.NullInt64{Int64: f.paid(), Valid: true}, f.PayCurrency, "amount"
	default:
		r.add(key, Matched, l.Amount, d)
		return
	}
	r.add(key, Refund, l.Amount, d)
}

// FeesAccount is the system account a method's provider fees go to.
func FeesAccount(method payment.Method) string { return "fees:" + string(method) }

// fee books a line's fee: the provider kept it, so it owes us that much
// less. Top-ups take the clearing account below zero by what the provider
// collected for us; the fee moves it back up, into fees:<method>. The key
// names the line, so a second run (or the same line on a later bill) books
// nothing new.
func (r *run) fee(ctx context.Context, l payment.BillLine) error {
	if l.Fee == 0 {
		return nil
	}
	line := string(l.Kind) + ":" + l.OutTradeNo + ":" + l.TradeNo
	if l.Kind != payment.BillPayment {
		line = string(l.Kind) + ":" + l.RequestNo + ":" + l.RefundID
	}
	clearing, err := r.s.o.Ledger.SystemAccountID(ctx, "clearing:"+string(r.method))
	if err != nil {
		return err
	}
	fees, err := r.s.o.Ledger.EnsureSystemAccount(ctx, FeesAccount(r.method))
	if err != nil {
		return err
	}
	_, err = r.s.o.Ledger.Post(ctx, ledger.Posting{Key: "fee:" + string(r.method) + ":" + line, Kind: ledger.Charge,
		Reference: "bill:" + string(r.method) + ":" + line, Description: "provider_fee",
		Entries: []ledger.Entry{{AccountID: clearing, Amount: l.Fee}, {AccountID: fees, Amount: -l.Fee}}})
	if err != nil {
		return fmt.Errorf("fee of %s: %w", line, err)
	}
	r.fees += l.Fee
	return nil
}
