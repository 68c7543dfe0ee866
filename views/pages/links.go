// Package pages holds one templ component per page, with the view model
// each one takes.
package pages

import (
	"net/url"
	"strconv"
)

// withNext appends a next= parameter to path when there is one.
func withNext(path, next string) string {
	if next == "" {
		return path
	}
	return path + "?next=" + url.QueryEscape(next)
}

// nextURL links to the page after this one with the same filter.
func (v HistoryView) nextURL() string {
	q := url.Values{}
	for k, val := range map[string]string{"kind": v.Kind, "from": v.From, "to": v.To} {
		if val != "" {
			q.Set(k, val)
		}
	}
	q.Set("before", strconv.FormatInt(v.Page.Next, 10))
	return "/history?" + q.Encode()
}
