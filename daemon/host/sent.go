package host

import (
	"sync"

	"github.com/vinr/cashlessd/daemon"
)

// sentLog remembers, for the last few transactions, whether a reversal or
// an advice for them went out before, so a retry goes out as a repeat
// (0401, 0221). It is memory only, and only chooses between a message and
// its repeat: the host takes either. What field 90 quotes comes from the
// transaction's stored record (daemon.HostMessage), never from here.
type sentLog struct {
	mu    sync.Mutex
	max   int
	order []string
	byID  map[string]*sentEntry
}

type sentEntry struct {
	reversalSent bool
	reversalSTAN string
	adviceSent   bool
}

func newSentLog(max int) *sentLog {
	return &sentLog{max: max, byID: map[string]*sentEntry{}}
}

// entry returns the entry for a transaction ID, creating it when asked.
// The caller holds l.mu.
func (l *sentLog) entry(id string, create bool) *sentEntry {
	e := l.byID[id]
	if e == nil && create {
		e = &sentEntry{}
		l.byID[id] = e
		l.order = append(l.order, id)
		if len(l.order) > l.max {
			delete(l.byID, l.order[0])
			l.order = l.order[1:]
		}
	}
	return e
}

// reversal reports whether a reversal for id went out before, and with
// which STAN.
func (l *sentLog) reversal(id string) (sent bool, stan string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.entry(id, false); e != nil {
		return e.reversalSent, e.reversalSTAN
	}
	return false, ""
}

// reversalSent records that a reversal for id left with stan.
func (l *sentLog) reversalSent(id, stan string) {
	if id == "" || stan == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(id, true)
	e.reversalSent, e.reversalSTAN = true, stan
}

// advice reports whether an advice for id may have reached the host
// before, so the next one goes out as a repeat (0221).
func (l *sentLog) advice(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(id, false)
	return e != nil && e.adviceSent
}

// adviceSent records that an advice for id may have reached the host.
func (l *sentLog) adviceSent(id string) {
	if id == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entry(id, true).adviceSent = true
}

// noInstitution is an acquiring or forwarding institution ID the terminal
// does not know (it sends neither field 32 nor 33).
const noInstitution = "00000000000"

// zeroOriginal is field 90 when only the original MTI is known.
func zeroOriginal(mti string) OriginalData {
	return OriginalData{MTI: mti, STAN: "000000", TransmissionTime: "0000000000",
		Acquirer: noInstitution, Forwarder: noInstitution}
}

// originalData is field 90 quoting m, the original's request as stored
// with its transaction; without m (a record written before it was kept,
// or a request whose STAN the terminal never learnt) only mti is known.
// A part that is not well formed is sent as zeros.
func originalData(m *daemon.HostMessage, mti string) OriginalData {
	o := zeroOriginal(mti)
	if !m.Known() {
		return o
	}
	if len(m.MTI) == 4 && isDigits(m.MTI) {
		o.MTI = m.MTI
	}
	if len(m.STAN) == 6 && isDigits(m.STAN) {
		o.STAN = m.STAN
	}
	if len(m.TransmissionTime) == 10 && isDigits(m.TransmissionTime) {
		o.TransmissionTime = m.TransmissionTime
	}
	if len(m.AcquirerID) == 11 && isDigits(m.AcquirerID) {
		o.Acquirer = m.AcquirerID
	}
	if len(m.ForwarderID) == 11 && isDigits(m.ForwarderID) {
		o.Forwarder = m.ForwarderID
	}
	return o
}

// sentMessage is how f went out, for the engine to store: what a later
// field 90 quotes.
func sentMessage(f *Fields) *daemon.HostMessage {
	return &daemon.HostMessage{MTI: f.MTI, STAN: f.STAN, TransmissionTime: f.TransmissionTime,
		AcquirerID: noInstitution, ForwarderID: noInstitution}
}
