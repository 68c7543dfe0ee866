package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/center"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/handlers"
	"im2pay/recharge"
	"im2pay/spend"
	"im2pay/staff"
	"im2pay/statement"
	"im2pay/wallet"
)

// language is what a person reading the site in one language sees. The
// strings are written out here, not looked up in the app's catalog, so that
// a wrong or missing translation fails.
type language struct {
	tag           string // <html lang>
	switchLabel   string // the language switch offers the other language
	welcome       string
	wrongPassword string
	loginRequired string
	historyTitle  string
	grantKind     string
	welcomeDesc   string
	loadMore      string
	end           string
	empty         string
	noneMatch     string
}

var (
	zhCN = language{
		tag:           "zh-CN",
		switchLabel:   "English",
		welcome:       "注册成功，欢迎使用 IM2.0 Pay！",
		wrongPassword: "用户名或密码错误。",
		loginRequired: "请先登录。",
		historyTitle:  "余额明细",
		grantKind:     "赠送",
		welcomeDesc:   "新用户欢迎礼金",
		loadMore:      "加载更多",
		end:           "没有更多记录了",
		empty:         "还没有任何记录。",
		noneMatch:     "没有符合筛选条件的记录。",
	}
	en = language{
		tag:           "en",
		switchLabel:   "中文",
		welcome:       "Welcome to IM2.0 Pay! Your account is ready.",
		wrongPassword: "Wrong username or password.",
		loginRequired: "Please log in to continue.",
		historyTitle:  "Balance history",
		grantKind:     "Grant",
		welcomeDesc:   "Welcome credit",
		loadMore:      "Load more",
		end:           "That is everything",
		empty:         "No records yet.",
		noneMatch:     "Nothing matches these filters.",
	}
)

// site is the whole app over a fresh database, on a local port.
type site struct {
	url      string
	store    *db.Store
	accounts *account.Service
	wallet   *wallet.Service
	spend    *spend.Service
	recharge *recharge.Service
	// staff runs the operations console's accounts (/ops is mounted on
	// every site, as the server mounts it).
	staff *staff.Service
	log   *serverLog
	// primary and replica are set when the site reads history, export and
	// summary from a streaming standby (newReplicaSite).
	primary, replica *sqlx.DB
}

func newSite(t *testing.T) *site {
	t.Helper()
	return newSiteOver(t, db.New(dbtest.New(t)))
}

// newReplicaSite is newSite with DATABASE_REPLICA_URL's wiring: a second
// pool on a streaming standby of the database (another private cluster,
// copied with pg_basebackup) serves history, export and summary.
func newReplicaSite(t *testing.T) *site {
	t.Helper()
	url := dbtest.NewURL(t)
	primary, replica := openPool(t, url), openPool(t, dbtest.StandbyURL(t, url))
	s := newSiteOver(t, db.NewWithReplica(primary, replica))
	s.primary, s.replica = primary, replica
	return s
}

func openPool(t *testing.T, url string) *sqlx.DB {
	t.Helper()
	conn, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// replayed returns once the replica, if the site has one, has replayed
// every write made so far: a journey calls it after writing behind the
// browser's back (a grant) and before a page that reads the replica.
func (s *site) replayed(t *testing.T) {
	t.Helper()
	if s.replica != nil {
		dbtest.WaitReplayed(t, s.primary, s.replica)
	}
}

func newSiteOver(t *testing.T, store *db.Store) *site {
	t.Helper()
	accounts := account.NewService(store, account.Options{
		Hasher: account.PasswordHasher{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32},
		// Every journey signs up from 127.0.0.1; the limit has its own test.
		SignupsPerClient: 1000,
	})
	svc := wallet.NewService(store, wallet.Options{Accounts: accounts})
	rs := recharge.NewService(store, recharge.Options{})
	sp := spend.NewService(store, spend.Options{Accounts: accounts})
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	sl := &serverLog{}
	st := newStaff(store, nil)
	console := consoleDeps(store, st, rs, sp, nil, sl)
	h := handlers.New(handlers.Services{Accounts: accounts, Wallet: svc, Statement: statement.New(store, loc, nil),
		Spend: sp, Recharge: rs, Center: center.NewService(store, center.Options{Spend: sp, Recharge: rs}),
		Ops: console, Redeem: console.Redeem}, handlers.Config{
		Location: loc, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour, Logger: slog.New(sl),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &site{url: srv.URL, store: store, accounts: accounts, wallet: svc, spend: sp, recharge: rs, staff: st, log: sl}
}

func (s *site) register(t *testing.T, name string) {
	t.Helper()
	if _, err := s.accounts.Register(context.Background(), name, password, "test:"+name); err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
}

func (s *site) userID(t *testing.T, name string) int64 {
	t.Helper()
	u, err := s.accounts.UserByName(context.Background(), name)
	if err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	return u.ID
}

func (s *site) grant(t *testing.T, uid int64, amount wallet.Money, key, desc string) {
	t.Helper()
	if _, err := s.wallet.Grant(context.Background(), uid, amount, "e2e:"+key, desc); err != nil {
		t.Fatalf("grant %s: %v", amount, err)
	}
}

// newPage opens a fresh tab for one subtest and, when the subtest ends,
// reports what the browser and the server complained about.
func newPage(t *testing.T, s *site, browserCtx context.Context, v variant) *page {
	t.Helper()
	s.log.take() // what earlier subtests left is theirs
	ctx, probs := openTab(t, browserCtx, v.dev, v.accept)
	p := &page{t: t, ctx: ctx, base: s.url, phone: v.dev.mobile, width: v.dev.width, out: outDir(t), probs: probs}
	t.Cleanup(func() {
		p.checkProblems()
		for _, e := range s.log.take() {
			t.Errorf("server logged an error: %s", e)
		}
	})
	return p
}

// outDir is this subtest's screenshot folder, emptied: out/<subtest>, or
// under E2E_OUT.
func outDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("E2E_OUT")
	if root == "" {
		root = "out"
	}
	_, sub, _ := strings.Cut(t.Name(), "/")
	dir := filepath.Join(root, filepath.FromSlash(sub))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// uniqueName is a valid username (3–32 letters, digits, underscores) no
// other subtest or run uses.
func uniqueName(t *testing.T, v variant, journey string) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("e2e_%s_%s_%s_%s", v.dev.name[:1], strings.ToLower(v.lang.tag[:2]), journey, hex.EncodeToString(b))
}

// serverLog keeps what the server logs at error level: a 5xx during a
// journey fails it even when the page looks fine.
type serverLog struct {
	mu   sync.Mutex
	errs []string
}

func (l *serverLog) Enabled(_ context.Context, level slog.Level) bool {
	return level >= slog.LevelError
}
func (l *serverLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *serverLog) WithGroup(string) slog.Handler      { return l }

func (l *serverLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, b.String())
	return nil
}

func (l *serverLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.errs
	l.errs = nil
	return out
}
