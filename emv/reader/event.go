package reader

import (
	"fmt"

	"github.com/vinr/cashlessd/pan"
)

// EventKind is what happened at the reader.
type EventKind int

// Events Detect returns (CardInserted, CardTapped, CardSwiped) and the
// others the driver handles itself.
const (
	CardInserted EventKind = iota + 1 // a chip card is in the contact slot
	CardTapped                        // a contactless card is in the field
	CardSwiped                        // a magnetic stripe was read
	CardRemoved                       // the card left the slot or the field
	KeypadCancel                      // the cardholder pressed cancel
)

// String names the kind.
func (k EventKind) String() string {
	switch k {
	case CardInserted:
		return "card inserted"
	case CardTapped:
		return "card tapped"
	case CardSwiped:
		return "card swiped"
	case CardRemoved:
		return "card removed"
	case KeypadCancel:
		return "keypad cancel"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a card presented to the reader. For a swipe, Track2 holds
// track 2 as the head read it, without sentinels and LRC:
// "PAN=YYMMSSS" followed by the discretionary data, ASCII. It is
// sensitive: keep it in memory only, and call Clear when done. String and
// GoString never show it.
type Event struct {
	Kind   EventKind
	Track2 []byte
}

// Interface is the interface the card was presented on.
func (e Event) Interface() Interface {
	switch e.Kind {
	case CardInserted:
		return Contact
	case CardTapped:
		return Contactless
	case CardSwiped:
		return Magstripe
	}
	return 0
}

// String describes the event with the PAN masked and the rest of track 2
// left out.
func (e Event) String() string {
	if e.Kind != CardSwiped {
		return e.Kind.String()
	}
	number := e.Track2
	for i, c := range number {
		if c == '=' || c == 'D' {
			number = number[:i]
			break
		}
	}
	return fmt.Sprintf("%s (PAN %s)", e.Kind, pan.Mask(string(number)))
}

// GoString is String: %#v must not print track data either.
func (e Event) GoString() string { return "reader.Event{" + e.String() + "}" }

// Clear overwrites the track data.
func (e *Event) Clear() {
	clear(e.Track2)
	e.Track2 = nil
}
