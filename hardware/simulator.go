package hardware

import (
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/daemon/sim"
	vreader "github.com/vinr/cashlessd/emv/reader/virtual"
	"github.com/vinr/cashlessd/printer/virtual"
)

// Simulator is simulator mode's control surface (daemon.Simulator): each
// setting goes to the simulated device it belongs to.
type Simulator struct {
	world  *sim.World
	reader *vreader.Reader
	host   *hostsim.Server // nil when host.address names an acquirer
	// hostTerminal is the terminal ID (field 41) the host knows us by.
	hostTerminal string
	printer      *virtual.Printer // nil on models without a printer
}

var _ daemon.Simulator = (*Simulator)(nil)

// OnClockAdvance registers what runs after AdvanceClock: the engine's
// schedule check.
func (s *Simulator) OnClockAdvance(f func()) { s.world.OnClockAdvance(f) }

// VirtualReader is the simulated card reader at the far end of the
// reader's pseudo-terminal.
func (s *Simulator) VirtualReader() *vreader.Reader { return s.reader }

// VirtualPrinter is the simulated printer at the far end of the printer's
// pseudo-terminal; nil on models without a printer.
func (s *Simulator) VirtualPrinter() *virtual.Printer { return s.printer }

// HostSimulator is the simulated acquirer on loopback; nil when
// host.address names a real one.
func (s *Simulator) HostSimulator() *hostsim.Server { return s.host }

// SetCard chooses the card presented to following transactions.
func (s *Simulator) SetCard(c daemon.SimCard) error { return s.world.SetCard(c) }

// SetHost changes the simulated acquirer.
func (s *Simulator) SetHost(h daemon.SimHost) error {
	if s.host == nil {
		return daemon.Errorf(daemon.CodeInvalidRequest, "The acquirer host is external (host.address); control it there.")
	}
	if h.Latency != nil {
		s.host.SetLatency(*h.Latency)
	}
	if h.Offline != nil {
		s.host.SetOffline(*h.Offline)
	}
	if h.DropResponse != nil {
		s.host.SetDropResponse(*h.DropResponse)
	}
	if h.ForgetTransaction != "" {
		if err := s.host.ForgetApproval(s.hostTerminal, h.ForgetTransaction); err != nil {
			return daemon.Errorf(daemon.CodeInvalidRequest, "forgetTransaction: %v", err)
		}
	}
	return nil
}

// SetPaper loads or takes out the virtual printer's paper.
func (s *Simulator) SetPaper(ok bool) error {
	if s.printer == nil {
		return daemon.Errorf(daemon.CodePrinterUnavailable, "This terminal model has no built-in printer.")
	}
	s.printer.SetPaper(ok)
	return nil
}

// SetReader injects faults at the virtual reader.
func (s *Simulator) SetReader(r daemon.SimReader) error {
	if r.Unplugged != nil {
		if *r.Unplugged {
			s.reader.Unplug()
		} else if err := s.reader.Replug(); err != nil {
			return err
		}
	}
	if r.GarbleFrames > 0 {
		s.reader.Garble(r.GarbleFrames)
	}
	if r.DropBytes > 0 {
		s.reader.DropBytes(r.DropBytes)
	}
	if r.RemoveCard {
		s.reader.Remove()
	}
	return nil
}

// AdvanceClock moves the simulated clock forward.
func (s *Simulator) AdvanceClock(d time.Duration) error { return s.world.AdvanceClock(d) }
