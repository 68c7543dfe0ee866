package alipaysandbox

import "net/url"

// singleValues collapses each parameter the request carries more than once
// with one and the same value (the URL query and the form body both hold
// it) to that value, and refuses a parameter whose values differ.
//
// Alipay's official Java SDK posts the common parameters (app_id, method,
// charset, sign_type, timestamp, version, sign…) in the URL query
// (DefaultAlipayClient.getRequestUrl builds "?"+protocalMustParams+
// protocalOptParams) and the application parameters (biz_content) in the
// body, and several SDKs send charset in both (PROVIDERS.md §5 row 12; R2
// §3.5: the gateway accepts it, and gopay does the same). Alipay's gateway documentation says nothing about repeated
// parameters, so which value wins on a conflict is undocumented: the
// sandbox refuses the request rather than guess, with Alipay's generic
// invalid-parameter code, since a conflicting pair means the signed string
// is ambiguous.
func singleValues(v url.Values) *gwError {
	for k, vs := range v {
		for _, x := range vs[1:] {
			if x != vs[0] {
				return invalid("isv.invalid-parameter", "参数重复且取值不一致: "+k)
			}
		}
		if len(vs) > 1 {
			v[k] = vs[:1]
		}
	}
	return nil
}
