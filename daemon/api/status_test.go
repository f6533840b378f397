package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// poll answers one status request on h and returns the body.
func poll(t *testing.T, h http.Handler, query string) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, wire.PathStatus+query, strings.NewReader("{}"))
	req.Header.Set(KeyHeader, testKey)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	return w.Body.String()
}

// TestStatusAnswerFollowsEveryChange polls one server while the engine's
// state changes field by field: each answer is the bytes a server that
// never answered before renders for that state.
func TestStatusAnswerFollowsEveryChange(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{}
	kept := New(Options{Engine: f, Keys: sharedKey(testKey), Log: zerolog.Nop()}).Handler()
	fresh := func() string {
		return poll(t, New(Options{Engine: f, Keys: sharedKey(testKey), Log: zerolog.Nop()}).Handler(), "")
	}
	sale := approvedSale()
	steps := []func(s *daemon.StatusInfo){
		func(s *daemon.StatusInfo) {},
		func(s *daemon.StatusInfo) {
			s.Busy, s.ActiveKind, s.ActiveReference, s.ActiveStartedAt = true, "sale", "POS-2", at
			s.ActiveStage = daemon.StageWaitingForCard
		},
		func(s *daemon.StatusInfo) { s.ActiveStage = daemon.StageAuthorising },
		func(s *daemon.StatusInfo) { s.Busy = false; s.LastTransaction = sale },
		func(s *daemon.StatusInfo) {
			next := *sale
			next.ID, next.Reference, next.Status = "tpay_2", "POS-2", daemon.StatusDeclined
			s.LastTransaction = &next
		},
		func(s *daemon.StatusInfo) { s.Printer = &daemon.PrinterStatus{State: daemon.PrinterReady} },
		func(s *daemon.StatusInfo) {
			s.Printer = &daemon.PrinterStatus{State: daemon.PrinterPaperOut, Message: "no paper"}
		},
		func(s *daemon.StatusInfo) {
			s.Printer = &daemon.PrinterStatus{State: daemon.PrinterPaperOut, Message: "load paper"}
		},
		func(s *daemon.StatusInfo) { s.PendingReversals, s.PendingAdvices = 1, 2 },
		func(s *daemon.StatusInfo) { s.OpenBatchCount, s.OpenBatchAmount = 4, 9900 },
		func(s *daemon.StatusInfo) {
			s.Settling = &daemon.Batch{Reference: "EOD-1", Currency: "USD", SaleCount: 1, SaleAmount: 1000}
		},
		func(s *daemon.StatusInfo) {
			s.Settling = &daemon.Batch{Reference: "EOD-1", Currency: "USD", SaleCount: 2, SaleAmount: 1000}
		},
		func(s *daemon.StatusInfo) { s.NextAutoSettle = at.Add(time.Hour) },
		func(s *daemon.StatusInfo) {
			s.Health.Devices.Reader = daemon.DeviceHealth{State: daemon.DeviceOffline, Since: at, Message: "unplugged"}
			s.Health.Reasons = []daemon.Reason{{Code: daemon.ReasonReaderOffline, Message: "The card reader is offline: unplugged"}}
		},
		func(s *daemon.StatusInfo) {
			s.Health.Reasons = []daemon.Reason{{Code: daemon.ReasonReaderOffline, Message: "The card reader is offline: gone"}}
		},
		func(s *daemon.StatusInfo) { s.Health.Devices.Reader.Since = at.Add(time.Second) },
		func(s *daemon.StatusInfo) {
			s.Health.Devices.Host = daemon.DeviceHealth{State: daemon.DeviceDegraded, Message: "slow"}
		},
		func(s *daemon.StatusInfo) { s.Health = daemon.Health{CanTransact: true} },
		func(s *daemon.StatusInfo) {
			s.Health.Cloud = daemon.CloudHealth{State: daemon.CloudConnecting, Since: at}
		},
		func(s *daemon.StatusInfo) {
			s.Health.Cloud = daemon.CloudHealth{State: daemon.CloudConnected, Since: at}
		},
		func(s *daemon.StatusInfo) { s.Health.Cloud.Since = at.Add(time.Minute) },
	}
	for i, step := range steps {
		step(&f.status)
		want := fresh()
		for range 2 {
			if got := poll(t, kept, ""); got != want {
				t.Fatalf("step %d: answered\n%s\nwant\n%s", i, got, want)
			}
		}
	}
	if pretty := poll(t, kept, "?pretty"); !strings.Contains(pretty, "\n  \"status\"") {
		t.Fatalf("?pretty is indented: %s", pretty)
	}
}
