package printer

import "github.com/vinr/cashlessd/daemon"

// Bits of the replies to DLE EOT (Epson ESC/POS). Every reply has the
// form 0xx1xx10: bits 1 and 4 set, bits 0 and 7 clear.
const (
	statusFixed = 0x12 // the fixed bits of every reply
	statusMask  = 0x93 // which bits are fixed

	bitOffline      = 0x08 // DLE EOT 1: offline
	bitCoverOpen    = 0x04 // DLE EOT 2: cover open
	bitPaperEndStop = 0x20 // DLE EOT 2: printing stopped at paper end
	bitsNearEnd     = 0x0c // DLE EOT 4: roll paper near-end sensor
	bitsPaperEnd    = 0x60 // DLE EOT 4: roll paper end sensor
)

// IsStatusReply reports whether b has the form of a DLE EOT reply. XON
// (0x11) and XOFF (0x13) do not, so the three can share the line.
func IsStatusReply(b byte) bool { return b&statusMask == statusFixed }

// Condition is what the printer's real-time status replies say.
type Condition struct {
	Offline      bool
	CoverOpen    bool
	PaperOut     bool
	PaperNearEnd bool
}

// ParseCondition reads the replies to DLE EOT 1 (printer), 2 (offline
// cause) and 4 (roll paper sensors).
func ParseCondition(printer, offline, paper byte) Condition {
	return Condition{
		Offline:      printer&bitOffline != 0,
		CoverOpen:    offline&bitCoverOpen != 0,
		PaperOut:     offline&bitPaperEndStop != 0 || paper&bitsPaperEnd != 0,
		PaperNearEnd: paper&bitsNearEnd != 0,
	}
}

// Reply is a printer's answer to DLE EOT n in this condition, as an Epson
// printer gives it: paper out and cover open also take the printer
// offline. ok is false for an n the printer does not answer.
func (c Condition) Reply(n byte) (reply byte, ok bool) {
	reply = statusFixed
	switch n {
	case StatusPrinter:
		if c.Offline || c.CoverOpen || c.PaperOut {
			reply |= bitOffline
		}
	case StatusOffline:
		if c.CoverOpen {
			reply |= bitCoverOpen
		}
		if c.PaperOut {
			reply |= bitPaperEndStop
		}
	case StatusError:
	case StatusRollPaper:
		if c.PaperOut || c.PaperNearEnd {
			reply |= bitsNearEnd
		}
		if c.PaperOut {
			reply |= bitsPaperEnd
		}
	default:
		return 0, false
	}
	return reply, true
}

// Status is the condition as the engine sees it; the most serious state
// wins: cover open, paper out, offline, paper near end, ready.
func (c Condition) Status() daemon.PrinterStatus {
	switch {
	case c.CoverOpen:
		return daemon.PrinterStatus{State: daemon.PrinterCoverOpen, Message: ErrCoverOpen.Error()}
	case c.PaperOut:
		return daemon.PrinterStatus{State: daemon.PrinterPaperOut, Message: ErrPaperOut.Error()}
	case c.Offline:
		return daemon.PrinterStatus{State: daemon.PrinterOffline, Message: ErrOffline.Error()}
	case c.PaperNearEnd:
		return daemon.PrinterStatus{State: daemon.PrinterPaperLow, Message: "printer paper near end"}
	}
	return daemon.PrinterStatus{State: daemon.PrinterReady, Message: "printer ready"}
}

// CanPrint reports whether a job may be sent: ready, or paper near end.
func (c Condition) CanPrint() bool { return !c.CoverOpen && !c.PaperOut && !c.Offline }
