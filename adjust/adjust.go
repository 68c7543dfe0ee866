// Package adjust is support's correction of a wallet (客服调整): a credit or
// a debit with a required reason and ticket reference, posted through
// ledger.Post against the one system account "adjustments", never below
// zero. Above a threshold an adjustment waits for a second staff member's
// approval (four eyes); the database refuses the asker's own decision too.
// Every action appends its audit line in the transaction that does it.
//
// Problem codes (keys of views/i18n/catalog_money.go):
//
//	code                      field      args
//	adjust.user_unknown       user       -
//	adjust.direction          direction  -
//	adjust.amount_zero        amount     -
//	adjust.reason_empty       reason     -
//	adjust.reason_too_long    reason     MaxReason (int, %d)
//	adjust.reason_invalid     reason     -
//	adjust.ticket_empty       ticket     -
//	adjust.ticket_too_long    ticket     MaxTicket (int, %d)
//	adjust.ticket_invalid     ticket     -
//
// plus the money.* codes of wallet.ParseMoney on amount.
package adjust

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"im2pay/account"
	"im2pay/db"
	"im2pay/wallet"
)

// Direction says whether an adjustment puts money in or takes it out.
type Direction string

// The two directions.
const (
	Credit Direction = "credit"
	Debit  Direction = "debit"
)

// States of an adjustment (the adjustment_state enum).
const (
	StateRequested = "requested" // waits for a second staff member
	StateRejected  = "rejected"
	StatePosted    = "posted"
)

// Limits of the texts, as the table's CHECKs have them.
const (
	MaxReason = 200 // characters
	MaxTicket = 64
)

// DefaultApprovalAbove is OPS_APPROVAL_ABOVE's default: ¥500.00.
const DefaultApprovalAbove wallet.Money = 500_00

// SystemAccount is the code of the account every adjustment posts against.
const SystemAccount = "adjustments"

// Refusals of a decision.
var (
	// ErrAlreadyDecided: the adjustment was approved or rejected before
	// (by a concurrent approval, too).
	ErrAlreadyDecided = errors.New("adjust: adjustment already decided")
	// ErrOwnRequest: the staff member who asked cannot decide.
	ErrOwnRequest = errors.New("adjust: the requester cannot decide their own adjustment")
	// ErrNotFound: no such adjustment.
	ErrNotFound = db.ErrNotFound
)

// Shortfall refuses a debit the wallet cannot cover (now): nothing moved.
type Shortfall struct {
	Amount, Balance wallet.Money
}

// Missing is how much more the wallet would need to hold.
func (s *Shortfall) Missing() wallet.Money { return s.Amount - s.Balance }

func (s *Shortfall) Error() string {
	return fmt.Sprintf("adjust: balance %s does not cover a debit of %s", s.Balance, s.Amount)
}

// Request is an adjustment as the console's form sends it, unparsed, and
// the staff member asking.
type Request struct {
	Username  string
	Direction string
	Amount    string // yuan, as typed
	Reason    string
	Ticket    string
	StaffID   int64
	// RequestKey is the form's one-time key: a second post with it finds
	// the first post's adjustment.
	RequestKey string
}

// Adjustment is one adjustment as stored.
type Adjustment struct {
	ID            int64        `db:"id"`
	UserID        int64        `db:"user_id"`
	Username      string       `db:"username"`
	Direction     Direction    `db:"direction"`
	Amount        wallet.Money `db:"amount"`
	Reason        string       `db:"reason"`
	Ticket        string       `db:"ticket"`
	State         string       `db:"state"`
	RequestedBy   int64        `db:"requested_by"`
	RequesterName string       `db:"requester_name"`
	RequestedAt   time.Time    `db:"requested_at"`
	DecidedBy     *int64       `db:"decided_by"`
	DecidedAt     *time.Time   `db:"decided_at"`
	TransactionID *int64       `db:"transaction_id"`
}

// checked is a request that passed every check.
type checked struct {
	userID    int64
	direction Direction
	amount    wallet.Money
	reason    string
	ticket    string
	staffID   int64
	key       string
}

// check validates every field, reporting every problem at once.
func (s *Service) check(r Request, user func(string) (account.User, error)) (checked, error) {
	c := checked{staffID: r.StaffID}
	var problems []error
	if requestKey.MatchString(r.RequestKey) {
		c.key = r.RequestKey
	} else {
		problems = append(problems, wallet.NewProblem("", "adjust.form_expired"))
	}
	name := account.NormalizeUsername(r.Username)
	if u, err := user(name); err == nil {
		c.userID = u.ID
	} else if errors.Is(err, db.ErrNotFound) || account.ValidateUsername(name) != nil {
		problems = append(problems, wallet.NewProblem("user", "adjust.user_unknown"))
	} else {
		return c, err
	}
	switch d := Direction(r.Direction); d {
	case Credit, Debit:
		c.direction = d
	default:
		problems = append(problems, wallet.NewProblem("direction", "adjust.direction"))
	}
	if m, err := wallet.ParseMoney(r.Amount); err != nil {
		problems = append(problems, err)
	} else if m == 0 {
		problems = append(problems, wallet.NewProblem("amount", "adjust.amount_zero"))
	} else {
		c.amount = m
	}
	var err error
	if c.reason, err = text(r.Reason, "reason", MaxReason); err != nil {
		problems = append(problems, err)
	}
	if c.ticket, err = text(r.Ticket, "ticket", MaxTicket); err != nil {
		problems = append(problems, err)
	}
	return c, errors.Join(problems...)
}

// requestKey is a form's one-time key as the table's CHECK has it.
var requestKey = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

// hiddenLayout is a character that changes how the line around it is laid
// out without being seen: the bidirectional controls (U+202E turns
// "001 ¥" into what reads as another amount on the person's statement and
// in the audit log) and the line and paragraph separators, which break the
// one line unicode.IsControl alone lets through.
func hiddenLayout(r rune) bool {
	return unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}

// text is a required one-line text of at most maxLen characters, trimmed.
// Control characters are refused: the reason is shown to the person on
// one line, and PostgreSQL refuses NUL anyway.
func text(s, field string, maxLen int) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", wallet.NewProblem(field, "adjust."+field+"_empty")
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) || strings.ContainsFunc(s, hiddenLayout):
		return "", wallet.NewProblem(field, "adjust."+field+"_invalid")
	case utf8.RuneCountInString(s) > maxLen:
		return "", wallet.NewProblem(field, "adjust."+field+"_too_long", maxLen)
	}
	return s, nil
}
