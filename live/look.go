package live

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Reading movements, and why none is missed or told twice.
//
// Entry and gift ids come from sequences, so they commit out of order: a
// posting may hold entry 7 uncommitted while 8 commits and is read. So a
// read does not start at the highest id the last read saw, but at the
// highest id a read saw lookback ago; postings commit within milliseconds
// of drawing their ids, far inside it. What a read finds again is
// recognised by its row (entry or gift id) and not delivered twice. The
// balance a stream shows is read afresh at each event, so even a movement
// told late leaves the right figure.

// DefaultLookback is how far behind the newest ids each read starts.
const DefaultLookback = 10 * time.Second

// movementsSQL returns the ledger's and the gifts' highest ids (a row even
// when nothing moved), then each wallet entry above $1 of the users $3 and
// each gift above $2 received by them. Both use an index per person
// (ledger_entries_account, gifts_recipient): the cost follows the people
// watching, not the posting rate.
const movementsSQL = `
	WITH wallets AS (
		SELECT id, user_id FROM accounts WHERE kind = 'wallet' AND user_id = ANY($3::bigint[]))
	SELECT coalesce((SELECT max(id) FROM ledger_entries), 0),
	       coalesce((SELECT max(id) FROM gifts), 0),
	       m.gift, m.pos, m.user_id, m.transaction_id
	  FROM (SELECT 1) one LEFT JOIN (
	        SELECT false AS gift, e.id AS pos, w.user_id, e.transaction_id
	          FROM wallets w JOIN ledger_entries e ON e.account_id = w.id AND e.id > $1
	        UNION ALL
	        SELECT true, g.id, g.recipient_id, g.transaction_id
	          FROM gifts g
	         WHERE g.recipient_id = ANY($3::bigint[]) AND g.id > $2) m ON true`

// looking is the reader's place: the highest ids each recent read saw, and
// the rows already delivered that a coming read may cover again.
type looking struct {
	lookback time.Duration
	marks    []mark
	sent     map[seen]struct{}
}

type mark struct {
	at          time.Time
	entry, gift int64
}

type seen struct {
	gift bool
	pos  int64
}

// movement is one transaction to tell one person about.
type movement struct{ userID, txnID int64 }

// start takes the place as it is now: what committed before is not news.
func (l *looking) start(ctx context.Context, conn *sqlx.DB) error {
	top, _, err := read(ctx, conn, mark{}, nil)
	if err != nil {
		return err
	}
	l.marks, l.sent = []mark{top}, map[seen]struct{}{}
	return nil
}

// next reads what moved for users since the floor (the oldest mark kept)
// and returns what was not delivered before.
func (l *looking) next(ctx context.Context, conn *sqlx.DB, users []int64) ([]movement, error) {
	floor := l.marks[0]
	top, rows, err := read(ctx, conn, floor, users)
	if err != nil {
		return nil, err
	}
	var out []movement
	told := map[movement]bool{} // a transaction with two entries in one wallet is one event
	for _, r := range rows {
		k := seen{gift: r.gift, pos: r.pos}
		if _, dup := l.sent[k]; dup {
			continue
		}
		l.sent[k] = struct{}{}
		m := movement{userID: r.userID, txnID: r.txnID}
		if !told[m] {
			told[m] = true
			out = append(out, m)
		}
	}
	// The floor moves up to the newest mark that is lookback old; rows at
	// or below it will not be read again, so they need not be remembered.
	l.marks = append(l.marks, top)
	for len(l.marks) > 1 && time.Since(l.marks[1].at) >= l.lookback {
		l.marks = l.marks[1:]
	}
	for k := range l.sent {
		if (!k.gift && k.pos <= l.marks[0].entry) || (k.gift && k.pos <= l.marks[0].gift) {
			delete(l.sent, k)
		}
	}
	return out, nil
}

type movedRow struct {
	gift          bool
	pos           int64
	userID, txnID int64
}

// read runs movementsSQL above floor for users.
func read(ctx context.Context, conn *sqlx.DB, floor mark, users []int64) (mark, []movedRow, error) {
	top := mark{at: time.Now()}
	rows, err := conn.QueryContext(ctx, movementsSQL, floor.entry, floor.gift, pq.Int64Array(users))
	if err != nil {
		return top, nil, fmt.Errorf("live: read movements: %w", err)
	}
	defer rows.Close()
	var out []movedRow
	for rows.Next() {
		var gift sql.NullBool
		var pos, uid, txn sql.NullInt64
		if err := rows.Scan(&top.entry, &top.gift, &gift, &pos, &uid, &txn); err != nil {
			return top, nil, fmt.Errorf("live: read movements: %w", err)
		}
		if pos.Valid {
			out = append(out, movedRow{gift: gift.Bool, pos: pos.Int64, userID: uid.Int64, txnID: txn.Int64})
		}
	}
	if err := rows.Err(); err != nil {
		return top, nil, fmt.Errorf("live: read movements: %w", err)
	}
	return top, out, nil
}
