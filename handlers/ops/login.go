package ops

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"

	"im2pay/audit"
	"im2pay/staff"
	"im2pay/views/components"
	"im2pay/views/console"
	"im2pay/views/i18n"
)

// session is the request's staff session and whether there is one.
func session(c echo.Context) (staff.Session, bool) {
	sess, ok := c.Get(keySession).(staff.Session)
	return sess, ok
}

// atStage is the session when it is at one of stages; otherwise the
// caller sends the browser to where it belongs.
func atStage(c echo.Context, stages ...staff.Stage) (staff.Session, bool) {
	sess, ok := session(c)
	if !ok {
		return sess, false
	}
	for _, st := range stages {
		if sess.Stage == st {
			return sess, true
		}
	}
	return sess, false
}

// loginPage shows the login form, unless the browser is logged in: a
// half-done login may start again (the POST ends the session it had).
func (s *Server) loginPage(c echo.Context) error {
	if sess, ok := session(c); ok && sess.Stage == staff.StageFull {
		return c.Redirect(http.StatusSeeOther, "/ops")
	}
	return s.render(c, http.StatusOK, console.Login(csrfToken(c), console.LoginForm{}))
}

// login checks the name and password, and starts a session at the next
// step under a new id: whatever cookie the browser had is ended first, so
// a session id planted before the login is never the one after it.
func (s *Server) login(c echo.Context) error {
	name := staff.NormalizeName(c.FormValue("name"))
	if tok, ok := c.Get(keyToken).(string); ok {
		if err := s.d.Staff.EndSession(ctx(c), tok); err != nil {
			return err
		}
		c.Set(keySession, nil)
	}
	m, err := s.d.Staff.Login(ctx(c), name, c.FormValue("password"), c.RealIP())
	if problems, ok := components.ProblemsOf(err); ok {
		if err := s.recordAttempt(c, name, "login.failed", problems[""].Code); err != nil {
			return err
		}
		return s.render(c, refusalStatus(problems), console.Login(csrfToken(c), console.LoginForm{Name: name, Problems: problems}))
	}
	if err != nil {
		return err
	}
	stage := staff.NextStage(m)
	if err := s.startSession(c, m, stage, time.Time{}); err != nil {
		return err
	}
	s.clearCookie(c, loginCookie)
	if err := s.record(c, nil, audit.Entry{StaffID: m.ID, StaffName: m.Name, Action: "login.password", Detail: string(stage)}); err != nil {
		return err
	}
	return redirect(c, stagePath(stage))
}

// recordAttempt writes a failed step of a login; a name that is no staff
// member's is recorded under the name typed, without an id.
func (s *Server) recordAttempt(c echo.Context, name, action, detail string) error {
	var id int64
	if m, err := s.d.Staff.ByName(ctx(c), name); err == nil {
		id = m.ID
	}
	return s.record(c, nil, audit.Entry{StaffID: id, StaffName: name, Action: action, Detail: detail})
}

func (s *Server) startSession(c echo.Context, m staff.Member, stage staff.Stage, createdAt time.Time) error {
	token, sess, err := s.d.Staff.StartSession(ctx(c), m, stage, c.RealIP(), createdAt)
	if err != nil {
		return err
	}
	s.setCookie(c, sessionCookie, token)
	c.Set(keySession, sess)
	c.Set(keyToken, token)
	c.Set(keyCSRF, sess.CSRF)
	return nil
}

// advance moves the session to stage under a new id.
func (s *Server) advance(c echo.Context, stage staff.Stage) error {
	tok, _ := c.Get(keyToken).(string)
	token, sess, err := s.d.Staff.Advance(ctx(c), tok, stage, c.RealIP())
	if errors.Is(err, staff.ErrNoSession) {
		s.clearCookie(c, sessionCookie)
		return redirect(c, "/ops/login")
	}
	if err != nil {
		return err
	}
	s.setCookie(c, sessionCookie, token)
	c.Set(keySession, sess)
	c.Set(keyCSRF, sess.CSRF)
	return nil
}

func (s *Server) logout(c echo.Context) error {
	if tok, ok := c.Get(keyToken).(string); ok {
		if err := s.d.Staff.EndSession(ctx(c), tok); err != nil {
			return err
		}
		if m := s.member(c); m.ID != 0 {
			if err := s.record(c, nil, audit.Entry{Action: "logout"}); err != nil {
				return err
			}
		}
	}
	s.clearCookie(c, sessionCookie)
	return redirect(c, "/ops/login?done=ops.logged_out")
}

// passwordPage is the forced change of the one-time password, or a
// logged-in member's change.
func (s *Server) passwordPage(c echo.Context) error {
	sess, ok := atStage(c, staff.StageChangePassword, staff.StageFull)
	if !ok {
		return c.Redirect(http.StatusSeeOther, stagePath(sess.Stage))
	}
	return s.render(c, http.StatusOK, console.ChangePassword(csrfToken(c), console.PasswordForm{First: sess.Stage == staff.StageChangePassword}))
}

// changePassword replaces the password; every session of the member ends
// (the generation moves) and this browser continues under a new id: to
// the TOTP step after the first-login change, to the console otherwise.
func (s *Server) changePassword(c echo.Context) error {
	sess, ok := atStage(c, staff.StageChangePassword, staff.StageFull)
	if !ok {
		return redirect(c, stagePath(sess.Stage))
	}
	m, first := s.member(c), sess.Stage == staff.StageChangePassword
	var err error
	if !first {
		err = s.d.Staff.CheckPassword(ctx(c), m, c.FormValue("current_password"), c.RealIP())
	}
	if err == nil {
		_, err = s.d.Staff.SetPassword(ctx(c), m.ID, c.FormValue("password"))
	}
	if problems, ok := components.ProblemsOf(err); ok {
		return s.render(c, http.StatusUnprocessableEntity, console.ChangePassword(csrfToken(c), console.PasswordForm{First: first, Problems: problems}))
	}
	if err != nil {
		return err
	}
	if m, err = s.d.Staff.ByID(ctx(c), m.ID); err != nil {
		return err
	}
	next := staff.StageFull
	if first {
		next = staff.NextStage(m)
	}
	if err := s.startSession(c, m, next, sess.CreatedAt); err != nil {
		return err
	}
	if err := s.record(c, nil, audit.Entry{StaffID: m.ID, StaffName: m.Name, Action: "password.change",
		Detail: map[bool]string{true: "first login", false: ""}[first]}); err != nil {
		return err
	}
	to := stagePath(next)
	if !first {
		to += "?done=ops.password.changed"
	}
	return redirect(c, to)
}

// enrollPage shows a new TOTP secret as a QR code and as text; the secret
// stays with the session until a code confirms it.
func (s *Server) enrollPage(c echo.Context) error {
	sess, ok := atStage(c, staff.StageEnroll)
	if !ok {
		return c.Redirect(http.StatusSeeOther, stagePath(sess.Stage))
	}
	f, err := s.enrollForm(c, sess)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, console.Enroll(csrfToken(c), f))
}

func (s *Server) enrollForm(c echo.Context, sess staff.Session) (console.EnrollForm, error) {
	m := s.member(c)
	var en staff.Enrollment
	var err error
	if sess.PendingTOTP != "" {
		en, err = s.d.Staff.EnrollmentFor(m, sess.PendingTOTP)
	} else if en, err = s.d.Staff.NewEnrollment(m); err == nil {
		tok, _ := c.Get(keyToken).(string)
		err = s.d.Staff.SetPendingTOTP(ctx(c), tok, en.Secret)
	}
	if err != nil {
		return console.EnrollForm{}, err
	}
	png, err := qrcode.Encode(en.URL, qrcode.Medium, 256)
	if err != nil {
		return console.EnrollForm{}, fmt.Errorf("render TOTP QR code: %w", err)
	}
	return console.EnrollForm{QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), Secret: en.Secret}, nil
}

func (s *Server) enroll(c echo.Context) error {
	sess, ok := atStage(c, staff.StageEnroll)
	if !ok || sess.PendingTOTP == "" {
		return redirect(c, stagePath(sess.Stage))
	}
	m := s.member(c)
	err := s.d.Staff.ConfirmEnrollment(ctx(c), m, sess.PendingTOTP, strings.TrimSpace(c.FormValue("code")), c.RealIP())
	if problems, ok := components.ProblemsOf(err); ok {
		if err := s.record(c, nil, audit.Entry{Action: "totp.enroll_failed", Detail: problemCode(problems)}); err != nil {
			return err
		}
		f, ferr := s.enrollForm(c, sess)
		if ferr != nil {
			return ferr
		}
		f.Problems = problems
		return s.render(c, refusalStatus(problems), console.Enroll(csrfToken(c), f))
	}
	if err != nil {
		return err
	}
	if err := s.advance(c, staff.StageFull); err != nil || c.Response().Committed {
		return err
	}
	if err := s.record(c, nil, audit.Entry{Action: "totp.enroll"}); err != nil {
		return err
	}
	return redirect(c, "/ops")
}

func (s *Server) totpPage(c echo.Context) error {
	sess, ok := atStage(c, staff.StageTOTP)
	if !ok {
		return c.Redirect(http.StatusSeeOther, stagePath(sess.Stage))
	}
	return s.render(c, http.StatusOK, console.TOTP(csrfToken(c), nil))
}

// totp checks the code and opens the console under a new session id.
func (s *Server) totp(c echo.Context) error {
	sess, ok := atStage(c, staff.StageTOTP)
	if !ok {
		return redirect(c, stagePath(sess.Stage))
	}
	err := s.d.Staff.VerifyTOTP(ctx(c), s.member(c), strings.TrimSpace(c.FormValue("code")), c.RealIP())
	if problems, ok := components.ProblemsOf(err); ok {
		if err := s.record(c, nil, audit.Entry{Action: "login.totp_failed", Detail: problemCode(problems)}); err != nil {
			return err
		}
		return s.render(c, refusalStatus(problems), console.TOTP(csrfToken(c), problems))
	}
	if err != nil {
		return err
	}
	if err := s.advance(c, staff.StageFull); err != nil || c.Response().Committed {
		return err
	}
	if err := s.record(c, nil, audit.Entry{Action: "login"}); err != nil {
		return err
	}
	return redirect(c, "/ops")
}

// refusalStatus is 429 for a refusal of the guess limits, as users' logins
// answer, and 422 for a wrong answer.
func refusalStatus(p components.Problems) int {
	if strings.HasSuffix(problemCode(p), ".throttled") {
		return http.StatusTooManyRequests
	}
	return http.StatusUnprocessableEntity
}

func problemCode(p components.Problems) string {
	for _, v := range p {
		return v.Code
	}
	return ""
}

// switchLang sets the site's language cookie (the console reads the same
// one) and goes back to the console page it came from.
func (s *Server) switchLang(c echo.Context) error {
	lang, ok := i18n.Parse(c.FormValue("lang"))
	if !ok {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	c.SetCookie(&http.Cookie{Name: "im2pay_lang", Value: string(lang), Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: s.d.Secure, SameSite: http.SameSiteLaxMode})
	next := c.FormValue("next")
	if !strings.HasPrefix(next, "/ops") || strings.ContainsAny(next, "\\\r\n") || strings.HasPrefix(next, "//") {
		next = "/ops"
	}
	return redirect(c, next)
}

func (s *Server) dashboard(c echo.Context) error {
	return s.render(c, http.StatusOK, console.Dashboard(s.shell(c)))
}
