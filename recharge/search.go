package recharge

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"time"

	"im2pay/payment"
	"im2pay/problem"
	"im2pay/wallet"
)

// SearchPageSize is how many orders one page of the staff search shows.
const SearchPageSize = 50

// exportPageSize is how many orders an export reads per query: memory
// stays that of one page however long the file.
const exportPageSize = 500

// OrderQuery is the staff search form as typed; every field may be empty.
type OrderQuery struct {
	OutTradeNo, ProviderTradeNo, Username, State, Method string
	From, To                                             string // dates, YYYY-MM-DD, in the app's zone
	Before                                               string // the cursor of the next page
}

// OrderFilter is an OrderQuery checked and parsed. Zero fields do not
// filter.
type OrderFilter struct {
	OutTradeNo      string
	ProviderTradeNo string
	Username        string
	State           string
	Method          string
	// From and To are midnights in the app's zone; To is inclusive of its
	// whole day.
	From, To time.Time
	// Before is the keyset cursor: orders with a smaller id (0: newest).
	Before int64
}

// FoundOrder is one order in the search, with its owner's name.
type FoundOrder struct {
	Order
	Username string `db:"username"`
}

// OrderPage is one page of the search; Next is the cursor of the next
// page (0: no more).
type OrderPage struct {
	Orders []FoundOrder
	Next   int64
}

// OrderStates lists every order state, in the order a search form offers them.
var OrderStates = []string{OrderAwaiting, OrderProcessing, OrderPaid, OrderFailed, OrderCancelled, OrderClosed}

// searchDateLayout is how dates travel in the search form and its links.
const searchDateLayout = "2006-01-02"

// ParseOrderQuery checks a staff search. A malformed field is refused with
// a Problem naming it, never silently dropped: a filter that was not
// applied must not read as "nothing found". Nothing unchecked reaches SQL
// (a NUL byte or invalid UTF-8 would be a 500, not an empty result).
func (s *Service) ParseOrderQuery(q OrderQuery) (OrderFilter, error) {
	var f OrderFilter
	if q.OutTradeNo != "" {
		if !validTradeNo(q.OutTradeNo) {
			return f, problem.New("no", "ops.orders.err.no")
		}
		f.OutTradeNo = q.OutTradeNo
	}
	if q.ProviderTradeNo != "" {
		if !printableASCII(q.ProviderTradeNo, 64) {
			return f, problem.New("provider_no", "ops.orders.err.provider_no")
		}
		f.ProviderTradeNo = q.ProviderTradeNo
	}
	if q.Username != "" {
		if !printableASCII(q.Username, 32) {
			return f, problem.New("username", "ops.orders.err.username")
		}
		f.Username = q.Username
	}
	if q.State != "" {
		if !slices.Contains(OrderStates, q.State) {
			return f, problem.New("state", "ops.orders.err.state")
		}
		f.State = q.State
	}
	if q.Method != "" {
		if !slices.Contains(payment.Methods, payment.Method(q.Method)) {
			return f, problem.New("method", "ops.orders.err.method")
		}
		f.Method = q.Method
	}
	var err error
	if f.From, err = s.parseSearchDate(q.From, "from"); err != nil {
		return f, err
	}
	if f.To, err = s.parseSearchDate(q.To, "to"); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return f, problem.New("to", "ops.orders.err.range")
	}
	if q.Before != "" {
		// One spelling per cursor, as the history page's.
		n, err := strconv.ParseInt(q.Before, 10, 64)
		if err != nil || n <= 0 || strconv.FormatInt(n, 10) != q.Before {
			return f, problem.New("", "ops.orders.err.cursor")
		}
		f.Before = n
	}
	return f, nil
}

func (s *Service) parseSearchDate(v, field string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(searchDateLayout, v, s.loc)
	if err != nil || t.Year() < 2000 || t.Year() > 9999 {
		return time.Time{}, problem.New(field, "ops.orders.err.date")
	}
	return t, nil
}

// printableASCII is 1..max visible ASCII characters: every provider's trade
// number and every username is.
func printableASCII(v string, max int) bool {
	if len(v) == 0 || len(v) > max {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// Query is f as the search form's fields, for the links of the next page
// and of the export (without the cursor).
func (f OrderFilter) Query() OrderQuery {
	q := OrderQuery{OutTradeNo: f.OutTradeNo, ProviderTradeNo: f.ProviderTradeNo, Username: f.Username,
		State: f.State, Method: f.Method}
	if !f.From.IsZero() {
		q.From = f.From.Format(searchDateLayout)
	}
	if !f.To.IsZero() {
		q.To = f.To.Format(searchDateLayout)
	}
	return q
}

// SearchOrders is one page of the staff search, newest first.
func (s *Service) SearchOrders(ctx context.Context, f OrderFilter) (OrderPage, error) {
	rows, err := s.searchOrders(ctx, f, SearchPageSize+1)
	if err != nil {
		return OrderPage{}, err
	}
	// One extra row tells whether another page exists without a count.
	p := OrderPage{Orders: rows}
	if len(rows) > SearchPageSize {
		p.Orders = rows[:SearchPageSize]
		p.Next = p.Orders[SearchPageSize-1].ID
	}
	return p, nil
}

// AllOrders yields every order f selects, newest first, page by page, so an
// export of any size streams. f.Before is where it starts (0: the newest).
// A failure is yielded once, as the last pair.
func (s *Service) AllOrders(ctx context.Context, f OrderFilter) iter.Seq2[FoundOrder, error] {
	return s.allOrders(ctx, f, exportPageSize)
}

// allOrders is AllOrders reading pageSize orders per query.
func (s *Service) allOrders(ctx context.Context, f OrderFilter, pageSize int) iter.Seq2[FoundOrder, error] {
	return func(yield func(FoundOrder, error) bool) {
		for {
			rows, err := s.searchOrders(ctx, f, pageSize)
			if err != nil {
				yield(FoundOrder{}, err)
				return
			}
			for _, r := range rows {
				if !yield(r, nil) {
					return
				}
			}
			if len(rows) < pageSize {
				return
			}
			f.Before = rows[len(rows)-1].ID
		}
	}
}

// OrderCSVColumns are the catalog keys of the export's header row, in
// column order: the caller translates them for the reader.
var OrderCSVColumns = []string{
	"ops.orders.csv.no", "ops.orders.csv.created", "ops.orders.csv.username", "ops.orders.csv.method", "ops.orders.csv.amount",
	"ops.orders.csv.tier_bonus", "ops.orders.csv.first_bonus", "ops.orders.csv.state", "ops.orders.csv.fail_reason",
	"ops.orders.csv.provider_no", "ops.orders.csv.paid",
}

// WriteOrdersCSV writes header, then every order f selects as one CSV line,
// newest first, flushing after each page read: nothing holds the whole
// result. Times are in the app's zone, amounts plain yuan ("68.00"), states
// and methods their codes. A failure midway is returned after what was
// written: the caller must then break the download rather than end it
// cleanly, so a short file never passes for a whole one.
func (s *Service) WriteOrdersCSV(ctx context.Context, w io.Writer, f OrderFilter, header []string) error {
	return s.writeOrdersCSV(ctx, w, f, header, exportPageSize)
}

// writeOrdersCSV is WriteOrdersCSV reading pageSize orders per query.
func (s *Service) writeOrdersCSV(ctx context.Context, w io.Writer, f OrderFilter, header []string, pageSize int) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("orders csv: %w", err)
	}
	n := 0
	for o, err := range s.allOrders(ctx, f, pageSize) {
		if err != nil {
			cw.Flush()
			return fmt.Errorf("orders csv after %d lines: %w", n, err)
		}
		if err := cw.Write(s.csvLine(o)); err != nil {
			return fmt.Errorf("orders csv: %w", err)
		}
		if n++; n%pageSize == 0 {
			if cw.Flush(); cw.Error() != nil {
				return fmt.Errorf("orders csv: %w", cw.Error())
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("orders csv: %w", err)
	}
	return nil
}

func (s *Service) csvLine(o FoundOrder) []string {
	paid := ""
	if o.PaidAt.Valid {
		paid = o.PaidAt.Time.In(s.loc).Format(time.DateTime)
	}
	return []string{
		o.OutTradeNo, o.CreatedAt.In(s.loc).Format(time.DateTime), csvText(o.Username), o.Method,
		wallet.Money(o.Amount).Yuan(), wallet.Money(o.TierBonus).Yuan(), wallet.Money(o.FirstBonus).Yuan(),
		o.State, csvText(o.FailReason), csvText(o.ProviderTradeNo.String), paid,
	}
}

// csvText keeps a text cell from running as a formula: a spreadsheet
// evaluates a cell starting with = + - or @ (some skip a leading tab or
// carriage return first). A provider's trade number comes from outside.
func csvText(v string) string {
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r') {
		return "'" + v
	}
	return v
}
