package seal

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Sealing, and why it never skips a transaction.
//
// Ids come from a sequence, so they commit out of order: a posting may
// hold id 7 uncommitted while 8 commits. Sealing "every visible id" would
// seal 8 and leave 7 out of the chain for ever. Neither visible ids nor
// row xmins tell where the in-flight ids are: an id is drawn by nextval
// before its transaction is sure to have an xid, so xid order and id order
// can disagree, and a rule like "rows whose xmin is older than the
// snapshot's xmin" can still seal 8 past a running 7.
//
// What does tell is the lock an INSERT takes: a statement that inserts
// into ledger_transactions holds RowExclusiveLock on it from before it
// draws its id (locks are taken when the statement is planned or its plan
// reused, before it runs) until its transaction ends, and a transaction's
// locks are released only once its commit is visible to new snapshots. So
// each step, in one statement with one snapshot S:
//   - L = the highest id visible in S. Every id ≤ L was drawn before S
//     (ids are drawn in order, and L's transaction committed before S);
//   - W = the transactions holding that lock, read after S. Whoever holds
//     an id ≤ L and has not ended is in W.
// Once a later step reads the lock holders and none of W is among them,
// every id ≤ L is committed or rolled back for good, and the snapshot of
// any statement after that step sees exactly the committed ones: ids ≤ L
// are final from the next step on. The sealer waits only for ledger
// writers (postings are short), never for other long transactions, and
// never blocks one: it reads pg_locks and the ledger, and writes its own
// table.

// Defaults: a period of a second and batches of at most MaxBatch
// transactions, stepped again at once while batches come back full (up to
// maxStepsPerTick), keep a transaction sealed within a few seconds of its
// commit at any posting rate below 20,000 a second, far inside a minute.
const (
	Period   = time.Second
	MaxBatch = 2000
	// maxStepsPerTick bounds one tick's catch-up to 10 batches, 20,000
	// transactions a second: several times the fastest posting `make
	// bench` has measured (figure 1, 3,500-6,100 tps), so the chain keeps
	// up with any load, while a backlog (the first deploy over an old
	// ledger, or a sealer that was down) drains without taking the
	// database from the postings. With 50 a tick, a bench whose app
	// started 6 million transactions behind lost a quarter of figure 3
	// and half of figure 6 to the catch-up.
	maxStepsPerTick = 10
	// maxPending bounds the bounds waiting for their writers to end; the
	// oldest go first, the newer ones cover more.
	maxPending = 64
)

// Sealer extends the chain behind the commits. One per process; several
// processes may each run one (two sealers racing for the same seal meet at
// its primary key, and the loser simply reads the new head next time).
type Sealer struct {
	conn  *sqlx.DB
	now   func() time.Time
	batch int
	// final: every id ≤ final is committed or never will be.
	final int64
	// pending: bounds whose writers had not all ended when last looked.
	pending []bound
}

type bound struct {
	upTo    int64
	writers []string // virtualtransaction ids from pg_locks
}

// Options configure a Sealer.
type Options struct {
	Now   func() time.Time // the app clock stamping seals; nil: time.Now
	Batch int              // most transactions per seal; 0: MaxBatch
}

// NewSealer returns a sealer over conn.
func NewSealer(conn *sqlx.DB, o Options) *Sealer {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Batch <= 0 {
		o.Batch = MaxBatch
	}
	return &Sealer{conn: conn, now: o.Now, batch: o.Batch}
}

// stepSQL is a step's one query; see the comment on sealing above. $1 is
// the highest id known final, $2 the batch size. Each row is the head and
// the bound (L, W), then one covered transaction (NULL when none).
const stepSQL = `
	WITH head AS (
		SELECT n, last_transaction_id, hash FROM ledger_seals ORDER BY n DESC LIMIT 1),
	batch AS (
		SELECT t.id, t.kind::text AS kind, t.reference, t.description, t.created_at
		  FROM ledger_transactions t
		 WHERE t.id > coalesce((SELECT last_transaction_id FROM head), 0) AND t.id <= $1::bigint
		 ORDER BY t.id LIMIT $2::integer)
	SELECT h.n, h.last_transaction_id, h.hash,
	       coalesce((SELECT max(id) FROM ledger_transactions), 0),
	       ARRAY(SELECT l.virtualtransaction FROM pg_locks l
	              WHERE l.locktype = 'relation' AND l.granted AND l.mode = 'RowExclusiveLock'
	                AND l.relation = 'ledger_transactions'::regclass
	                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())),
	       b.id, b.kind, b.reference, b.description, b.created_at,
	       ARRAY(SELECT e.account_id FROM ledger_entries e WHERE e.transaction_id = b.id ORDER BY e.id),
	       ARRAY(SELECT e.amount FROM ledger_entries e WHERE e.transaction_id = b.id ORDER BY e.id)
	  FROM (SELECT 1) one LEFT JOIN head h ON true LEFT JOIN batch b ON true
	 ORDER BY b.id`

// insertSQL adds seal $1 when seal $1-1 is still the head (another sealer
// may have moved it; then this does nothing).
const insertSQL = `
	INSERT INTO ledger_seals (n, last_transaction_id, transactions, entries, digest, hash, sealed_at)
	SELECT $1::bigint, $2::bigint, $3::integer, $4::integer, $5::bytea, $6::bytea, $7::timestamptz
	 WHERE coalesce((SELECT max(n) FROM ledger_seals), 0) = $1::bigint - 1
	ON CONFLICT (n) DO NOTHING`

// Head is the last seal.
type Head struct {
	N                 int64
	LastTransactionID int64
	Hash              Hash
}

// Step runs one query and, when it found final transactions past the
// head, writes one seal over at most a batch of them. It returns how
// many transactions it sealed and whether the batch was full (more may be
// waiting).
func (s *Sealer) Step(ctx context.Context) (sealed int, full bool, err error) {
	rows, err := s.conn.QueryxContext(ctx, stepSQL, s.final, s.batch)
	if err != nil {
		return 0, false, fmt.Errorf("seal step: %w", err)
	}
	defer rows.Close()
	var head Head
	var visible int64
	var writers []string
	var txns []Txn
	for rows.Next() {
		var n, last, id sql.NullInt64
		var hash []byte
		var w pq.StringArray
		var kind, ref, desc sql.NullString
		var at sql.NullTime
		var accounts, amounts pq.Int64Array
		if err := rows.Scan(&n, &last, &hash, &visible, &w, &id, &kind, &ref, &desc, &at, &accounts, &amounts); err != nil {
			return 0, false, fmt.Errorf("seal step: %w", err)
		}
		head.N, head.LastTransactionID, writers = n.Int64, last.Int64, w
		copy(head.Hash[:], hash)
		if !id.Valid {
			continue
		}
		t := Txn{ID: id.Int64, Kind: kind.String, Reference: ref.String, Description: desc.String, CreatedAt: at.Time}
		for i := range accounts {
			t.Entries = append(t.Entries, Entry{AccountID: accounts[i], Amount: amounts[i]})
		}
		txns = append(txns, t)
	}
	if err := rows.Err(); err != nil {
		return 0, false, fmt.Errorf("seal step: %w", err)
	}
	rows.Close()
	s.observe(visible, writers)
	if len(txns) == 0 {
		return 0, false, nil
	}
	if err := s.write(ctx, head, txns); err != nil {
		return 0, false, err
	}
	return len(txns), len(txns) == s.batch, nil
}

// observe learns from a step's bound (L = visible, W = writers): older
// bounds whose writers have all ended become final, and so does this one
// when nobody was writing.
func (s *Sealer) observe(visible int64, writers []string) {
	kept := s.pending[:0]
	for _, b := range s.pending {
		if slices.ContainsFunc(b.writers, func(w string) bool { return slices.Contains(writers, w) }) {
			kept = append(kept, b)
		} else {
			s.final = max(s.final, b.upTo)
		}
	}
	s.pending = kept
	switch {
	case visible <= s.final:
	case len(writers) == 0:
		s.final = visible
	case len(s.pending) == 0 || s.pending[len(s.pending)-1].upTo < visible:
		if len(s.pending) == maxPending {
			s.pending = slices.Delete(s.pending, 0, 1)
		}
		s.pending = append(s.pending, bound{upTo: visible, writers: writers})
	}
}

// write chains txns after head as the next seal.
func (s *Sealer) write(ctx context.Context, head Head, txns []Txn) error {
	link := NewLink(head.Hash)
	for _, t := range txns {
		link.Add(t)
	}
	sum, n, entries, digest := link.Sum()
	last := txns[len(txns)-1].ID
	_, err := s.conn.ExecContext(ctx, insertSQL, head.N+1, last, n, entries, digest[:], sum[:], s.now())
	if err != nil {
		return fmt.Errorf("seal %d (transactions to %d): %w", head.N+1, last, err)
	}
	return nil
}

// Tick is what the sealer does each period: a step, and more at once
// while they come back full, so a backlog drains at the database's pace
// rather than a batch a period.
func (s *Sealer) Tick(ctx context.Context) (sealed int, err error) {
	for range maxStepsPerTick {
		n, full, err := s.Step(ctx)
		sealed += n
		if err != nil || !full {
			return sealed, err
		}
	}
	return sealed, nil
}

// Run ticks every period until ctx ends. A failed tick is logged and
// retried at the next: nothing is lost, the next seal starts at the head.
func (s *Sealer) Run(ctx context.Context, period time.Duration, log *slog.Logger) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			log.Warn("seal the ledger", "err", err)
		}
	}
}
