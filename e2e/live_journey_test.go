package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/center"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/handlers"
	"im2pay/live"
	"im2pay/payment"
	"im2pay/payment/sandbox/sandboxtest"
	"im2pay/payment/sandbox/sim"
	"im2pay/recharge"
	"im2pay/spend"
	"im2pay/statement"
	"im2pay/wallet"
)

// liveText is what the toasts say in one language, written out here so a
// wrong translation fails.
type liveText struct {
	balance string
	topup   string // the ¥68.00 top-up
	gift    string // sender_… sent 玫瑰 ×3: %s is the sender
	charge  string // the ¥0.50 translation charge
}

var liveTexts = map[string]liveText{
	"zh-CN": {balance: "余额", topup: "充值 ¥68.00 已到账", gift: "收到 %s 送的 玫瑰 ×3", charge: "消息翻译 扣费 ¥0.50"},
	"en":    {balance: "Balance", topup: "Top-up of ¥68.00 credited", gift: "%s sent you Rose ×3", charge: "Message translation: ¥0.50 charged"},
}

// TestLiveBalanceJourneys: the header's balance and the account center's
// follow money moved behind the page's back, with no reload, and a toast
// says what happened: a top-up credited by the reconciler's path (paid at
// the provider, whose notification never came, found by asking), a gift
// from another person (and the sender's own balance, in their tab), and a
// per-use charge from the IM backend.
func TestLiveBalanceJourneys(t *testing.T) {
	s := newLiveSite(t)
	browserCtx := startBrowser(t)
	for _, v := range []variant{
		{dev: desktop, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
		{dev: phone, lang: en, accept: "en-US,en;q=0.9"},
		{dev: desktop, lang: en, accept: "en-US,en;q=0.9"},
		{dev: phone, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
	} {
		// Screenshots go to out/live/<device>/<language>, the sender's
		// under sender/, apart from the other journeys'.
		t.Run("live/"+v.dev.name+"/"+v.lang.tag, func(t *testing.T) {
			p := newPage(t, s.site, browserCtx, v)
			other := newPage(t, s.site, browserCtx, v)
			other.out = filepath.Join(p.out, "sender")
			if err := os.MkdirAll(other.out, 0o755); err != nil {
				t.Fatal(err)
			}
			liveJourney(t, s, p, other, v)
		})
	}
}

// liveSite is a site with the sandbox's providers and the live balance on.
type liveSite struct {
	*site
	gw *sandboxtest.Gateway
}

func newLiveSite(t *testing.T) *liveSite {
	t.Helper()
	dsn := dbtest.NewURL(t)
	conn, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	store := db.New(conn)
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	gw := sandboxtest.Start(t, appURL)
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	accounts := account.NewService(store, account.Options{
		Hasher:           account.PasswordHasher{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32},
		SignupsPerClient: 1000,
	})
	ws := wallet.NewService(store, wallet.Options{Accounts: accounts})
	rs := recharge.NewService(store, recharge.Options{Location: loc, Providers: gw.Providers, BaseURL: appURL})
	sp := spend.NewService(store, spend.Options{Accounts: accounts})
	hub := live.NewHub(dsn, conn, live.Options{})
	sl := &serverLog{}
	srv.Config.Handler = handlers.New(handlers.Services{Accounts: accounts, Wallet: ws, Statement: statement.New(store, loc, nil),
		Spend: sp, Recharge: rs, Center: center.NewService(store, center.Options{Spend: sp, Recharge: rs}),
		Live: live.NewService(store, hub)}, handlers.Config{
		Location: loc, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour, Logger: slog.New(sl),
		FormActionOrigins: gw.FormOrigins(),
	})
	srv.Config.RegisterOnShutdown(hub.Close)
	srv.Start()
	t.Cleanup(srv.Close)
	// After srv.Close in the list, so it runs before it: the streams end
	// with the hub and the server's Close does not wait on them.
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("live hub: %v", err)
		}
	})
	select {
	case <-hub.Ready():
	case err := <-ran:
		t.Fatalf("live hub stopped: %v", err)
	case <-time.After(stepTimeout):
		t.Fatal("live hub never listened")
	}
	return &liveSite{site: &site{url: appURL, store: store, accounts: accounts, wallet: ws, spend: sp, recharge: rs, log: sl}, gw: gw}
}

// creditByReconciler tops name up by ¥68 by WeChat Pay the way a lost
// notification is found: the order is paid at the provider, which never
// notifies, and asking the provider (the reconciler's and 再次查询's path)
// credits it through recharge.Settle.
func (s *liveSite) creditByReconciler(t *testing.T, uid int64, key string) {
	t.Helper()
	ctx := context.Background()
	o, err := s.recharge.CreateOrder(ctx, recharge.NewOrder{UserID: uid, Method: "wechat", Amount: "68",
		Device: payment.Desktop, RequestKey: key})
	if err != nil {
		t.Fatalf("create order: %v", err)
	}
	if _, err := s.recharge.Pay(ctx, o, "127.0.0.1"); err != nil {
		t.Fatalf("start the payment: %v", err)
	}
	if _, err := s.gw.Simulate(ctx, o.OutTradeNo, sim.DropNotify); err != nil {
		t.Fatalf("pay at the sandbox: %v", err)
	}
	// Read again: the order now knows its provider's reference.
	if o, err = s.recharge.OrderByNo(ctx, o.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	o, a := s.recharge.Recheck(ctx, o)
	if o.State != recharge.OrderPaid {
		t.Fatalf("order %s is %s after asking the provider (%s, %v), want paid", o.OutTradeNo, o.State, a.Said, a.Err)
	}
}

// waitLive waits until the page follows its stream.
func waitLive(p *page) {
	p.t.Helper()
	p.waitFor("the live balance stream to open", `document.querySelector("#live[data-live-state=open]")`)
}

// waitBalance waits until the header shows fen (and the account center
// too, when the page has one), without a reload.
func waitBalance(p *page, fen wallet.Money) {
	p.t.Helper()
	f := strconv.FormatInt(int64(fen), 10)
	p.waitFor("the header balance to become "+fen.String(),
		`document.querySelector('#live-balance [data-fen="`+f+`"]') && (!document.getElementById("balance") || document.getElementById("balance").dataset.fen === "`+f+`")`)
	p.wantText(byTestID("header-balance"), fen.String())
}

// waitToast waits for a toast that says text.
func waitToast(p *page, text string) {
	p.t.Helper()
	p.waitFor("a toast saying "+text,
		`Array.from(document.querySelectorAll('[data-testid=live-toast]')).some(e => e.textContent.includes(`+strconv.Quote(text)+`))`)
}

func liveJourney(t *testing.T, s *liveSite, p, other *page, v variant) {
	lt := liveTexts[v.lang.tag]
	name, sender := uniqueName(t, v, "l"), uniqueName(t, v, "g")
	s.register(t, sender)
	s.grant(t, s.userID(t, sender), 1000, sender+":grant", "welcome_grant")

	p.visit("/register")
	p.fill(byID("username"), name)
	p.fill(byID("password"), password)
	p.follow(byTestID("register-submit"), "/account")
	uid := s.userID(t, name)
	p.wantText(byTestID("header-balance"), lt.balance)
	p.wantText(byTestID("header-balance"), "¥0.00")
	if got := p.attr(byTestID("live-toasts"), "aria-live"); got != "polite" {
		p.fail("the toast region's aria-live is %q, want polite", got)
	}
	waitLive(p)
	p.markDocument()

	// A top-up credited behind the page's back: ¥68 with its 5% bonus and
	// the first top-up's ¥6.
	s.creditByReconciler(t, uid, name+"-order")
	waitToast(p, lt.topup)
	waitBalance(p, 6800+340+600)
	if eval[bool](p, `!!document.querySelector("[data-testid=zero-balance]:not([hidden])")`) {
		p.fail("the account center still says the balance is zero")
	}
	p.snap("topup-credited")

	// A gift from another person: the recipient hears of it (gift income
	// is not spendable, so the balance stays), the sender's own tab sees
	// the money leave.
	other.visit("/login")
	other.fill(byID("username"), sender)
	other.fill(byID("password"), password)
	other.follow(byTestID("login-submit"), "/account")
	waitLive(other)
	other.markDocument()
	if _, err := s.spend.SendGift(context.Background(), spend.GiftRequest{SenderID: s.userID(t, sender), To: name,
		Gift: "rose", Quantity: "3", Key: name + "-gift"}); err != nil {
		t.Fatalf("send a gift: %v", err)
	}
	waitToast(p, fmt.Sprintf(lt.gift, sender))
	waitBalance(p, 7740)
	waitBalance(other, 700)
	other.snap("gift-sent")
	if !other.sameDocument() {
		other.fail("the sender's page reloaded")
	}
	p.snap("gift-received")

	// A per-use charge from the IM backend.
	if _, err := s.spend.ChargeUser(context.Background(), spend.ChargeRequest{User: name, Amount: 50, Reason: "translation",
		Key: name + "-charge"}); err != nil {
		t.Fatalf("charge: %v", err)
	}
	waitToast(p, lt.charge)
	waitBalance(p, 7690)
	if !p.sameDocument() {
		p.fail("the page reloaded; the balance must change in place")
	}
	p.snap("charged")

	// Another page follows too: the header alone, no account center.
	p.visit("/history")
	waitLive(p)
	s.grant(t, uid, 100, name+":late", "welcome_grant")
	waitBalance(p, 7790)
}
