package ops

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"im2pay/audit"
	"im2pay/db"
	"im2pay/redeem"
	"im2pay/staff"
	"im2pay/views/components"
	"im2pay/views/console"
	"im2pay/views/i18n"
)

// redeemRoutes are the redemption code batches: create (the codes shown
// once), list, void.
func (s *Server) redeemRoutes(g *echo.Group) {
	g.GET("/redeem", s.redeemBatches, need(staff.View))
	// The codes page answers a POST only; its address opened again (a
	// reload, a bookmark, the history) lands on the list, without codes.
	g.GET("/redeem/batches", s.toBatches, need(staff.View))
	g.POST("/redeem/batches", s.createBatch, need(staff.IssueCodes))
	g.POST("/redeem/batches/:id/void", s.voidBatch, need(staff.IssueCodes))
}

// batchesShown is how many batches the list shows, newest first.
const batchesShown = 100

// defaultExpiry is the batch form's suggested lifetime of a code.
const defaultExpiryDays = 30

func (s *Server) redeemBatches(c echo.Context) error {
	f := console.BatchFormView{PerPerson: "1", Key: formKey(),
		Expires: s.d.Now().In(i18n.Location(ctx(c))).AddDate(0, 0, defaultExpiryDays).Format("2006-01-02")}
	return s.redeemPage(c, http.StatusOK, f)
}

func (s *Server) toBatches(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, "/ops/redeem")
}

// redeemPage renders the batch form as f has it and the batches.
func (s *Server) redeemPage(c echo.Context, status int, f console.BatchFormView) error {
	batches, err := s.d.Redeem.Batches(ctx(c), batchesShown)
	if err != nil {
		return err
	}
	views := make([]console.BatchView, 0, len(batches))
	for _, b := range batches {
		views = append(views, s.batchView(b))
	}
	return s.render(c, status, console.RedeemPage(csrfToken(c), f, views))
}

func (s *Server) batchView(b redeem.Batch) console.BatchView {
	return console.BatchView{ID: b.ID, Amount: b.Amount, Count: b.Count, Redeemed: b.Redeemed, PerPerson: b.PerPerson,
		ExpiresAt: b.ExpiresAt, Note: b.Note, CreatorName: b.CreatorName, CreatedAt: b.CreatedAt,
		Voided: b.VoidedAt != nil, Expired: !b.ExpiresAt.After(s.d.Now())}
}

// createBatch makes a batch and shows its codes this once, with their CSV
// inside the download link: the database keeps only their hashes, and the
// answer is not to be stored by the browser or anything between. The form's
// request key posted again (a reload's resubmit, a double click) makes
// nothing: the answer says the batch exists, without its codes.
func (s *Server) createBatch(c echo.Context) error {
	f := console.BatchFormView{Amount: c.FormValue("amount"), Count: c.FormValue("count"),
		PerPerson: c.FormValue("per_person"), Expires: c.FormValue("expires"), Note: c.FormValue("note"),
		Key: c.FormValue("key")}
	created, err := s.d.Redeem.CreateBatch(ctx(c), redeem.BatchRequest{Amount: f.Amount, Count: f.Count,
		PerPerson: f.PerPerson, Expires: f.Expires, Note: f.Note, StaffID: s.member(c).ID, Key: f.Key},
		i18n.Location(ctx(c)), s.entry(c))
	if errors.Is(err, redeem.ErrRepeated) {
		if err := s.record(c, nil, audit.Entry{Action: "redeem.batch_create_repeat", ObjectKind: "redeem_batch",
			ObjectID: strconv.FormatInt(created.Batch.ID, 10), Detail: "request key already used"}); err != nil {
			return err
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return s.render(c, http.StatusOK, console.BatchRepeated(s.batchView(created.Batch)))
	}
	if err != nil {
		var ok bool
		if f.Problems, ok = components.ProblemsOf(err); !ok {
			return err
		}
		// Nothing was made under the key: the corrected form may keep it,
		// unless it is not one the form makes.
		if p := f.Problems[""]; p != nil && p.Code == "redeem.batch.key_invalid" {
			f.Key = formKey()
		}
		return s.redeemPage(c, http.StatusUnprocessableEntity, f)
	}
	var csv bytes.Buffer
	if err := redeem.WriteCSV(&csv, created); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	id := strconv.FormatInt(created.Batch.ID, 10)
	return s.render(c, http.StatusOK, console.CodesShown(console.CodesShownView{Batch: s.batchView(created.Batch),
		Codes: created.Codes, CSVURL: console.CSVDataURL(csv.Bytes()), CSVName: "redeem-batch-" + id + ".csv"}))
}

// voidBatch withdraws a batch's unredeemed codes. An id that is no batch
// is 404; a batch voided before is left as it is (and the try recorded).
func (s *Server) voidBatch(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	_, err = s.d.Redeem.Void(ctx(c), id, s.member(c).ID, s.entry(c))
	switch {
	case errors.Is(err, redeem.ErrAlreadyVoided):
		if err := s.record(c, nil, audit.Entry{Action: "redeem.batch_void_refused", ObjectKind: "redeem_batch",
			ObjectID: strconv.FormatInt(id, 10), Detail: "already voided"}); err != nil {
			return err
		}
	case errors.Is(err, db.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound)
	case err != nil:
		return err
	}
	return redirect(c, "/ops/redeem")
}
