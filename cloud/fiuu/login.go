package fiuu

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vinr/cashlessd/cloud/accounts"
	"github.com/vinr/cashlessd/cloud/auth"
)

// TimeLayout is how cloudECR writes expiresAt: YYYY-MM-DDTHH:mm:ss.SSS±HH:mm.
const TimeLayout = "2006-01-02T15:04:05.000-07:00"

type tokenAnswer struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expiresAt"`
}

// TokensAnswer is the body of login and refresh.
type TokensAnswer struct {
	Access  tokenAnswer `json:"access"`
	Refresh tokenAnswer `json:"refresh"`
}

func tokens(i auth.Issued) TokensAnswer {
	return TokensAnswer{
		Access:  tokenAnswer{Token: i.Access, ExpiresAt: i.AccessExpiresAt.UTC().Format(TimeLayout)},
		Refresh: tokenAnswer{Token: i.Refresh, ExpiresAt: i.RefreshExpiresAt.UTC().Format(TimeLayout)},
	}
}

const maxLoginBody = 4 << 10

// readLogin takes posId and password from a JSON or form-encoded body.
func readLogin(c echo.Context) (posID, password string, err error) {
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, maxLoginBody+1))
	if err != nil || len(b) > maxLoginBody {
		return "", "", errors.New("body too large or unreadable")
	}
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if strings.HasPrefix(ct, echo.MIMEApplicationForm) {
		v, err := url.ParseQuery(string(b))
		if err != nil {
			return "", "", err
		}
		return v.Get("posId"), v.Get("password"), nil
	}
	var body struct {
		PosID    string `json:"posId"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return "", "", err
	}
	return body.PosID, body.Password, nil
}

func (a *API) login(c echo.Context) error {
	ctx := c.Request().Context()
	posID, password, err := readLogin(c)
	if err != nil || posID == "" || password == "" {
		return fail(c, 40031, "posId and password are required (JSON or form-encoded).")
	}
	client := c.RealIP()
	if locked, err := a.lockout.Locked(ctx, posID, client); err != nil {
		return fail(c, 50010, "The relay cannot log in right now.")
	} else if locked {
		a.audit(ctx, c, "login", posID, "", "locked", "")
		return fail(c, 42930, "Too many failed logins from this client; try again later.")
	}
	p, err := a.accounts.Login(ctx, posID, password)
	switch {
	case errors.Is(err, accounts.ErrBadCredentials):
		locked, _ := a.lockout.Failed(ctx, posID, client)
		a.audit(ctx, c, "login", posID, "", "failed", "")
		if locked {
			return fail(c, 42930, "Too many failed logins from this client; try again later.")
		}
		return fail(c, 40125, "Authentication failed.")
	case errors.Is(err, accounts.ErrDisabled):
		a.audit(ctx, c, "login", posID, "", "suspended", "")
		return fail(c, 40312, "This POS account is suspended.")
	case err != nil:
		a.log.Error().Err(err).Msg("login")
		return fail(c, 50010, "The relay cannot log in right now.")
	}
	_ = a.lockout.Succeeded(ctx, posID, client)
	issued, err := a.sessions.Start(ctx, p.PosID, p.MerchantID)
	if err != nil {
		a.log.Error().Err(err).Msg("login")
		return fail(c, 50010, "The relay cannot log in right now.")
	}
	a.audit(ctx, c, "login", posID, p.MerchantID, "ok", "")
	return c.JSON(http.StatusOK, tokens(issued))
}

func (a *API) refresh(c echo.Context) error {
	ctx := c.Request().Context()
	claims, code, msg := a.check(c, auth.KindRefresh)
	if code != 0 {
		return fail(c, code, msg)
	}
	issued, err := a.sessions.Refresh(ctx, bearer(c))
	if err != nil {
		return fail(c, 40121, "Invalid refresh token.")
	}
	a.audit(ctx, c, "refresh", claims.PosID, claims.MerchantID, "ok", "")
	return c.JSON(http.StatusOK, tokens(issued))
}

func (a *API) logout(c echo.Context) error {
	ctx := c.Request().Context()
	claims, code, msg := a.check(c, "")
	if code != 0 {
		return fail(c, code, msg)
	}
	if err := a.sessions.End(ctx, bearer(c)); err != nil {
		return fail(c, 40120, "Invalid token.")
	}
	a.audit(ctx, c, "logout", claims.PosID, claims.MerchantID, "ok", "")
	return success(c)
}
