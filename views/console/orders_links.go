package console

import (
	"net/url"
	"strconv"

	"im2pay/recharge"
)

// The orders area's paths under /ops; handlers route the same ones.
const (
	OrdersPath      = "/ops/orders"
	OrdersCSVPath   = "/ops/orders.csv"
	MaintenancePath = "/ops/maintenance"
	PeoplePath      = "/ops/people"
)

// OrderPath is an order's page.
func OrderPath(no string) string { return OrdersPath + "/" + url.PathEscape(no) }

// RequeryPath is where an order's 补单 form posts.
func RequeryPath(no string) string { return OrderPath(no) + "/requery" }

// PersonPath is a person's page, by user id.
func PersonPath(id int64) string { return PeoplePath + "/" + strconv.FormatInt(id, 10) }

// EndSessionsPath is where a person's "end all sessions" form posts.
func EndSessionsPath(id int64) string { return PersonPath(id) + "/sessions/end" }

// Where the maintenance forms post: a switch on (or its notice changed)
// posts to MaintenancePath, one switch off to MaintenanceOffPath, and
// "all off" to MaintenanceClearAllPath.
const (
	MaintenanceOffPath      = MaintenancePath + "/off"
	MaintenanceClearAllPath = MaintenancePath + "/all-off"
)

// SearchQuery is a search as URL query parameters, with the cursor of the
// page asked for ("" for the first), for the search form's links.
func SearchQuery(q recharge.OrderQuery) url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"no": q.OutTradeNo, "provider_no": q.ProviderTradeNo, "username": q.Username,
		"state": q.State, "method": q.Method, "from": q.From, "to": q.To, "before": q.Before} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v
}

// QueryFromURL reads the search form back (the inverse of SearchQuery);
// recharge.(*Service).ParseOrderQuery checks it.
func QueryFromURL(v url.Values) recharge.OrderQuery {
	return recharge.OrderQuery{OutTradeNo: v.Get("no"), ProviderTradeNo: v.Get("provider_no"), Username: v.Get("username"),
		State: v.Get("state"), Method: v.Get("method"), From: v.Get("from"), To: v.Get("to"), Before: v.Get("before")}
}

// withQuery is path?query, or path alone when the query is empty.
func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}
