package sim

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
	"github.com/vinr/cashlessd/emv/reader"
	"github.com/vinr/cashlessd/emv/reader/virtual"
)

// defaultPIN is what the cardholder types when neither the simulator nor
// the card image says otherwise.
const defaultPIN = "1234"

// Cardholder presents the configured card to the virtual reader at every
// prompt, types the PIN, follows "insert card", and takes the card out once
// the terminal powers it off. It runs until ctx ends.
func (w *World) Cardholder(ctx context.Context, vr *virtual.Reader, log zerolog.Logger) {
	for ctx.Err() == nil {
		err := vr.WaitFor(ctx, func(s virtual.State) bool { return s.Detecting && !s.CardInSlot && !s.CardInField })
		if err != nil {
			return
		}
		prompt := vr.State()
		c, pressCancel := w.snapshot().forAmount(prompt.AmountText)
		if pressCancel {
			vr.PressCancel()
			continue
		}
		if !c.present {
			_ = vr.WaitFor(ctx, func(s virtual.State) bool { return !s.Detecting })
			continue
		}
		if c.presentAfter > 0 {
			wait, cancel := context.WithTimeout(ctx, c.presentAfter)
			ended := vr.WaitFor(wait, func(s virtual.State) bool { return !s.Detecting }) == nil
			cancel()
			if ended || ctx.Err() != nil {
				continue
			}
		}
		img, err := w.image(c)
		if err != nil {
			log.Warn().Err(err).Msg("simulated card unavailable")
			_ = vr.WaitFor(ctx, func(s virtual.State) bool { return !s.Detecting })
			continue
		}
		pin := c.pin
		if pin == "" {
			pin = img.PIN
		}
		if pin == "" {
			pin = defaultPIN
		}
		vr.SetPIN(pin)
		entry := c.entry
		if prompt.Interfaces == reader.Contact {
			entry = daemon.EntryChip // the terminal asked for the chip
		}
		if !w.present(vr, img, entry) {
			_ = vr.WaitFor(ctx, func(s virtual.State) bool { return !s.Detecting })
			continue
		}
		if entry == daemon.EntrySwipe {
			continue // the stripe passed; nothing stays in the reader
		}
		// Leave the card in until the terminal has used it and powered it
		// off, then take it out.
		wait, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = vr.WaitFor(wait, func(s virtual.State) bool { return s.Powered != 0 })
		cancel()
		_ = vr.WaitFor(ctx, func(s virtual.State) bool { return s.Powered == 0 && !s.PINEntry })
		vr.Remove()
	}
}

// image is the card the cardholder holds. Images looked up by card number
// are parsed or generated once and kept (they are only read afterwards).
func (w *World) image(c cardState) (*card.Image, error) {
	if c.image != nil {
		return c.image, nil
	}
	key := imageKey{pan: c.pan, swipe: c.entry == daemon.EntrySwipe}
	w.mu.Lock()
	img, ok := w.images[key]
	w.mu.Unlock()
	if ok {
		return img, nil
	}
	img, err := lookupImage(key)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	if w.images == nil {
		w.images = map[imageKey]*card.Image{}
	}
	w.images[key] = img
	w.mu.Unlock()
	return img, nil
}

// lookupImage finds the built-in image for a card number or generates one.
func lookupImage(key imageKey) (*card.Image, error) {
	if key.swipe {
		if img, err := card.BuiltinByPAN(key.pan); err == nil {
			return img, nil // a chip card: the terminal will ask for the chip
		}
		return card.MagstripeOnly(key.pan)
	}
	return card.ForPAN(key.pan)
}

// present inserts, taps or swipes the card; it reports false when the card
// cannot be presented that way. The chip is the wallet's: its ATC goes on
// from the card's last transaction in this process.
func (w *World) present(vr *virtual.Reader, img *card.Image, entry string) bool {
	switch entry {
	case daemon.EntrySwipe:
		track, ok := img.Track2()
		return ok && vr.Swipe(";"+track+"?")
	case daemon.EntryContactless:
		if k, err := w.wallet.Present(img, emv.Contactless); err == nil {
			vr.Tap(k)
			return true
		}
		fallthrough // no contactless application: the cardholder inserts it
	default:
		k, err := w.wallet.Present(img, emv.Contact)
		if err != nil {
			return false
		}
		vr.Insert(k)
		return true
	}
}
