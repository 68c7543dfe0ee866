package db

// TxnKind says what moved money; it matches the txn_kind enum.
type TxnKind string

// Ledger transaction kinds.
const (
	KindGrant    TxnKind = "grant"
	KindTopup    TxnKind = "topup"
	KindBonus    TxnKind = "bonus"
	KindPurchase TxnKind = "purchase"
	KindGift     TxnKind = "gift"
	KindCharge   TxnKind = "charge"
	KindRefund   TxnKind = "refund"
	KindTransfer TxnKind = "transfer"
	KindReversal TxnKind = "reversal"
)

// Kinds lists every kind, in the order filters show them.
var Kinds = []TxnKind{KindTopup, KindBonus, KindGrant, KindPurchase, KindGift, KindCharge, KindRefund, KindTransfer, KindReversal}
