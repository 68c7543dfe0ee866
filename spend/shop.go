package spend

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
	"im2pay/ledger"
	"im2pay/wallet"
)

// ProductStatus is a product as one person sees it.
type ProductStatus struct {
	Product
	Price wallet.Money
	Owned int // sticker packs: 1 when owned; consumables: units left
}

// ShopView is the shop page's data.
type ShopView struct {
	Products        []ProductStatus
	MembershipUntil time.Time
	Balance         wallet.Money
	ConfirmAbove    wallet.Money
}

// Shop loads the catalog with what the person owns.
func (s *Service) Shop(ctx context.Context, userID int64) (ShopView, error) {
	products, err := s.products(ctx)
	if err != nil {
		return ShopView{}, err
	}
	owned, err := s.ownedBy(ctx, userID)
	if err != nil {
		return ShopView{}, err
	}
	u, err := s.accounts.UserByID(ctx, userID)
	if err != nil {
		return ShopView{}, err
	}
	bal, err := s.ledger.Balance(ctx, u.WalletID)
	if err != nil {
		return ShopView{}, err
	}
	st, err := s.SettingsOf(ctx, userID)
	if err != nil {
		return ShopView{}, err
	}
	v := ShopView{MembershipUntil: owned.MembershipUntil, Balance: wallet.Money(bal), ConfirmAbove: st.ConfirmAbove}
	for _, p := range products {
		v.Products = append(v.Products, ProductStatus{Product: p, Price: wallet.Money(p.Price), Owned: owned.Items[p.ID]})
	}
	return v, nil
}

// NeedsConfirmation asks the person to confirm a purchase above their
// threshold; it carries what the confirmation shows.
type NeedsConfirmation struct {
	Price, BalanceAfter wallet.Money
	// Repriced: the person confirmed another price than this one.
	Repriced bool
}

func (n *NeedsConfirmation) Error() string {
	return fmt.Sprintf("spend: purchase of %s needs confirmation", n.Price)
}

// Purchase is what a person asked to buy: a product or an event bundle.
type Purchase struct {
	UserID    int64
	Product   string // product code, or
	Event     string // bundle event code
	Key       string // the form's idempotency key
	Confirmed bool
	// Quoted is the price the person was shown and confirmed; a purchase
	// whose price has changed since asks again instead of charging another.
	Quoted wallet.Money
	// Session is the hash of the session token the request came with;
	// the purchase commits only while that session is alive (see
	// account.HoldSession). Nil for callers without a session.
	Session []byte
}

// Bought is a completed purchase.
type Bought struct {
	Price           wallet.Money
	Balance         wallet.Money
	MembershipUntil time.Time
	Replayed        bool // the same key was bought before: nothing moved now
}

// Buy performs a purchase: the debit, the purchase row and what it gives
// (membership, a sticker pack, consumable units) in one transaction, once
// per form key. Refusals: unknown or ended offer, an owned sticker pack,
// above the confirmation threshold without confirmation, and *Shortfall.
func (s *Service) Buy(ctx context.Context, p Purchase) (Bought, error) {
	if len(p.Key) < 16 || len(p.Key) > 64 {
		return Bought{}, wallet.NewProblem("", "shop.stale_form")
	}
	// A repeated key gets the first answer (it was bought), whatever has
	// changed since: the sticker pack is owned now, the event may be over.
	if done, err := s.purchaseExists(ctx, p.UserID, p.Key); err != nil || done {
		return Bought{Replayed: done}, err
	}
	offer, err := s.offer(ctx, p)
	if err != nil {
		return Bought{}, err
	}
	// Checked again inside the transaction; here it spares the person a
	// confirmation step for something they cannot buy.
	if err := s.refuseOwned(ctx, p.UserID, offer); err != nil {
		return Bought{}, err
	}
	if err := s.confirmIfNeeded(ctx, p, offer.price); err != nil {
		return Bought{}, err
	}
	revenue, err := s.SystemAccount(ctx, "revenue:shop")
	if err != nil {
		return Bought{}, err
	}
	var out Bought
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		out = Bought{Price: offer.price}
		if err := holdSession(ctx, tx, p.Session); err != nil {
			return err
		}
		id, created, err := insertPurchase(ctx, tx, p.UserID, offer.productID, offer.eventID, int64(offer.price), p.Key)
		if err != nil || !created {
			out.Replayed = true
			return err
		}
		posted, err := s.DebitTx(ctx, tx, Debit{UserID: p.UserID, Amount: offer.price, To: revenue,
			Key: ScopedKey("purchase", p.UserID, p.Key), Kind: ledger.Purchase,
			Reference: fmt.Sprintf("purchase:%d", id), Description: "purchase_" + offer.code})
		if err != nil {
			return err
		}
		for _, b := range posted.Balances {
			out.Balance = wallet.Money(b)
		}
		out.MembershipUntil, err = s.deliver(ctx, tx, p.UserID, offer)
		return err
	})
	if err != nil {
		return Bought{}, err
	}
	if err := s.AwardEventBonuses(ctx, p.UserID); err != nil {
		return out, fmt.Errorf("after purchase: %w", err)
	}
	return out, nil
}

// offer is a product or bundle resolved for one purchase.
type offer struct {
	code               string
	price              wallet.Money
	productID, eventID sql.NullInt64
	product            Product
	membershipMonths   int
	membershipDays     int
	stickerID          int64
}

func (s *Service) offer(ctx context.Context, p Purchase) (offer, error) {
	if p.Event != "" {
		e, err := s.eventByCode(ctx, p.Event)
		if errors.Is(err, db.ErrNotFound) || (err == nil && e.Kind != "bundle") {
			return offer{}, wallet.NewProblem("", "shop.unknown")
		}
		if err != nil {
			return offer{}, err
		}
		// The end time is checked on the server: a crafted request for an
		// ended event is refused like a click.
		if !e.Running(s.now()) {
			return offer{}, wallet.NewProblem("", "event.ended")
		}
		return offer{code: e.Code, price: wallet.Money(e.Price), eventID: sql.NullInt64{Int64: e.ID, Valid: true},
			membershipDays: e.MembershipDays, stickerID: e.StickerProductID.Int64}, nil
	}
	pr, err := s.productByCode(ctx, p.Product)
	if errors.Is(err, db.ErrNotFound) {
		return offer{}, wallet.NewProblem("", "shop.unknown")
	}
	if err != nil {
		return offer{}, err
	}
	return offer{code: pr.Code, price: wallet.Money(pr.Price), productID: sql.NullInt64{Int64: pr.ID, Valid: true}, product: pr,
		membershipMonths: pr.Months, membershipDays: pr.Days}, nil
}

func (s *Service) refuseOwned(ctx context.Context, userID int64, o offer) error {
	sticker := o.stickerID
	if o.product.Kind == "sticker_pack" {
		sticker = o.product.ID
	}
	if sticker == 0 {
		return nil
	}
	owned, err := s.ownedBy(ctx, userID)
	if err != nil {
		return err
	}
	if owned.Items[sticker] > 0 {
		return wallet.NewProblem("", "shop.owned")
	}
	return nil
}

// confirmIfNeeded refuses, before anything moves, a purchase the balance
// cannot cover (*Shortfall) and one above the person's threshold that was
// not confirmed (*NeedsConfirmation).
func (s *Service) confirmIfNeeded(ctx context.Context, p Purchase, price wallet.Money) error {
	st, err := s.SettingsOf(ctx, p.UserID)
	if err != nil {
		return err
	}
	u, err := s.accounts.UserByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	bal, err := s.ledger.Balance(ctx, u.WalletID)
	if err != nil {
		return err
	}
	if wallet.Money(bal) < price {
		return &Shortfall{Price: price, Balance: wallet.Money(bal)}
	}
	if p.Quoted != price && (p.Confirmed || p.Quoted != 0) {
		// Shown or confirmed at another price (the catalog changed, or
		// the form was forged), or confirmed without one: ask again at
		// this price rather than charge one the person did not see.
		return &NeedsConfirmation{Price: price, BalanceAfter: wallet.Money(bal) - price, Repriced: p.Quoted != 0}
	}
	if p.Confirmed || price <= st.ConfirmAbove {
		return nil
	}
	return &NeedsConfirmation{Price: price, BalanceAfter: wallet.Money(bal) - price}
}

// Preview says what buying p now would do, without buying anything: a
// *NeedsConfirmation with the price and the balance after, a *Shortfall,
// or the refusal.
func (s *Service) Preview(ctx context.Context, p Purchase) error {
	o, err := s.offer(ctx, p)
	if err != nil {
		return err
	}
	if err := s.refuseOwned(ctx, p.UserID, o); err != nil {
		return err
	}
	p.Confirmed = false
	if err := s.confirmIfNeeded(ctx, p, o.price); err != nil {
		return err
	}
	// Below the threshold: still shown as a confirmation, since the person
	// came back to finish it and nothing is bought without a click.
	u, err := s.accounts.UserByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	bal, err := s.ledger.Balance(ctx, u.WalletID)
	if err != nil {
		return err
	}
	return &NeedsConfirmation{Price: o.price, BalanceAfter: wallet.Money(bal) - o.price}
}

// deliver gives what was bought, inside the purchase's transaction.
func (s *Service) deliver(ctx context.Context, tx *sqlx.Tx, userID int64, o offer) (time.Time, error) {
	var until time.Time
	if o.membershipMonths > 0 || o.membershipDays > 0 {
		var err error
		if until, err = extendMembership(ctx, tx, userID, o.membershipMonths, o.membershipDays, s.now()); err != nil {
			return until, err
		}
	}
	sticker := o.stickerID
	if o.product.Kind == "sticker_pack" {
		sticker = o.product.ID
	}
	if sticker != 0 {
		added, err := addOwned(ctx, tx, userID, sticker, 1, true)
		if err != nil {
			return until, err
		}
		if !added {
			return until, wallet.NewProblem("", "shop.owned")
		}
	}
	if o.product.Kind == "consumable" {
		if _, err := addOwned(ctx, tx, userID, o.product.ID, o.product.Quantity, false); err != nil {
			return until, err
		}
	}
	return until, nil
}
