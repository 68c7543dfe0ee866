package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"im2pay/ledger"
	"im2pay/spend"
)

// postingWorkers is the concurrency of figures 1 and 2, the same as the
// pgbench clients they are compared with.
const postingWorkers = 8

// pgbenchDB is the database pgbench's tables live in, beside the app's.
const pgbenchDB = "pgbench"

// pgbenchArgs are the connection flags every pgbench call shares.
func (b *bench) pgbenchArgs() ([]string, []string) {
	_, pw := splitPassword(b.cluster.AdminURL(pgbenchDB))
	env := []string{"PGPASSWORD=" + pw, "PGSSLMODE=disable", "LC_ALL=C"}
	return []string{"-h", "127.0.0.1", "-p", strconv.Itoa(b.cluster.Port()), "-U", "im2pay"}, env
}

// initPgbench creates the pgbench tables at the chosen scale unless a
// previous run left them there.
func (b *bench) initPgbench(ctx context.Context) error {
	if _, err := b.conn.ExecContext(ctx, `CREATE DATABASE `+pgbenchDB); err != nil && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("create database %s: %w", pgbenchDB, err)
	}
	other, err := sqlx.Open("postgres", b.cluster.AdminURL(pgbenchDB))
	if err != nil {
		return err
	}
	defer other.Close()
	var branches int
	if err := other.GetContext(ctx, &branches, `SELECT count(*) FROM pgbench_branches`); err == nil && branches == b.sz.pgbenchScale {
		return nil
	}
	args, env := b.pgbenchArgs()
	args = append(args, "-i", "-q", "-s", strconv.Itoa(b.sz.pgbenchScale), pgbenchDB)
	b.logf("   pgbench -i -s %d", b.sz.pgbenchScale)
	_, err = command(ctx, env, b.cluster.Program("pgbench"), args...)
	return err
}

var tpsRE = regexp.MustCompile(`tps = ([0-9.]+)`)

// runPgbench is the reference: TPC-B-like transactions, 8 clients, 2 threads.
func (b *bench) runPgbench(ctx context.Context) (float64, error) {
	args, env := b.pgbenchArgs()
	secs := max(1, int(b.sz.phase.Seconds()+0.5))
	args = append(args, "-b", "tpcb-like", "-c", "8", "-j", "2", "-T", strconv.Itoa(secs), pgbenchDB)
	out, err := command(ctx, env, b.cluster.Program("pgbench"), args...)
	if err != nil {
		return 0, err
	}
	m := tpsRE.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench printed no tps:\n%s", out)
	}
	return strconv.ParseFloat(m[1], 64)
}

// figurePosting is figure 1: spends between distinct wallets through the
// spending's debit (spend.Service.Debit: the payer's lock, the balance
// check, the key and the entries in one query of its own, the debit
// purchases, gifts and charges make inside their transactions), 8 workers,
// alternating with pgbench so both see the same machine.
func (b *bench) figurePosting(ctx context.Context) ([]result, error) {
	if err := b.initPgbench(ctx); err != nil {
		return nil, err
	}
	users, err := b.createUsers(ctx, "p", 2*postingWorkers)
	if err != nil {
		return nil, err
	}
	if err := b.fund(ctx, users[:postingWorkers], 1_000_000_00); err != nil {
		return nil, err
	}
	var pg []float64
	var posting stats
	for round := range b.sz.rounds {
		tps, err := b.runPgbench(ctx)
		if err != nil {
			return nil, err
		}
		pg = append(pg, tps)
		s := timed(ctx, postingWorkers, b.sz.phase, func(ctx context.Context, w, i int) error {
			from, to := users[w], users[postingWorkers+w]
			_, err := b.spend.Debit(ctx, spend.Debit{UserID: from.ID, Amount: 1, To: to.WalletID,
				Key: fmt.Sprintf("bench:%s:%d:%d:%d", b.run, round, w, i), Kind: ledger.Transfer,
				Reference: "bench:" + b.run, Description: "bench_transfer"})
			return err
		})
		b.logf("   round %d: pgbench %.0f tps, posting %.0f tps", round+1, tps, s.perSecond())
		posting = posting.merge(s)
	}
	b.pgbenchTPS = mean(pg)
	b.postingTPS = posting.perSecond()
	r := result{ID: "1", Name: "ledger posting, 8 workers",
		Value: fmt.Sprintf("%.0f tps", b.postingTPS),
		Ref:   fmt.Sprintf("pgbench tpcb-like -s %d: %.0f tps", b.sz.pgbenchScale, b.pgbenchTPS),
		Note:  joinNotes(fmt.Sprintf("p99 %s", fmtDur(posting.percentile(99))), posting.errorsNote())}
	return []result{ratioResult(r, b.postingTPS, b.pgbenchTPS, 1.0, false)}, nil
}

// figureHotRecipient is figure 2: 8 senders gifting one person at once
// through the gift path (checks, the recipient's income account, debit,
// gift row).
func (b *bench) figureHotRecipient(ctx context.Context) ([]result, error) {
	users, err := b.createUsers(ctx, "g", postingWorkers+1)
	if err != nil {
		return nil, err
	}
	hot, senders := users[0], users[1:]
	if err := b.fund(ctx, senders, 1_000_000_00); err != nil {
		return nil, err
	}
	s := timed(ctx, postingWorkers, b.sz.phase, func(ctx context.Context, w, i int) error {
		_, err := b.spend.SendGift(ctx, spend.GiftRequest{SenderID: senders[w].ID, To: hot.Username,
			Gift: "rose", Quantity: "1", Key: fmt.Sprintf("b%s-%d-%d", b.run, w, i)})
		return err
	})
	var received int64
	if err := b.conn.GetContext(ctx, &received, `
		SELECT count(*) FROM gifts WHERE recipient_id = $1`, hot.ID); err != nil {
		return nil, err
	}
	r := result{ID: "2", Name: "hot recipient (gifts to one user)",
		Value: fmt.Sprintf("%.0f tps", s.perSecond()), Ref: fmt.Sprintf("figure 1: %.0f tps", b.postingTPS),
		Note: joinNotes(fmt.Sprintf("%d gifts received, p99 %s", received, fmtDur(s.percentile(99))), s.errorsNote())}
	if received != int64(s.ops) {
		r.Note = joinNotes(r.Note, fmt.Sprintf("MISMATCH: %d acknowledged", s.ops))
	}
	return []result{ratioResult(r, s.perSecond(), b.postingTPS, 0.8, false)}, nil
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

func joinNotes(notes ...string) string {
	var out []string
	for _, n := range notes {
		if n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, "; ")
}
