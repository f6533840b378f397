package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// The /simulator/v1 routes exist only in simulator mode. Each sets part of
// the simulated world and answers {"status":"ok"}.

func ms(p *int64) *time.Duration {
	if p == nil {
		return nil
	}
	d := time.Duration(*p) * time.Millisecond
	return &d
}

func (s *Server) simCard(c echo.Context) error {
	var r wire.SimCardRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if r.PresentAfterMs != nil && (*r.PresentAfterMs < 0 || *r.PresentAfterMs > 600_000) {
		return invalid("presentAfterMs: must be 0 to 600000")
	}
	if err := s.sim.SetCard(daemon.SimCard{PAN: r.PAN, EntryMethod: r.EntryMethod, PresentAfter: ms(r.PresentAfterMs),
		Present: r.Present, PIN: r.PIN, Image: r.Image}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, wire.OK{Status: "ok"})
}

func (s *Server) simHost(c echo.Context) error {
	var r wire.SimHostRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if r.LatencyMs != nil && (*r.LatencyMs < 0 || *r.LatencyMs > 600_000) {
		return invalid("latencyMs: must be 0 to 600000")
	}
	h := daemon.SimHost{Latency: ms(r.LatencyMs), Offline: r.Offline, DropResponse: r.DropResponse}
	if r.ForgetTransaction != nil {
		h.ForgetTransaction = *r.ForgetTransaction
	}
	if err := s.sim.SetHost(h); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, wire.OK{Status: "ok"})
}

func (s *Server) simPrinter(c echo.Context) error {
	var r wire.SimPrinterRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if r.Paper == nil {
		return invalid("paper: is required (true or false)")
	}
	if err := s.sim.SetPaper(*r.Paper); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, wire.OK{Status: "ok"})
}

func (s *Server) simClock(c echo.Context) error {
	var r wire.SimClockRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if r.AdvanceSeconds == nil || *r.AdvanceSeconds < 0 || *r.AdvanceSeconds > 10*365*86400 {
		return invalid("advanceSeconds: is required, 0 to 315360000")
	}
	if err := s.sim.AdvanceClock(time.Duration(*r.AdvanceSeconds) * time.Second); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, wire.OK{Status: "ok"})
}

func (s *Server) simReader(c echo.Context) error {
	var r wire.SimReaderRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	sr := daemon.SimReader{Unplugged: r.Unplugged, RemoveCard: r.RemoveCard != nil && *r.RemoveCard}
	for _, f := range []struct {
		name string
		v    *int
		dst  *int
	}{{"garbleFrames", r.GarbleFrames, &sr.GarbleFrames}, {"dropBytes", r.DropBytes, &sr.DropBytes}} {
		if f.v == nil {
			continue
		}
		if *f.v < 0 || *f.v > 100 {
			return invalid(f.name + ": must be 0 to 100")
		}
		*f.dst = *f.v
	}
	if err := s.sim.SetReader(sr); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, wire.OK{Status: "ok"})
}
