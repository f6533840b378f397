package fiuu

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/skip2/go-qrcode"

	"github.com/vinr/cashlessd/relaylink"
)

// MaxPrebind is how many terminals a merchant may prebind at once; extra
// IDs are ignored, as cloudECR documents.
const MaxPrebind = 10

func (a *API) bindKey(c echo.Context) error {
	ctx := c.Request().Context()
	cl := claimsOf(c)
	k, err := a.terminals.NewBindKey(ctx, cl.MerchantID, cl.PosID)
	if err != nil {
		a.log.Error().Err(err).Msg("bind key")
		return fail(c, 50010, "The relay cannot make a bind key right now.")
	}
	a.audit(ctx, c, "bindkey", cl.PosID, cl.MerchantID, "issued", "")
	if c.QueryParam("option") == "image" {
		png, err := qrcode.Encode(k.Key, qrcode.Medium, 256)
		if err != nil {
			return fail(c, 50010, "The relay cannot draw the QR code.")
		}
		return c.Blob(http.StatusOK, "image/png", png)
	}
	return c.JSON(http.StatusOK, map[string]string{"key": k.Key, "expiresAt": k.ExpiresAt.Format(TimeLayout)})
}

func (a *API) setPrebind(c echo.Context) error {
	ctx := c.Request().Context()
	cl := claimsOf(c)
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, 16<<10))
	var body struct {
		UniqueIDs []string `json:"uniqueIds"`
	}
	if err != nil || json.Unmarshal(b, &body) != nil || body.UniqueIDs == nil {
		return fail(c, 40031, "uniqueIds (a list of terminal IDs) is required.")
	}
	ids := make([]string, 0, MaxPrebind)
	seen := map[string]bool{}
	for _, id := range body.UniqueIDs {
		if len(ids) == MaxPrebind {
			break
		}
		if err := relaylink.ValidTerminalID(id); err != nil {
			return fail(c, 40023, "Invalid device ID: "+err.Error())
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if err := a.store.SetPrebound(ctx, cl.MerchantID, ids); err != nil {
		a.log.Error().Err(err).Msg("prebind")
		return fail(c, 50010, "The relay cannot store the list right now.")
	}
	a.audit(ctx, c, "prebind", cl.PosID, cl.MerchantID, "ok", "")
	return success(c)
}

func (a *API) getPrebind(c echo.Context) error {
	ids, err := a.store.Prebound(c.Request().Context(), claimsOf(c).MerchantID)
	if err != nil {
		return fail(c, 50010, "The relay cannot read the list right now.")
	}
	return c.JSON(http.StatusOK, map[string][]string{"data": ids})
}

// TerminalEntry is one line of GET /api/terminals.
type TerminalEntry struct {
	TerminalID string `json:"terminalId"`
	Connected  bool   `json:"connected"`
	IsVT       int    `json:"isVT"`
}

func (a *API) listTerminals(c echo.Context) error {
	bs, err := a.store.MerchantTerminals(c.Request().Context(), claimsOf(c).MerchantID)
	if err != nil {
		return fail(c, 50010, "The relay cannot list terminals right now.")
	}
	out := make([]TerminalEntry, 0, len(bs))
	for _, b := range bs {
		p, live := a.terminals.Presence(b.TerminalID)
		vt := 0
		if p.Hello.Simulator {
			vt = 1
		}
		out = append(out, TerminalEntry{TerminalID: b.TerminalID, Connected: live, IsVT: vt})
	}
	return c.JSON(http.StatusOK, map[string][]TerminalEntry{"data": out})
}

func (a *API) ewalletChannels(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string][]any{"data": {}})
}
