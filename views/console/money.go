// Package console holds the bodies of the operations console's pages
// (/ops): each a component the console's layout wraps. Views get plain
// view structs, never the domain's types or the database.
package console

import "encoding/base64"

// The console's routes the adjustment and redemption pages post to. The
// console's router registers them; an id is appended where a form acts on
// one object ("/ops/adjustments/7/approve").
const (
	AdjustPath  = "/ops/adjustments"
	BatchesPath = "/ops/redeem/batches"
)

// CSVDataURL carries a CSV file inside its download link: the codes of a
// new batch exist only in the page that shows them (the database keeps
// their hashes), so the file cannot be fetched again later.
func CSVDataURL(csv []byte) string {
	return "data:text/csv;charset=utf-8;base64," + base64.StdEncoding.EncodeToString(csv)
}
