package card

import (
	"sync"

	"github.com/vinr/cashlessd/emv"
)

// Wallet keeps the virtual cards a simulated cardholder holds, one per
// card image (by name and card number), so a card's counters — its ATC
// (9F36), last online ATC, PIN tries — go on from one transaction to the
// next instead of starting again from the image. The counters live as long
// as the Wallet: in memory, per process. A Wallet is safe for concurrent
// use; its zero value is empty and ready.
type Wallet struct {
	mu    sync.Mutex
	cards map[string]*Card
}

// Present returns the wallet's card for img powered up on iface (a new
// session, counters kept), making it on first use.
func (w *Wallet) Present(img *Image, iface emv.Interface) (*Card, error) {
	key := img.Name + "\x00" + img.PAN()
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.cards[key]; ok {
		if err := c.Reset(iface); err != nil {
			return nil, err
		}
		return c, nil
	}
	c, err := New(img, iface)
	if err != nil {
		return nil, err
	}
	if w.cards == nil {
		w.cards = map[string]*Card{}
	}
	w.cards[key] = c
	return c, nil
}
