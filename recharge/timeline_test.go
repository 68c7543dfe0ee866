package recharge

import (
	"slices"
	"testing"

	"github.com/jmoiron/sqlx"

	"im2pay/payment/sandbox/sim"
)

func TestAnOrdersTimelineShowsStatesProviderEventsLedgerAndOtherOrders(t *testing.T) {
	f, gw := payFixture(t)
	u := f.user("timeline")
	other := f.started(u.ID, "wechat", "6.00", "timeline-other-key-001")
	o := f.started(u.ID, "alipay", "68.00", "timeline-paid-key-0001")
	if _, err := f.service.SaidPaid(f.ctx, o); err != nil { // 我已支付: processing
		t.Fatal(err)
	}
	if _, err := gw.Simulate(f.ctx, o.OutTradeNo, sim.DropNotify); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.service.Requery(f.ctx, o.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	// A forged notification naming the order is kept in the timeline,
	// marked unverified.
	f.service.event(f.ctx, "alipay", "notify", o.OutTradeNo, false, "", "bad signature", "trade_status=TRADE_SUCCESS&sign=forged")

	tl, err := f.service.OrderTimeline(f.ctx, o.OutTradeNo)
	if err != nil {
		t.Fatal(err)
	}
	if tl.Order.Username != "timeline" || tl.Order.State != OrderPaid || tl.Order.TierBonus != 3_40 || tl.Order.FirstBonus != 6_00 {
		t.Fatalf("order %+v", tl.Order)
	}
	var moves []string
	for i, s := range tl.States {
		moves = append(moves, s.From+">"+s.To)
		if i > 0 && s.At.Before(tl.States[i-1].At) {
			t.Errorf("state %d at %v, before the one before it", i, s.At)
		}
	}
	if want := []string{">awaiting", "awaiting>processing", "processing>paid"}; !slices.Equal(moves, want) {
		t.Fatalf("states %v, want %v", moves, want)
	}
	var kinds []string
	for _, e := range tl.Events {
		kinds = append(kinds, e.Kind)
	}
	if len(kinds) < 3 || kinds[0] != "start" || !slices.Contains(kinds, "complete") || kinds[len(kinds)-1] != "notify" {
		t.Fatalf("event kinds %v", kinds)
	}
	if last := tl.Events[len(tl.Events)-1]; last.Verified || last.Body != "trade_status=TRADE_SUCCESS&sign=forged" {
		t.Fatalf("the forged notification reads %+v", last)
	}
	if len(tl.Transactions) != 2 || tl.Transactions[0].Kind != "topup" || tl.Transactions[1].Kind != "bonus" {
		t.Fatalf("transactions %+v", tl.Transactions)
	}
	for _, tx := range tl.Transactions {
		var sum int64
		for _, e := range tx.Entries {
			sum += e.Amount
		}
		if sum != 0 || len(tx.Entries) != 2 {
			t.Fatalf("transaction %+v does not balance", tx)
		}
	}
	if tl.Credited() != 68_00+3_40+6_00 || !slices.ContainsFunc(tl.Transactions[0].Entries, func(e LedgerEntry) bool {
		return e.Account == "wallet:timeline" && e.Amount == 68_00 && e.BalanceAfter.Int64 == 68_00
	}) {
		t.Fatalf("credited %d: %+v", tl.Credited(), tl.Transactions[0].Entries)
	}
	if len(tl.Others) != 1 || tl.Others[0].OutTradeNo != other.OutTradeNo {
		t.Fatalf("other orders %+v", tl.Others)
	}
}

func TestTheStateRecordIsAppendOnlyAndRefusedMovesLeaveNoLine(t *testing.T) {
	f := staffFixture(t)
	u := f.user("statelog")
	o := f.order(u.ID, "STATELOG00000000", "alipay", bj(8, 9, 0))
	f.paid(o, "PTN-STATELOG")
	// A paid order never moves; the refused move leaves no line.
	if _, err := f.store.DB().ExecContext(f.ctx, `UPDATE recharge_orders SET state = 'closed' WHERE id = $1`, o.ID); err == nil {
		t.Fatal("a paid order moved")
	}
	states, err := f.service.orderStates(f.ctx, o.ID)
	if err != nil || len(states) != 2 {
		t.Fatalf("%+v %v", states, err)
	}
	for _, q := range []string{
		`UPDATE recharge_order_states SET to_state = 'failed' WHERE order_id = $1`,
		`DELETE FROM recharge_order_states WHERE order_id = $1`,
	} {
		err := f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
			_, err := tx.ExecContext(f.ctx, q, o.ID)
			return err
		})
		if err == nil {
			t.Errorf("%s was allowed", q)
		}
	}
	if _, err := f.store.DB().ExecContext(f.ctx, `TRUNCATE recharge_order_states CASCADE`); err == nil {
		t.Error("TRUNCATE was allowed")
	}
}
