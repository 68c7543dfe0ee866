package handlers_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"im2pay/account"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/handlers"
	"im2pay/recharge"
	"im2pay/statement"
	"im2pay/wallet"
)

// These benchmarks are figures 3 and 4 of make bench in-process, so that
// `go test -bench . -cpuprofile` shows where the server's time goes, and
// they report the database queries each request sends (stmts/op).

// queries counts what the counting driver sent to the database.
var queries atomic.Int64

// countingDriver is lib/pq with a count of every query run (BEGIN
// included; COMMIT and ROLLBACK not).
type countingDriver struct{}

func (countingDriver) Open(name string) (driver.Conn, error) {
	c, err := pq.Open(name)
	if err != nil {
		return nil, err
	}
	return countingConn{c}, nil
}

type countingConn struct{ driver.Conn }

// Prepare counts nothing itself: a prepared query counts each time it runs.
func (c countingConn) Prepare(q string) (driver.Stmt, error) {
	st, err := c.Conn.Prepare(q)
	if err != nil {
		return nil, err
	}
	return countingStmt{st}, nil
}

type countingStmt struct{ driver.Stmt }

func (s countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	queries.Add(1)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (s countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	queries.Add(1)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	queries.Add(1)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	queries.Add(1)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	queries.Add(1)
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

var registerCounting sync.Once

// benchSite is newSite for benchmarks, over the counting driver.
// benchServices is what a benchmark reaches behind the router.
type benchServices struct {
	store    *db.Store
	accounts *account.Service
	wallet   *wallet.Service
}

func benchSite(b *testing.B, token string) (*httptest.Server, benchServices) {
	registerCounting.Do(func() { sql.Register("postgres-counting", countingDriver{}) })
	conn, err := sqlx.Open("postgres-counting", dbtest.NewURL(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	conn.SetMaxOpenConns(20)
	conn.SetMaxIdleConns(20)
	store := db.New(conn)
	svc, _ := services(store, recharge.Options{})
	loc, _ := time.LoadLocation("Asia/Shanghai")
	h := handlers.New(withStatement(svc, statement.New(store, loc, nil)), handlers.Config{Location: loc, ServiceToken: token, Logger: discardLogger(),
		IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour})
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	srv.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	return srv, benchServices{store: store, accounts: svc.Accounts, wallet: svc.Wallet}
}

// benchUser registers name with 1,000,000.00 and returns its id.
func benchUser(b *testing.B, bs benchServices, name string) int64 {
	ctx := context.Background()
	u, err := bs.accounts.Register(ctx, name, goodPassword, "bench:"+name)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bs.wallet.Grant(ctx, u.ID, 1_000_000_00, "fund:"+name, "welcome_grant"); err != nil {
		b.Fatal(err)
	}
	return u.ID
}

func BenchmarkAccountCenter(b *testing.B) {
	srv, bs := benchSite(b, "")
	benchUser(b, bs, "bench_account")
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Transport: srv.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := mustGet(b, client, srv.URL+"/login")
	m := csrfField.FindStringSubmatch(page)
	form := url.Values{"username": {"bench_account"}, "password": {goodPassword}, "_csrf": {m[1]}}
	res, err := client.PostForm(srv.URL+"/login", form)
	if err != nil || res.StatusCode != http.StatusSeeOther {
		b.Fatalf("login: %v %v", err, res)
	}
	res.Body.Close()
	mustGet(b, client, srv.URL+"/account")
	b.SetParallelism(16)
	queries.Store(0)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mustGet(b, client, srv.URL+"/account")
		}
	})
	b.ReportMetric(float64(queries.Load())/float64(b.N), "queries/op")
}

func BenchmarkCharges(b *testing.B) {
	srv, bs := benchSite(b, serviceToken)
	const users = 32
	for i := range users {
		benchUser(b, bs, fmt.Sprintf("bench_c%d", i))
	}
	var next atomic.Int64
	b.SetParallelism(16)
	queries.Store(0)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := next.Add(1)
		i := 0
		for pb.Next() {
			i++
			body := fmt.Sprintf(`{"user":"bench_c%d","amount_fen":1,"reason":"priority_message","idempotency_key":"k-%d-%d"}`,
				n%users, n, i)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/charges", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+serviceToken)
			req.Header.Set("Content-Type", "application/json")
			res, err := srv.Client().Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				b.Errorf("charge: %d %s", res.StatusCode, raw)
				return
			}
		}
	})
	b.ReportMetric(float64(queries.Load())/float64(b.N), "queries/op")
}

func mustGet(b *testing.B, client *http.Client, u string) string {
	res, err := client.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d", u, res.StatusCode)
	}
	return string(raw)
}

func BenchmarkStaticFile(b *testing.B) {
	srv, _ := benchSite(b, "")
	client := srv.Client()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mustGet(b, client, srv.URL+"/static/css/app.css")
		}
	})
}
