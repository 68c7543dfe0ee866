package ops_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"im2pay/account"
	"im2pay/db"
	"im2pay/handlers"
	"im2pay/handlers/ops"
	"im2pay/payment"
	"im2pay/payment/sandbox/sandboxtest"
	"im2pay/payment/sandbox/sim"
	"im2pay/people"
	"im2pay/recharge"
	"im2pay/staff"
)

// nowhere is where the sandbox sends notifications: nobody listens, so
// every one is lost, as in the 补单 case.
const nowhere = "http://127.0.0.1:9"

// payConsole is the console whose recharge service talks to the sandbox
// gateway, and that service, to make orders with.
func payConsole(t *testing.T) (*console, *recharge.Service, *sandboxtest.Gateway) {
	t.Helper()
	gw := sandboxtest.Start(t, nowhere)
	var pay *recharge.Service
	con := newConsole(t, func(_ *handlers.Config, d *ops.Deps) {
		store := db.New(d.DB)
		pay = recharge.NewService(store, recharge.Options{Providers: gw.Providers, BaseURL: nowhere,
			Location: time.UTC, Logger: d.Logger})
		d.Recharge = pay
		d.People = people.New(store, people.Options{Recharge: pay, Location: time.UTC})
	})
	return con, pay, gw
}

// registered is a new person with a wallet.
func registered(t *testing.T, con *console, name string) account.User {
	t.Helper()
	u, err := con.accounts.Register(context.Background(), name, "a good long passphrase 7", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// startOrder creates an order and opens the provider's cashier, as the
// person's browser does (Alipay knows a payment only from then on).
func startOrder(t *testing.T, pay *recharge.Service, userID int64, method, amount, key string) recharge.Order {
	t.Helper()
	ctx := context.Background()
	o, err := pay.CreateOrder(ctx, recharge.NewOrder{UserID: userID, Method: method, Amount: amount,
		Device: payment.Desktop, RequestKey: key})
	if err != nil {
		t.Fatal(err)
	}
	next, err := pay.Pay(ctx, o, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	plain := &http.Client{Timeout: 2 * time.Minute}
	var res *http.Response
	switch {
	case next.RedirectURL != "":
		res, err = plain.Get(next.RedirectURL)
	case next.Form != nil:
		form := url.Values{}
		for _, f := range next.Form.Fields {
			form.Add(f.Name, f.Value)
		}
		res, err = plain.PostForm(next.Form.Action, form)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res != nil {
		res.Body.Close()
	}
	if o, err = pay.OrderByNo(ctx, o.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	return o
}

// lostPaid is an order the person paid at the sandbox whose notification
// never arrived: still awaiting here.
func lostPaid(t *testing.T, pay *recharge.Service, gw *sandboxtest.Gateway, userID int64, key string) recharge.Order {
	t.Helper()
	o := startOrder(t, pay, userID, "alipay", "68.00", key)
	if _, err := gw.Simulate(context.Background(), o.OutTradeNo, sim.DropNotify); err != nil {
		t.Fatal(err)
	}
	return o
}

// balance is the person's wallet balance in fen.
func balance(t *testing.T, con *console, u account.User) int64 {
	t.Helper()
	var b int64
	if err := con.store.DB().GetContext(context.Background(), &b, `SELECT balance FROM accounts WHERE id = $1`, u.WalletID); err != nil {
		t.Fatal(err)
	}
	return b
}

func rowOf(no string) string { return `data-testid="ops-order-row" data-order="` + no + `"` }

func TestAnOperatorsRequeryCreditsALostNotificationOnceAndASecondMovesNothing(t *testing.T) {
	con, pay, gw := payConsole(t)
	u := registered(t, con, "lost_notify")
	o := lostPaid(t, pay, gw, u.ID, "ops-requery-key-00001")
	op := loginAs(t, con, staff.Operator)
	page := "/ops/orders/" + o.OutTradeNo
	before := balance(t, con, u)

	// Through htmx: the answer partial alone.
	a := op.post(page, page+"/requery", url.Values{}, "HX-Request", "true")
	expectStatus(t, a, http.StatusOK)
	expectContains(t, a, `data-testid="ops-order-answer" data-said="paid"`, "已付款，已入账")
	if strings.Contains(a.body, "<html") {
		t.Fatal("the htmx answer carries the whole page")
	}
	// ¥68.00, its 5% tier bonus and the first top-up's ¥6.00, once.
	if got := balance(t, con, u) - before; got != 68_00+3_40+6_00 {
		t.Fatalf("补单 credited %d fen, want 7740", got)
	}
	got, err := pay.OrderByNo(context.Background(), o.OutTradeNo)
	if err != nil || got.State != recharge.OrderPaid {
		t.Fatalf("order after 补单: %s %v", got.State, err)
	}

	// A second 补单, as a plain form: the whole page, nothing moved.
	a = op.post(page, page+"/requery", url.Values{})
	expectStatus(t, a, http.StatusOK)
	expectContains(t, a, `data-said="already_paid"`, "此前已入账，本次未再入账", `data-testid="ops-order-credited"><span class="money" data-fen="7740">¥77.40<`)
	if got := balance(t, con, u) - before; got != 77_40 {
		t.Fatalf("after a second 补单 the balance moved by %d fen, want 7740 in all", got)
	}

	lines := auditLines(t, con, "order.requery")
	if len(lines) != 2 {
		t.Fatalf("%d requery lines, want 2", len(lines))
	}
	first := lines[1]
	var b struct {
		State string `json:"state"`
	}
	var af struct {
		Order struct {
			State    string `json:"state"`
			Credited int64  `json:"credited_fen"`
		} `json:"order"`
		Provider struct {
			Said   string `json:"said"`
			Status string `json:"provider_status"`
		} `json:"provider"`
	}
	if json.Unmarshal(first.Before, &b) != nil || json.Unmarshal(first.After, &af) != nil {
		t.Fatalf("requery line: %s → %s", first.Before, first.After)
	}
	if first.StaffName != op.member.Name || first.ObjectID != o.OutTradeNo || b.State != recharge.OrderAwaiting ||
		af.Order.State != recharge.OrderPaid || af.Order.Credited != 77_40 || af.Provider.Said != "paid" || af.Provider.Status == "" {
		t.Fatalf("requery line: %+v before %s after %s", first, first.Before, first.After)
	}
}

func TestTheOrderPageShowsTheProviderTimelineAndIsAudited(t *testing.T) {
	con, pay, gw := payConsole(t)
	u := registered(t, con, "timeline_person")
	o := lostPaid(t, pay, gw, u.ID, "ops-timeline-key-0001")
	other := startOrder(t, pay, u.ID, "wechat", "30.00", "ops-timeline-key-0002")
	op := loginAs(t, con, staff.Operator)
	op.post("/ops/orders/"+o.OutTradeNo, "/ops/orders/"+o.OutTradeNo+"/requery", url.Values{})

	en := loginAs(t, con, staff.Viewer)
	en.header.Set("Accept-Language", "en")
	a := en.get("/ops/orders/" + o.OutTradeNo)
	expectStatus(t, a, http.StatusOK)
	expectContains(t, a, `data-testid="ops-order-no">`+o.OutTradeNo, "Provider timeline",
		`data-testid="ops-order-event" data-kind="start" data-verified="true"`,
		`data-testid="ops-order-event" data-kind="complete" data-verified="true"`,
		`data-testid="ops-order-state" data-to="paid"`, `data-testid="ops-order-transaction"`,
		`href="/ops/people/`+itoa(int(u.ID))+`"`, `href="/ops/orders/`+other.OutTradeNo+`"`)
	// A viewer sees no 补单 button.
	if strings.Contains(a.body, "ops-order-requery-button") {
		t.Fatal("a viewer is offered 补单")
	}
	lines := auditLines(t, con, "order.view")
	if len(lines) == 0 || lines[0].StaffName != en.member.Name || lines[0].ObjectID != o.OutTradeNo {
		t.Fatalf("no order.view line of %s: %+v", en.member.Name, lines)
	}
}

func TestOrderSearchByEachFilterThroughThePage(t *testing.T) {
	con, pay, gw := payConsole(t)
	alice := registered(t, con, "search_alice")
	bob := registered(t, con, "search_bob")
	paid := lostPaid(t, pay, gw, alice.ID, "ops-search-key-00001")
	waiting := startOrder(t, pay, bob.ID, "wechat", "30.00", "ops-search-key-00002")
	op := loginAs(t, con, staff.Operator)
	op.post("/ops/orders/"+paid.OutTradeNo, "/ops/orders/"+paid.OutTradeNo+"/requery", url.Values{})
	paid, _ = pay.OrderByNo(context.Background(), paid.OutTradeNo)
	if !paid.ProviderTradeNo.Valid {
		t.Fatal("the paid order has no provider trade number")
	}
	day := paid.CreatedAt.In(time.UTC).Format("2006-01-02")
	yesterday := paid.CreatedAt.In(time.UTC).AddDate(0, 0, -1).Format("2006-01-02")

	v := loginAs(t, con, staff.Viewer)
	for _, c := range []struct {
		name      string
		query     string
		found     []string
		notFound  []string
		wantCount int
	}{
		{"by order number", "no=" + paid.OutTradeNo, []string{paid.OutTradeNo}, []string{waiting.OutTradeNo}, 1},
		{"by provider trade number", "provider_no=" + url.QueryEscape(paid.ProviderTradeNo.String), []string{paid.OutTradeNo}, []string{waiting.OutTradeNo}, 1},
		{"by username", "username=search_bob", []string{waiting.OutTradeNo}, []string{paid.OutTradeNo}, 1},
		{"by state", "state=paid", []string{paid.OutTradeNo}, []string{waiting.OutTradeNo}, 1},
		{"by method", "method=wechat", []string{waiting.OutTradeNo}, []string{paid.OutTradeNo}, 1},
		{"by date range", "from=" + day + "&to=" + day, []string{paid.OutTradeNo, waiting.OutTradeNo}, nil, 2},
		{"by a range before the orders", "from=" + yesterday + "&to=" + yesterday, nil, []string{paid.OutTradeNo, waiting.OutTradeNo}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := v.get("/ops/orders?" + c.query)
			expectStatus(t, a, http.StatusOK)
			for _, no := range c.found {
				expectContains(t, a, rowOf(no))
			}
			for _, no := range c.notFound {
				if strings.Contains(a.body, rowOf(no)) {
					t.Fatalf("%s found %s", c.query, no)
				}
			}
			if n := strings.Count(a.body, `data-testid="ops-order-row"`); n != c.wantCount {
				t.Fatalf("%s: %d rows, want %d", c.query, n, c.wantCount)
			}
		})
	}
	// htmx gets the results alone, to swap in.
	a := v.get("/ops/orders?state=paid", "HX-Request", "true")
	expectContains(t, a, `id="ops-orders-results"`, rowOf(paid.OutTradeNo))
	if strings.Contains(a.body, `data-testid="ops-orders-form"`) {
		t.Fatal("the htmx answer carries the form")
	}
	lines := auditLines(t, con, "order.search")
	if len(lines) == 0 || lines[0].Detail != "state=paid" || lines[0].StaffName != v.member.Name {
		t.Fatalf("search line: %+v", lines)
	}
}

func TestABadSearchIsTheFormWithTheFieldsMessageInTheStaffsLanguage(t *testing.T) {
	con, _, _ := payConsole(t)
	zh := loginAs(t, con, staff.Viewer)
	en := loginAs(t, con, staff.Viewer)
	en.header.Set("Accept-Language", "en")
	for _, c := range []struct{ query, zh, en string }{
		{"from=2026-13-01", "日期格式应为 YYYY-MM-DD。", "Dates are YYYY-MM-DD."},
		{"state=lost", "未知的订单状态。", "Unknown order state."},
		{"method=cash", "未知的支付方式。", "Unknown payment method."},
		{"no=short", "订单号格式不正确", "An order number is 16–32 letters or digits."},
		{"username=a%20b", "用户名格式不正确。", "That is not a username."},
		{"from=2026-02-02&to=2026-02-01", "截止日期早于起始日期。", "The end date is before the start date."},
		{"state=paid&before=-1", "翻页链接无效", "That page link is not valid"},
	} {
		a := zh.get("/ops/orders?" + c.query)
		expectStatus(t, a, http.StatusUnprocessableEntity)
		expectContains(t, a, c.zh, `data-testid="ops-orders-form"`)
		a = en.get("/ops/orders?"+c.query, "HX-Request", "true")
		expectStatus(t, a, http.StatusUnprocessableEntity)
		expectContains(t, a, c.en, `data-testid="ops-orders-form"`)
		// The export has no pages: it ignores the cursor.
		if !strings.Contains(c.query, "before=") {
			expectStatus(t, zh.get("/ops/orders.csv?"+c.query), http.StatusUnprocessableEntity)
		}
	}
	// A NUL byte or invalid UTF-8 is refused by the site before the console.
	for _, q := range []string{"no=%00%ff", "username=a%00b"} {
		expectStatus(t, zh.get("/ops/orders?"+q), http.StatusBadRequest)
	}
}

func TestTheOrdersCSVHasTheHeaderAndEveryOrderFound(t *testing.T) {
	con, pay, gw := payConsole(t)
	u := registered(t, con, "csv_person")
	paid := lostPaid(t, pay, gw, u.ID, "ops-csv-key-000000001")
	waiting := startOrder(t, pay, u.ID, "wechat", "30.00", "ops-csv-key-000000002")
	v := loginAs(t, con, staff.Viewer)
	a := v.get("/ops/orders.csv?username=csv_person")
	expectStatus(t, a, http.StatusOK)
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("content type %q", ct)
	}
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(a.body, "\uFEFF")), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "订单号,创建时间（北京时间）,用户名,支付方式,金额（元）") {
		t.Fatalf("csv:\n%s", a.body)
	}
	// Newest first.
	if !strings.HasPrefix(lines[1], waiting.OutTradeNo+",") || !strings.HasPrefix(lines[2], paid.OutTradeNo+",") ||
		!strings.Contains(lines[2], ",csv_person,alipay,68.00,") {
		t.Fatalf("csv rows:\n%s", a.body)
	}
	en := loginAs(t, con, staff.Viewer)
	en.header.Set("Accept-Language", "en")
	if a := en.get("/ops/orders.csv?state=awaiting"); !strings.Contains(a.body, "Order number,Created (Beijing time),Username") {
		t.Fatalf("English csv:\n%s", a.body)
	}
	ex := auditLines(t, con, "order.export")
	if len(ex) != 2 || ex[1].Detail != "username=csv_person" || ex[1].StaffName != v.member.Name {
		t.Fatalf("export lines: %+v", ex)
	}
}

func TestATamperedOrderNumberIsTheConsoles404(t *testing.T) {
	con, _, _ := payConsole(t)
	op := loginAs(t, con, staff.Operator)
	token := csrfField.FindStringSubmatch(op.get("/ops").body)[1]
	// A NUL byte or invalid UTF-8 is refused by the site before the
	// console (400): never a 500.
	if a := op.get("/ops/orders/%00%ff"); a.status != http.StatusBadRequest {
		t.Fatalf("a NUL in the order number: %d", a.status)
	}
	for _, no := range []string{"NOSUCHORDER000000000", "x", "..%2F..%2Fetc", strings.Repeat("9", 200), "'%20OR%201=1--"} {
		a := op.get("/ops/orders/" + no)
		expectStatus(t, a, http.StatusNotFound)
		expectContains(t, a, `data-testid="ops-not-found"`)
		a = op.do(http.MethodPost, "/ops/orders/"+no+"/requery", url.Values{"_csrf": {token}})
		expectStatus(t, a, http.StatusNotFound)
	}
	if n := len(auditLines(t, con, "order.requery")); n != 0 {
		t.Fatalf("%d requery lines for orders that do not exist", n)
	}
}

func TestViewersAndFinanceAreRefusedRequeryAndMaintenance(t *testing.T) {
	con, pay, gw := payConsole(t)
	u := registered(t, con, "refused_requery")
	o := lostPaid(t, pay, gw, u.ID, "ops-refused-key-00001")
	before := balance(t, con, u)
	for _, role := range []staff.Role{staff.Viewer, staff.Finance} {
		ag := loginAs(t, con, role)
		page := "/ops/orders/" + o.OutTradeNo
		for _, try := range []struct{ from, to string }{
			{page, page + "/requery"},
			{"/ops/maintenance", "/ops/maintenance"},
			{"/ops/maintenance", "/ops/maintenance/off"},
			{"/ops/maintenance", "/ops/maintenance/all-off"},
		} {
			a := ag.post(try.from, try.to, url.Values{"method": {"alipay"}, "message": {"关"}})
			expectStatus(t, a, http.StatusForbidden)
			expectContains(t, a, `data-testid="ops-forbidden"`)
		}
		if n := countActions(auditActions(t, con, ag.member.Name), "denied"); n != 4 {
			t.Fatalf("%s: %d denied lines, want 4", role, n)
		}
	}
	if got, _ := pay.OrderByNo(context.Background(), o.OutTradeNo); got.State != recharge.OrderAwaiting || balance(t, con, u) != before {
		t.Fatalf("a refused 补单 moved something: %s", got.State)
	}
	if ms, _ := pay.Maintenances(context.Background()); len(ms) != 0 {
		t.Fatalf("a refused switch is on: %+v", ms)
	}
}

func countActions(actions []string, a string) int {
	n := 0
	for _, x := range actions {
		if x == a {
			n++
		}
	}
	return n
}
