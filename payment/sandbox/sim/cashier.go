package sim

import (
	"html/template"
	"net/http"
)

// Input is one visible field on a cashier page.
type Input struct {
	Name, Label, Type, Placeholder, Value string
	Autocomplete                          string
}

// Hidden is one hidden field on a cashier page.
type Hidden struct{ Name, Value string }

// CashierPage is what a provider's cashier page shows. Every provider's page
// uses this frame, in its own colours, clearly marked as the sandbox.
type CashierPage struct {
	Brand      string // e.g. "支付宝 Alipay"
	Accent     string // brand colour, e.g. "#1677ff"
	Merchant   string
	Subject    string
	Amount     string // e.g. "¥68.00"
	OutTradeNo string
	Action     string // where the form posts
	Hidden     []Hidden
	Inputs     []Input
	Error      string     // shown above the form
	Message    string     // a final state ("支付成功，请返回商户"): replaces the form
	Failed     bool       // Message reports a failure (shown in red)
	CancelURL  string     // "" hides the cancel link
	TestCards  [][]string // optional table: number, outcome
	Outcomes   []Outcome  // choices; the first is preselected
	ReturnURL  string     // shown as a link next to Message when set
}

// RenderCashier writes the page.
func RenderCashier(w http.ResponseWriter, status int, p CashierPage) {
	if len(p.Outcomes) == 0 && p.Message == "" {
		p.Outcomes = Outcomes
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = cashierTmpl.Execute(w, p)
}

var cashierTmpl = template.Must(template.New("cashier").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Brand}} · 沙箱收银台 SANDBOX</title>
<style>
body{margin:0;font-family:"PingFang SC","Noto Sans CJK SC",system-ui,sans-serif;background:#f3f4f6;color:#111827}
.bar{background:{{.Accent}};color:#fff;padding:14px 20px;display:flex;justify-content:space-between;align-items:center;gap:8px;flex-wrap:wrap}
.badge{background:#facc15;color:#111;font-weight:700;padding:3px 8px;border-radius:4px;font-size:13px}
input,button{font-family:inherit}
.box{max-width:440px;margin:24px auto;width:calc(100% - 24px);box-sizing:border-box;background:#fff;border-radius:12px;padding:24px;box-shadow:0 1px 3px rgba(0,0,0,.1)}
.amt{font-size:34px;font-weight:700;margin:6px 0 2px}.muted{color:#6b7280;font-size:13px;word-break:break-all}
label{display:block;margin:14px 0 4px;font-size:14px}input[type=text],input[type=password],input[type=tel]{width:100%;box-sizing:border-box;padding:10px;border:1px solid #d1d5db;border-radius:8px;font-size:16px}
.err{background:#fee2e2;color:#991b1b;padding:10px;border-radius:8px;margin:12px 0}.ok{background:#dcfce7;color:#166534;padding:12px;border-radius:8px;margin:12px 0}
button{margin-top:18px;width:100%;padding:12px;border:0;border-radius:8px;background:{{.Accent}};color:#fff;font-size:16px;cursor:pointer}
fieldset{border:1px dashed #d1d5db;border-radius:8px;margin-top:16px;padding:8px 12px}legend{font-size:12px;color:#6b7280}
.opt{display:flex;gap:6px;align-items:center;font-size:13px;margin:4px 0}table{width:100%;font-size:12px;border-collapse:collapse;margin-top:12px}td,th{border-bottom:1px solid #e5e7eb;padding:4px;text-align:left}
a{color:{{.Accent}}}
</style></head><body>
<div class="bar"><strong>{{.Brand}}</strong><span class="badge" data-testid="sandbox-badge">沙箱 SANDBOX</span></div>
<div class="box">
<div class="muted">{{.Merchant}}</div>
<div class="amt" data-testid="cashier-amount">{{.Amount}}</div>
{{if or .Subject .OutTradeNo}}<div class="muted">{{.Subject}}{{if and .Subject .OutTradeNo}} · {{end}}{{.OutTradeNo}}</div>{{end}}
{{if .Error}}<div class="err" role="alert" data-testid="cashier-error">{{.Error}}</div>{{end}}
{{if .Message}}<div class="{{if .Failed}}err{{else}}ok{{end}}" role="status" data-testid="cashier-message">{{.Message}}</div>
{{if .ReturnURL}}<p><a href="{{.ReturnURL}}" data-testid="cashier-return">返回商户 Back to the merchant</a></p>{{end}}
{{else}}
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">{{end}}
{{range .Inputs}}<label for="f-{{.Name}}">{{.Label}}</label><input id="f-{{.Name}}" name="{{.Name}}" type="{{.Type}}" placeholder="{{.Placeholder}}" value="{{.Value}}" autocomplete="{{.Autocomplete}}">{{end}}
<fieldset><legend>沙箱结果 Sandbox outcome</legend>
{{range $i, $o := .Outcomes}}<label class="opt"><input type="radio" name="outcome" value="{{$o}}" {{if eq $i 0}}checked{{end}} data-testid="outcome-{{$o}}"> {{$o.Label}}</label>{{end}}
</fieldset>
<button type="submit" data-testid="cashier-pay">确认付款 Pay {{.Amount}}</button>
</form>
{{if .TestCards}}<table><tr><th>测试卡号 Test card</th><th>结果 Outcome</th></tr>{{range .TestCards}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>{{end}}</table>{{end}}
{{if .CancelURL}}<p class="muted"><a href="{{.CancelURL}}" data-testid="cashier-cancel">取消支付，返回商户 Cancel</a></p>{{end}}
{{end}}
</div></body></html>`))
