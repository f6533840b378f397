package virtual

import (
	"github.com/vinr/cashlessd/emv/reader"
)

// Insert puts a chip card in the contact slot. A running detection with
// the contact interface reports it.
func (r *Reader) Insert(c Card) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.slot = c
	if r.detect != nil && r.detect.ifaces&reader.Contact != 0 {
		r.detected(reader.EvtCardInserted, nil)
	}
	r.notify()
}

// Tap brings a contactless card into the field, where it stays until
// Remove. A running detection with the contactless interface reports it.
func (r *Reader) Tap(c Card) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.field = c
	if r.detect != nil && r.detect.ifaces&reader.Contactless != 0 {
		r.detected(reader.EvtCardTapped, nil)
	}
	r.notify()
}

// Swipe passes a magnetic stripe through the head. track2 is as the head
// reads it, with or without sentinels: ";PAN=YYMMSSS...?" The reader
// sends "PAN=YYMMSSS..." to the driver if a detection with the magstripe
// interface is running, and reports whether one was; a swipe at any
// other time is lost, as on a real reader.
func (r *Reader) Swipe(track2 string) bool {
	t := []byte(track2)
	if len(t) > 0 && t[0] == ';' {
		t = t[1:]
	}
	for i, c := range t {
		if c == '?' {
			t = t[:i]
			break
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.detect == nil || r.detect.ifaces&reader.Magstripe == 0 {
		return false
	}
	r.detected(reader.EvtCardSwiped, t)
	r.notify()
	return true
}

// Remove takes the card out of the slot and the field. An exchange with
// it is cut short (the driver gets a "card removed" answer), an offline
// PIN prompt ends, and CARD_REMOVED is sent.
func (r *Reader) Remove() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.slot == nil && r.field == nil {
		return
	}
	if r.powered != 0 {
		r.removed = true
		r.powerOff()
	}
	if r.prompt != nil && !r.prompt.online {
		r.endPrompt()
	}
	r.slot, r.field = nil, nil
	r.event(reader.EvtCardRemoved, nil)
	r.notify()
}

// PressCancel is the cardholder pressing the red key: detection or PIN
// entry stops, and KEY_CANCEL is sent.
func (r *Reader) PressCancel() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.detect != nil {
		if r.detect.timer != nil {
			r.detect.timer.Stop()
		}
		r.detect = nil
	}
	r.endPrompt()
	r.event(reader.EvtKeyCancel, nil)
	r.notify()
}

// SetPIN is the PIN the cardholder types at every prompt from now on,
// at once. An empty pin means the cardholder types nothing: the prompt
// waits for PressCancel, its timeout or the driver's CANCEL. A prompt
// already waiting gets the PIN now.
func (r *Reader) SetPIN(pin string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pin, r.pinSet, r.bypass = pin, pin != "", false
	r.typePIN()
	r.notify()
}

// BypassPIN makes the cardholder press Enter without digits at every
// prompt from now on (until SetPIN).
func (r *Reader) BypassPIN() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pin, r.pinSet, r.bypass = "", false, true
	r.typePIN()
	r.notify()
}
