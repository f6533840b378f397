package host

import "sync"

// sentLog remembers, for the last few transactions, what field 90 of a
// later completion or reversal needs (the original MTI, STAN and
// transmission time) and whether a reversal was already sent, so a retry
// goes out as a repeat (0401). It is memory only: after a restart field 90
// carries zeros and the host finds the original by terminal and field 62.
type sentLog struct {
	mu    sync.Mutex
	max   int
	order []string
	byID  map[string]*sentEntry
}

type sentEntry struct {
	original     OriginalData
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

// sent records the original data of a transaction's request.
func (l *sentLog) sent(id string, o OriginalData) {
	if id == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entry(id, true).original = o
}

// original returns the recorded original data, or zeros with mti.
func (l *sentLog) original(id, mti string) OriginalData {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.entry(id, false); e != nil && e.original.MTI != "" {
		return e.original
	}
	return zeroOriginal(mti)
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
	if id == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(id, true)
	e.reversalSent, e.reversalSTAN = true, stan
}

// zeroOriginal is field 90 when only the original MTI is known.
func zeroOriginal(mti string) OriginalData {
	return OriginalData{MTI: mti, STAN: "000000", TransmissionTime: "0000000000",
		Acquirer: "00000000000", Forwarder: "00000000000"}
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
