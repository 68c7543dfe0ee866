package ops_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"im2pay/staff"
)

var (
	batchID  = regexp.MustCompile(`data-testid="codes-shown" data-batch="(\d+)"`)
	codeItem = regexp.MustCompile(`<li data-testid="code">([0-9A-Z-]+)</li>`)
	csvLink  = regexp.MustCompile(`href="data:text/csv;charset=utf-8;base64,([A-Za-z0-9+/=]+)"`)
)

// batchForm is the batch form filled in: amount yuan a code, count codes,
// two a person, expiring in ten days by the app clock, with a request key
// of its own as each rendered form has.
func batchForm(con *console, amount, count string) url.Values {
	return url.Values{"amount": {amount}, "count": {count}, "per_person": {"2"},
		"expires": {con.clock.Now().AddDate(0, 0, 10).Format("2006-01-02")}, "note": {"spring campaign"},
		"key": {newBatchKey()}}
}

// newBatchKey is a request key as the batch form carries one.
func newBatchKey() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestAnOperatorCreatesABatchWhoseCodesAreShownOnce(t *testing.T) {
	con := newConsole(t)
	op := loginAs(t, con, staff.Operator)
	expectContains(t, op.get("/ops/redeem"), `data-testid="batch-form"`, "还没有兑换码批次。")

	res := op.post("/ops/redeem", "/ops/redeem/batches", batchForm(con, "6.66", "5"))
	expectStatus(t, res, http.StatusOK)
	expectContains(t, res, "兑换码只显示这一次", `download="redeem-batch-`)
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q on the codes page, want no-store", cc)
	}
	codes := codeItem.FindAllStringSubmatch(res.body, -1)
	if len(codes) != 5 {
		t.Fatalf("%d codes shown, want 5", len(codes))
	}
	m := csvLink.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatal("no CSV link on the codes page")
	}
	raw, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "code,") {
		t.Fatalf("CSV:\n%s", raw)
	}
	for i, c := range codes {
		if !strings.HasPrefix(lines[i+1], c[1]+",6.66,") {
			t.Fatalf("CSV line %d %q is not code %s of 6.66", i+1, lines[i+1], c[1])
		}
	}
	if con.auditLines("redeem.batch_create", op.member.Name, batchID.FindStringSubmatch(res.body)[1], "") != 1 {
		t.Fatal("no audit line for the batch")
	}

	// The codes page's address opened again, and the list: no codes.
	again := op.get("/ops/redeem/batches")
	expectRedirect(t, again, "/ops/redeem")
	list := op.get("/ops/redeem")
	expectContains(t, list, "0/5", "spring campaign")
	for _, c := range codes {
		if strings.Contains(list.body, c[1]) || strings.Contains(again.body, c[1]) {
			t.Fatal("a code is shown again")
		}
	}

	// A refused form is sent back, field by field.
	bad := op.post("/ops/redeem", "/ops/redeem/batches", url.Values{"amount": {"0"}, "count": {"0"},
		"per_person": {"1"}, "expires": {"2001-01-01"}})
	expectStatus(t, bad, http.StatusUnprocessableEntity)
	expectContains(t, bad, "金额必须大于零。", "数量须在 1 到 10000 之间。")
}

func TestOnlyOperatorsCreateOrVoidBatches(t *testing.T) {
	con := newConsole(t)
	op := loginAs(t, con, staff.Operator)
	res := op.post("/ops/redeem", "/ops/redeem/batches", batchForm(con, "1.00", "1"))
	expectStatus(t, res, http.StatusOK)
	id := batchID.FindStringSubmatch(res.body)[1]
	for _, role := range []staff.Role{staff.Finance, staff.Viewer, staff.Admin} {
		ag := loginAs(t, con, role)
		expectDenied(t, con, ag, ag.post("/ops/redeem", "/ops/redeem/batches", batchForm(con, "1.00", "1")),
			"/ops/redeem/batches")
		path := "/ops/redeem/batches/" + id + "/void"
		expectDenied(t, con, ag, ag.post("/ops/redeem", path, url.Values{}), path)
	}
	if n := strings.Count(op.get("/ops/redeem").body, `data-testid="batch"`); n != 1 {
		t.Fatalf("%d batches, want 1", n)
	}
	if strings.Contains(op.get("/ops/redeem").body, "已作废") {
		t.Fatal("a refused void voided the batch")
	}
}

func TestAVoidedBatchsCodesAreRefusedToAPerson(t *testing.T) {
	con := newConsole(t)
	op := loginAs(t, con, staff.Operator)
	p, id := person(t, con, "latecomer", 0)
	res := op.post("/ops/redeem", "/ops/redeem/batches", batchForm(con, "3.00", "2"))
	expectStatus(t, res, http.StatusOK)
	batch := batchID.FindStringSubmatch(res.body)[1]
	codes := codeItem.FindAllStringSubmatch(res.body, -1)

	// One code redeemed before the void stays redeemed.
	expectRedirect(t, p.post("/account/redeem", "/account/redeem", url.Values{"code": {codes[0][1]}}), "/account/redeem")

	// htmx posts the void (the list's hx-post): HX-Redirect to the list.
	path := "/ops/redeem/batches/" + batch + "/void"
	v := op.post("/ops/redeem", path, url.Values{}, "HX-Request", "true")
	expectStatus(t, v, http.StatusOK)
	if v.header.Get("HX-Redirect") != "/ops/redeem" {
		t.Fatalf("HX-Redirect %q, want /ops/redeem", v.header.Get("HX-Redirect"))
	}
	expectContains(t, op.get("/ops/redeem"), "已作废", "1/2")
	if con.auditLines("redeem.batch_void", op.member.Name, batch, "") != 1 {
		t.Fatal("no audit line for the void")
	}
	// A second void changes nothing and is recorded as refused.
	expectRedirect(t, op.post("/ops/redeem", path, url.Values{}), "/ops/redeem")
	if con.auditLines("redeem.batch_void_refused", op.member.Name, batch, "already voided") != 1 {
		t.Fatal("no audit line for the second void")
	}

	late := p.post("/account/redeem", "/account/redeem", url.Values{"code": {codes[1][1]}})
	expectStatus(t, late, http.StatusUnprocessableEntity)
	expectContains(t, late, "该兑换码已作废。")
	if got := con.balance(id); got != 3_00 {
		t.Fatalf("balance %d fen, want 300 (the one code redeemed before the void)", got)
	}

	// Ids that are no batch: 404, whatever their shape.
	for _, bad := range []string{"999999", "0", "-3", "x", "99999999999999999999"} {
		expectStatus(t, op.post("/ops/redeem", "/ops/redeem/batches/"+bad+"/void", url.Values{}), http.StatusNotFound)
	}
}

var (
	batchKeyField = regexp.MustCompile(`name="key" value="([A-Za-z0-9_-]{16,64})"`)
	repeatedBatch = regexp.MustCompile(`data-testid="batch-repeated" data-batch="(\d+)"`)
)

// batchesMade counts the batches and their codes in the database.
func batchesMade(t *testing.T, con *console) (batches, codes int) {
	t.Helper()
	err := con.store.DB().QueryRowContext(context.Background(),
		`SELECT (SELECT count(*) FROM redeem_batches), (SELECT count(*) FROM redeem_codes)`).Scan(&batches, &codes)
	if err != nil {
		t.Fatal(err)
	}
	return batches, codes
}

// TestABatchFormPostedAgainMakesNoSecondBatch: the codes page reloaded and
// "resubmit" answered (the browser posts the same form again), in either
// language: the batch exists, no new codes or money, none shown again.
func TestABatchFormPostedAgainMakesNoSecondBatch(t *testing.T) {
	con := newConsole(t)
	op := loginAs(t, con, staff.Operator)
	page := op.get("/ops/redeem")
	key := batchKeyField.FindStringSubmatch(page.body)
	if key == nil {
		t.Fatalf("the batch form carries no request key:\n%s", page.body)
	}
	if other := batchKeyField.FindStringSubmatch(op.get("/ops/redeem").body); other == nil || other[1] == key[1] {
		t.Fatal("two renderings of the form carry the same key")
	}
	form := batchForm(con, "5.00", "3")
	form.Set("key", key[1])
	first := op.post("/ops/redeem", "/ops/redeem/batches", form)
	expectStatus(t, first, http.StatusOK)
	id := batchID.FindStringSubmatch(first.body)[1]
	codes := codeItem.FindAllStringSubmatch(first.body, -1)

	for lang, want := range map[string][]string{
		"zh-CN": {"该批次已生成", "批次 #" + id + " 已经生成", "不会再次显示", `href="/ops/redeem"`, "返回批次列表"},
		"en":    {"This batch was already created", "batch #" + id + " was created", "not shown again", "Back to the batch list"},
	} {
		op.header.Set("Accept-Language", lang)
		again := op.post("/ops/redeem", "/ops/redeem/batches", form)
		expectStatus(t, again, http.StatusOK)
		expectContains(t, again, want...)
		if m := repeatedBatch.FindStringSubmatch(again.body); m == nil || m[1] != id {
			t.Fatalf("%s: the repeat does not name batch %s:\n%s", lang, id, again.body)
		}
		if codeItem.MatchString(again.body) || csvLink.MatchString(again.body) {
			t.Fatalf("%s: the repeat shows codes", lang)
		}
		for _, c := range codes {
			if strings.Contains(again.body, c[1]) {
				t.Fatalf("%s: code %s shown again", lang, c[1])
			}
		}
		if cc := again.header.Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("Cache-Control %q on the repeat, want no-store", cc)
		}
	}
	op.header.Set("Accept-Language", "zh-CN")
	if b, c := batchesMade(t, con); b != 1 || c != 3 {
		t.Fatalf("%d batches, %d codes after the repeats; want 1, 3", b, c)
	}
	if n := con.auditLines("redeem.batch_create_repeat", op.member.Name, id, ""); n != 2 {
		t.Fatalf("%d repeat audit lines, want 2", n)
	}
	if n := con.auditLines("redeem.batch_create", op.member.Name, "", ""); n != 1 {
		t.Fatalf("%d creation audit lines, want 1", n)
	}

	// A new form (a new key) makes a new batch.
	next := op.post("/ops/redeem", "/ops/redeem/batches", batchForm(con, "5.00", "3"))
	expectStatus(t, next, http.StatusOK)
	if batchID.FindStringSubmatch(next.body)[1] == id {
		t.Fatal("a new form's key found the old batch")
	}
	// Another operator sending the first's key makes a batch of their own.
	op2 := loginAs(t, con, staff.Operator)
	theirs := op2.post("/ops/redeem", "/ops/redeem/batches", form)
	expectStatus(t, theirs, http.StatusOK)
	if len(codeItem.FindAllStringSubmatch(theirs.body, -1)) != 3 {
		t.Fatal("another operator's post of the same key made no batch of their own")
	}
	if b, _ := batchesMade(t, con); b != 3 {
		t.Fatalf("%d batches, want 3", b)
	}
}

// TestABatchFormWithoutAValidKeyIsSentBack: a missing or hand-made key is
// the form's error (not a server error), the form comes back with a key of
// the console's making, and nothing is made.
func TestABatchFormWithoutAValidKeyIsSentBack(t *testing.T) {
	con := newConsole(t)
	op := loginAs(t, con, staff.Operator)
	for _, key := range []string{"", "short", strings.Repeat("k", 65), "with spaces inside it", "<b>bold-key-here</b>"} {
		form := batchForm(con, "1.00", "1")
		if key == "" {
			form.Del("key")
		} else {
			form.Set("key", key)
		}
		res := op.post("/ops/redeem", "/ops/redeem/batches", form)
		expectStatus(t, res, http.StatusUnprocessableEntity)
		expectContains(t, res, "表单已失效，请检查内容后重新提交。", `value="1.00"`)
		if m := batchKeyField.FindStringSubmatch(res.body); m == nil || m[1] == key {
			t.Fatalf("key %q: the form comes back without a fresh key", key)
		}
		if strings.Contains(res.body, "<b>bold") {
			t.Fatal("a posted key is rendered unescaped")
		}
	}
	op.header.Set("Accept-Language", "en")
	form := batchForm(con, "1.00", "1")
	form.Del("key")
	expectContains(t, op.post("/ops/redeem", "/ops/redeem/batches", form), "This form has expired.")
	if b, c := batchesMade(t, con); b != 0 || c != 0 {
		t.Fatalf("refused forms made %d batches, %d codes", b, c)
	}

	// A valid key on a refused form comes back as it was: nothing was made
	// under it, and the corrected form then makes the batch once.
	form = batchForm(con, "0", "1")
	bad := op.post("/ops/redeem", "/ops/redeem/batches", form)
	expectStatus(t, bad, http.StatusUnprocessableEntity)
	if m := batchKeyField.FindStringSubmatch(bad.body); m == nil || m[1] != form.Get("key") {
		t.Fatal("a refused form lost its valid key")
	}
	form.Set("amount", "1.00")
	expectStatus(t, op.post("/ops/redeem", "/ops/redeem/batches", form), http.StatusOK)
	expectContains(t, op.post("/ops/redeem", "/ops/redeem/batches", form), "This batch was already created")
}

// TestOneBatchFormPostedManyTimesAtOnceMakesOneBatch: a double click (or
// a few) arriving together.
func TestOneBatchFormPostedManyTimesAtOnceMakesOneBatch(t *testing.T) {
	con := newConsole(t)
	op := loginAs(t, con, staff.Operator)
	token := csrfField.FindStringSubmatch(op.get("/ops/redeem").body)[1]
	form := batchForm(con, "2.00", "4")
	form.Set("_csrf", token)
	const posts = 6
	type result struct {
		status int
		body   string
		err    error
	}
	results := make([]result, posts)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range posts {
		wg.Go(func() {
			<-start
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost,
				con.srv.URL+"/ops/redeem/batches", strings.NewReader(form.Encode()))
			if err != nil {
				results[i].err = err
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept-Language", "zh-CN")
			res, err := op.client.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			defer res.Body.Close()
			raw, err := io.ReadAll(res.Body)
			results[i] = result{status: res.StatusCode, body: string(raw), err: err}
		})
	}
	close(start)
	wg.Wait()
	shown, repeats := 0, 0
	for i, r := range results {
		switch {
		case r.err != nil || r.status != http.StatusOK:
			t.Fatalf("post %d: %d, %v\n%.300s", i, r.status, r.err, r.body)
		case batchID.MatchString(r.body):
			shown++
		case repeatedBatch.MatchString(r.body):
			repeats++
		}
	}
	if shown != 1 || repeats != posts-1 {
		t.Fatalf("%d posts showed codes, %d were told the batch exists; want 1 and %d", shown, repeats, posts-1)
	}
	if b, c := batchesMade(t, con); b != 1 || c != 4 {
		t.Fatalf("%d batches, %d codes; want 1, 4", b, c)
	}
	if n := con.auditLines("redeem.batch_create_repeat", op.member.Name, "", ""); n != posts-1 {
		t.Fatalf("%d repeat audit lines, want %d", n, posts-1)
	}
}
