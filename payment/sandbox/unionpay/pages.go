package unionpaysandbox

import (
	"html"
	"html/template"
	"net/http"
	"sort"
	"strings"
)

// resultView is the gateway's result or error page. sim.RenderCashier
// cannot show a form without a pay button and outcome choices, so the front
// notification (a form of signed fields POSTed to frontUrl) has its own
// page, in the same style and just as clearly marked as the sandbox.
type resultView struct {
	Amount, OutTradeNo string
	OK                 bool
	Code, Msg          string
	Action             string  // frontUrl; "" for an error page
	Fields             []field // the signed front notification
}

// field is a hidden input whose value is already escaped for an attribute.
type field struct {
	Name  string
	Value template.HTML
}

// sortedFields escapes each value itself so that line ends become
// character references: raw CR LF in an attribute is read back as LF by the
// HTML parser, and signPubKeyCert's CRLF is covered by the signature.
// html/template leaves entities in an HTML-typed value alone in attributes.
func sortedFields(f map[string]string) []field {
	out := make([]field, 0, len(f))
	for k, v := range f {
		v = strings.NewReplacer("\r", "&#13;", "\n", "&#10;").Replace(html.EscapeString(v))
		out = append(out, field{Name: k, Value: template.HTML(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func renderResult(w http.ResponseWriter, status int, v resultView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = resultTmpl.Execute(w, v)
}

// errorPage is the gateway refusing a request: the ACP code and message,
// and no way back to the merchant (it proved nothing about who sent it).
func (s *Sandbox) errorPage(w http.ResponseWriter, code string) {
	s.log.Info("unionpay sandbox: request refused", "respCode", code)
	renderResult(w, http.StatusOK, resultView{Code: code, Msg: respMsg(code)})
}

var resultTmpl = template.Must(template.New("result").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>中国银联 UnionPay · 沙箱 SANDBOX</title>
<style>
body{margin:0;font-family:"PingFang SC","Noto Sans CJK SC",system-ui,sans-serif;background:#f3f4f6;color:#111827}
.bar{background:#d7000f;color:#fff;padding:14px 20px;display:flex;justify-content:space-between;align-items:center}
.badge{background:#facc15;color:#111;font-weight:700;padding:3px 8px;border-radius:4px;font-size:13px}
.box{max-width:440px;margin:24px auto;background:#fff;border-radius:12px;padding:24px;box-shadow:0 1px 3px rgba(0,0,0,.1)}
.amt{font-size:34px;font-weight:700;margin:6px 0 2px}.muted{color:#6b7280;font-size:13px;word-break:break-all}
.err{background:#fee2e2;color:#991b1b;padding:10px;border-radius:8px;margin:12px 0}.ok{background:#dcfce7;color:#166534;padding:12px;border-radius:8px;margin:12px 0}
button{margin-top:18px;width:100%;padding:12px;border:0;border-radius:8px;background:#d7000f;color:#fff;font-size:16px;cursor:pointer}
</style></head><body>
<div class="bar"><strong>中国银联 UnionPay 在线支付</strong><span class="badge" data-testid="sandbox-badge">沙箱 SANDBOX</span></div>
<div class="box">
{{if .Amount}}<div class="amt" data-testid="cashier-amount">{{.Amount}}</div><div class="muted">{{.OutTradeNo}}</div>{{end}}
{{if .OK}}<div class="ok" role="status" data-testid="cashier-message">支付成功 Payment complete</div>
{{else if .Action}}<div class="err" role="alert" data-testid="cashier-error">支付失败 Payment failed</div>
{{else}}<div class="err" role="alert" data-testid="unionpay-error">交易失败 Request refused</div>{{end}}
<p class="muted" data-testid="unionpay-respcode">respCode={{.Code}} {{.Msg}}</p>
{{if .Action}}<form method="post" action="{{.Action}}" data-testid="unionpay-front-notify">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button type="submit" data-testid="cashier-return">返回商户 Back to the merchant</button>
</form>{{end}}
</div></body></html>`))
