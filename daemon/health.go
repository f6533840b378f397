package daemon

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// DeviceState is how a device stands, as status and diag report it.
type DeviceState string

// Device states.
const (
	// DeviceOK: the device works as far as the driver has seen.
	DeviceOK DeviceState = "ok"
	// DeviceDegraded: the device answers but something limits it (a
	// printer out of paper, a host that answers echoes but not payments).
	DeviceDegraded DeviceState = "degraded"
	// DeviceOffline: the device is configured but does not answer.
	DeviceOffline DeviceState = "offline"
	// DeviceAbsent: the device is not there (no device node, or a model
	// without one).
	DeviceAbsent DeviceState = "absent"
)

// DeviceHealth is one device's state, since when it holds, and why.
type DeviceHealth struct {
	State   DeviceState `json:"state"`
	Since   time.Time   `json:"since"`
	Message string      `json:"message,omitempty"`
}

// Devices are the health of the terminal's three devices.
type Devices struct {
	Reader  DeviceHealth `json:"reader"`
	Printer DeviceHealth `json:"printer"`
	Host    DeviceHealth `json:"host"`
}

// Reason codes: why a payment cannot succeed now.
const (
	// ReasonReaderOffline: the card reader is offline or absent.
	ReasonReaderOffline = "reader_offline"
	// ReasonHostUnreachable: the acquirer link has been down, with a
	// failed reconnect, for at least Config.HostGrace.
	ReasonHostUnreachable = "host_unreachable"
	// ReasonStorageReadOnly: the database cannot be written.
	ReasonStorageReadOnly = "storage_read_only"
)

// Reason is one reason a payment cannot succeed, with a message for people.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// LinkReport is what a driver has seen of its link to a device, without
// asking the device anything.
type LinkReport struct {
	// Up: the link is open and the device answered on it.
	Up bool
	// Absent: the last open failed because the device is not there.
	Absent bool
	// Failing: the last attempt to open the link failed.
	Failing bool
	// Since is when Up (or Absent) last changed; zero before the first
	// attempt.
	Since time.Time
	// Error is why the link is down; empty when it is up or was never
	// tried.
	Error string
}

// LinkReporter is a driver (card reader, host link) that reports its link
// state. LinkReport does no I/O and never waits.
type LinkReporter interface {
	LinkReport() LinkReport
}

// LinkChecker is a driver that can open its link when it is down, so the
// engine learns of a device coming back (or staying away) before a payment
// needs it. CheckLink does nothing when the link is up, and does not wait
// for a device another call is using.
type LinkChecker interface {
	CheckLink(ctx context.Context) error
}

// HostOutcomes are the recent financial requests' outcomes at the host
// (authorisations, reversals, advices, settlements), and the last network
// management answer (sign-on, echo).
type HostOutcomes struct {
	// Of the last few financial requests: answered, sent without an
	// answer (time-out), and never sent (no link).
	Answered, Unanswered, Unreachable int
	LastAnsweredAt                    time.Time
	LastUnansweredAt                  time.Time
	LastUnreachableAt                 time.Time
	// LastNetworkAt is when the host last answered a sign-on or echo.
	LastNetworkAt time.Time
}

// HostReporter is a Host that reports its link and its recent outcomes.
type HostReporter interface {
	LinkReporter
	Outcomes() HostOutcomes
}

// readOnlyStore is a Store that can tell it was opened read-only.
type readOnlyStore interface {
	ReadOnly() bool
}

// Health is the devices' states and whether a payment can succeed now.
type Health struct {
	Devices     Devices
	CanTransact bool
	Reasons     []Reason
	// HostOutcomes are the host link's recent outcomes; nil when the host
	// driver does not report them.
	HostOutcomes *HostOutcomes
	// Cloud is the link to the cloud relay; it never stops a payment
	// (the LAN still works).
	Cloud CloudHealth
}

// How often the engine looks at its devices, and how long a check of the
// reader's link may take.
const (
	healthTick     = time.Second
	readerRecheck  = 2 * time.Second
	readerCheckFor = 10 * time.Second
	minHostRecheck = time.Second
)

// healthTracker remembers each device's state and when it last changed.
type healthTracker struct {
	mu      sync.Mutex
	devices map[string]DeviceHealth
}

// note records what a device looks like now and returns it with the time
// its state last changed: hint, the driver's own time of the change, when
// it is known and plausible, else now.
func (h *healthTracker) note(name string, d DeviceHealth, now time.Time) (DeviceHealth, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.devices == nil {
		h.devices = map[string]DeviceHealth{}
	}
	prev, seen := h.devices[name]
	if seen && prev.State == d.State {
		d.Since = prev.Since
		h.devices[name] = d
		return d, false
	}
	if d.Since.IsZero() || d.Since.After(now) || (seen && d.Since.Before(prev.Since)) {
		d.Since = now
	}
	h.devices[name] = d
	return d, seen || d.State != DeviceOK
}

// deviceHealth reports the devices' states and whether a payment can
// succeed, from what the drivers have observed: it does no device I/O.
// printer is the printer status the caller already has (nil on models
// without one).
func (e *Engine) deviceHealth(printer *PrinterStatus) Health {
	now := time.Now().UTC()
	var h Health
	h.Devices.Reader = e.noteDevice("reader", e.readerHealth(), now)
	h.Devices.Printer = e.noteDevice("printer", e.printerHealth(printer), now)
	host, outcomes := e.hostHealth()
	h.HostOutcomes = outcomes
	h.Devices.Host = e.noteDevice("host", host, now)
	h.Cloud = e.cloudHealth()

	switch r := h.Devices.Reader; r.State {
	case DeviceAbsent, DeviceOffline:
		h.Reasons = append(h.Reasons, Reason{Code: ReasonReaderOffline, Message: "The card reader is " + string(r.State) + ": " + r.Message})
	}
	if hs := h.Devices.Host; hs.State == DeviceOffline && e.hostDownTooLong(now) {
		h.Reasons = append(h.Reasons, Reason{Code: ReasonHostUnreachable,
			Message: fmt.Sprintf("The acquirer host has been unreachable since %s: %s", hs.Since.Format(time.RFC3339), hs.Message)})
	}
	if ro, ok := e.deps.Store.(readOnlyStore); ok && ro.ReadOnly() {
		h.Reasons = append(h.Reasons, Reason{Code: ReasonStorageReadOnly,
			Message: "The data directory's file system is read-only: no transaction can be recorded."})
	}
	h.CanTransact = len(h.Reasons) == 0
	return h
}

// noteDevice records a device's state and logs when it changed.
func (e *Engine) noteDevice(name string, d DeviceHealth, now time.Time) DeviceHealth {
	d, changed := e.health.note(name, d, now)
	if changed {
		ev := e.deps.Log.Warn()
		if d.State == DeviceOK {
			ev = e.deps.Log.Info()
		}
		ev.Str("device", name).Str("state", string(d.State)).Str("detail", d.Message).Msg(name + " is " + string(d.State))
	}
	return d
}

// readerHealth maps the reader's link onto a device state.
func (e *Engine) readerHealth() DeviceHealth {
	lr, ok := e.deps.Reader.(LinkReporter)
	if !ok {
		return DeviceHealth{State: DeviceOK}
	}
	return linkHealth(lr.LinkReport(), "the reader has not been opened yet")
}

// linkHealth is the state of a serial device's link.
func linkHealth(r LinkReport, untried string) DeviceHealth {
	switch {
	case r.Up:
		return DeviceHealth{State: DeviceOK, Since: r.Since}
	case r.Absent:
		return DeviceHealth{State: DeviceAbsent, Since: r.Since, Message: r.Error}
	case r.Error == "":
		return DeviceHealth{State: DeviceOffline, Since: r.Since, Message: untried}
	}
	return DeviceHealth{State: DeviceOffline, Since: r.Since, Message: r.Error}
}

// printerHealth maps the printer's status onto a device state.
func (e *Engine) printerHealth(p *PrinterStatus) DeviceHealth {
	if p == nil || e.deps.Printer == nil || !e.cfg.HasPrinter {
		return DeviceHealth{State: DeviceAbsent, Message: "this terminal model has no built-in printer"}
	}
	switch p.State {
	case PrinterReady:
		return DeviceHealth{State: DeviceOK}
	case PrinterPaperLow, PrinterPaperOut, PrinterCoverOpen:
		return DeviceHealth{State: DeviceDegraded, Message: p.Message}
	}
	return DeviceHealth{State: DeviceOffline, Message: p.Message}
}

// hostHealth maps the host link and its recent outcomes onto a device
// state: a link that is up (or connects on demand) whose last financial
// request got no answer is degraded — such a host may well answer echoes
// while it drops payments.
func (e *Engine) hostHealth() (DeviceHealth, *HostOutcomes) {
	hr, ok := e.deps.Host.(HostReporter)
	if !ok {
		return DeviceHealth{State: DeviceOK}, nil
	}
	link, out := hr.LinkReport(), hr.Outcomes()
	if !link.Up && link.Error != "" {
		return DeviceHealth{State: DeviceOffline, Since: link.Since, Message: link.Error}, &out
	}
	if out.LastUnansweredAt.After(out.LastAnsweredAt) {
		msg := fmt.Sprintf("%d of the last %d financial requests got no answer (last at %s)", out.Unanswered,
			out.Answered+out.Unanswered+out.Unreachable, out.LastUnansweredAt.UTC().Format(time.RFC3339))
		if !out.LastNetworkAt.IsZero() {
			msg += fmt.Sprintf("; network management answered at %s", out.LastNetworkAt.UTC().Format(time.RFC3339))
		}
		return DeviceHealth{State: DeviceDegraded, Since: out.LastUnansweredAt, Message: msg}, &out
	}
	if !link.Up {
		return DeviceHealth{State: DeviceOK, Since: link.Since, Message: "not connected yet; the link connects on demand"}, &out
	}
	return DeviceHealth{State: DeviceOK, Since: link.Since}, &out
}

// hostDownTooLong reports whether the host link has been down, with a
// failed attempt to reconnect, for at least the echo interval: a shorter
// gap is a link being re-established.
func (e *Engine) hostDownTooLong(now time.Time) bool {
	hr, ok := e.deps.Host.(HostReporter)
	if !ok {
		return false
	}
	link := hr.LinkReport()
	return !link.Up && link.Failing && now.Sub(link.Since) >= e.cfg.HostGrace
}

// startHealth checks the reader's link once (so a daemon that starts
// without its reader says so at once) and starts watching the devices.
func (e *Engine) startHealth() {
	if rc, ok := e.deps.Reader.(LinkChecker); ok {
		ctx, cancel := context.WithTimeout(e.base, readerCheckFor)
		_ = rc.CheckLink(ctx)
		cancel()
	}
	e.noteLinks()
	e.loops.Add(2)
	go e.watchReader()
	go e.watchHost()
}

// watchReader reopens a reader link that went down while the terminal is
// idle, and notes state changes (and logs them) as they happen.
func (e *Engine) watchReader() {
	defer e.loops.Done()
	tick := time.NewTicker(healthTick)
	defer tick.Stop()
	rc, _ := e.deps.Reader.(LinkChecker)
	lastCheck := time.Now()
	for {
		select {
		case <-e.base.Done():
			return
		case <-tick.C:
		}
		if rc != nil && !e.Busy() && time.Since(lastCheck) >= readerRecheck && e.readerHealth().State != DeviceOK {
			lastCheck = time.Now()
			ctx, cancel := context.WithTimeout(e.base, readerCheckFor)
			_ = rc.CheckLink(ctx)
			cancel()
		}
		e.noteLinks()
	}
}

// noteLinks notes the reader's and the host's states (the printer's is
// noted when status asks the printer).
func (e *Engine) noteLinks() {
	now := time.Now().UTC()
	e.noteDevice("reader", e.readerHealth(), now)
	host, _ := e.hostHealth()
	e.noteDevice("host", host, now)
}

// watchHost connects the host link when it is down: at once after it was
// lost (or at start), then once per echo interval while the host stays
// away (the link's own echoes watch it while it is up). Without echoes
// (HostGrace zero) the link connects only when a request needs it.
func (e *Engine) watchHost() {
	defer e.loops.Done()
	hc, ok := e.deps.Host.(LinkChecker)
	hr, reports := e.deps.Host.(LinkReporter)
	if !ok || !reports || e.cfg.HostGrace <= 0 {
		return
	}
	every := max(e.cfg.HostGrace, minHostRecheck)
	tick := time.NewTicker(healthTick)
	defer tick.Stop()
	var tried time.Time
	for {
		if link := hr.LinkReport(); !link.Up && (tried.Before(link.Since) || time.Since(tried) >= every) {
			_ = hc.CheckLink(e.base)
			tried = time.Now() // after the attempt: a loss it recorded is not a new one
		}
		select {
		case <-e.base.Done():
			return
		case <-tick.C:
		}
	}
}
