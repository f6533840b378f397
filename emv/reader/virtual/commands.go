package virtual

import (
	"bytes"
	"context"
	"time"

	"github.com/vinr/cashlessd/emv/reader"
	"github.com/vinr/cashlessd/emv/reader/dukpt"
)

// execute runs a new command; r.mu is held. Commands that talk to the
// card run in a goroutine and respond when done; the others respond at
// once.
func (r *Reader) execute(f reader.Frame) {
	seq := f.Seq
	switch f.Type {
	case reader.CmdInfo:
		r.respond(seq, reader.RespOK, r.info().Marshal())
	case reader.CmdStatus:
		r.respond(seq, reader.RespOK, reader.Status{
			CardInSlot:  r.slot != nil,
			CardInField: r.field != nil,
			Powered:     r.powered != 0,
			Detecting:   r.detect != nil,
			PINEntry:    r.prompt != nil,
		}.Marshal())
	case reader.CmdDetect:
		req, err := reader.ParseDetect(f.Payload)
		switch {
		case err != nil || req.Interfaces&^reader.AllInterfaces != 0 || req.Interfaces == 0:
			r.respond(seq, reader.RespBadParameter, nil)
		case r.prompt != nil:
			r.respond(seq, reader.RespBusy, nil)
		default:
			r.startDetection(req)
			r.respond(seq, reader.RespOK, nil)
		}
	case reader.CmdCancel:
		r.cancelAll()
		r.respond(seq, reader.RespOK, nil)
	case reader.CmdPowerOn:
		r.powerOn(seq, f.Payload)
	case reader.CmdAPDU:
		r.apdu(seq, f.Payload)
	case reader.CmdAPDUs:
		r.apdus(seq, f.Payload)
	case reader.CmdPowerOff:
		r.powerOff()
		r.removed = false
		r.respond(seq, reader.RespOK, nil)
	case reader.CmdDisplay:
		r.display = reader.ParseLines(f.Payload)
		r.displayWrite++
		r.respond(seq, reader.RespOK, nil)
	case reader.CmdOnlinePIN:
		r.startOnlinePIN(seq, f.Payload)
	case reader.CmdOfflinePIN:
		r.startOfflinePIN(seq, f.Payload)
	case reader.CmdBeep:
		b, err := reader.ParseBeep(f.Payload)
		if err != nil {
			r.respond(seq, reader.RespBadParameter, nil)
			break
		}
		r.beeps += b.Count
		r.respond(seq, reader.RespOK, nil)
	case reader.CmdLEDs:
		if len(f.Payload) < 1 {
			r.respond(seq, reader.RespBadParameter, nil)
			break
		}
		r.leds = reader.LEDs(f.Payload[0])
		r.respond(seq, reader.RespOK, nil)
	default:
		r.respond(seq, reader.RespUnknownCommand, nil)
	}
	r.notify()
}

func (r *Reader) info() reader.Info {
	return reader.Info{
		Protocol: reader.ProtocolVersion,
		Capabilities: reader.CapContact | reader.CapContactless | reader.CapMagstripe |
			reader.CapPINPad | reader.CapDisplay | reader.CapBuzzer | reader.CapLEDs | reader.CapAPDUBatch,
		MaxPayload:  reader.MaxPayload,
		DisplayRows: r.cfg.DisplayRows,
		DisplayCols: r.cfg.DisplayCols,
		Model:       r.cfg.Model,
		Serial:      r.cfg.Serial,
		Firmware:    r.cfg.Firmware,
	}
}

// powerOn activates the card on the requested interface; r.mu is held.
func (r *Reader) powerOn(seq byte, p []byte) {
	if len(p) < 1 {
		r.respond(seq, reader.RespBadParameter, nil)
		return
	}
	var card Card
	iface := reader.Interface(p[0])
	switch iface {
	case reader.Contact:
		card = r.slot
	case reader.Contactless:
		card = r.field
	default:
		r.respond(seq, reader.RespBadParameter, nil)
		return
	}
	if card == nil {
		r.respond(seq, reader.RespNoCard, nil)
		return
	}
	r.abortExchange()
	atr := card.ATR()
	if len(atr) == 0 {
		r.respond(seq, reader.RespCardError, nil)
		return
	}
	r.powered, r.removed = iface, false
	r.respond(seq, reader.RespOK, atr)
}

// activeCard is the powered card; r.mu is held.
func (r *Reader) activeCard() Card {
	switch r.powered {
	case reader.Contact:
		return r.slot
	case reader.Contactless:
		return r.field
	}
	return nil
}

// apdu sends a command APDU to the active card in a goroutine; r.mu is
// held.
func (r *Reader) apdu(seq byte, cmd []byte) {
	switch {
	case r.removed:
		r.respond(seq, reader.RespCardRemoved, nil)
		return
	case len(cmd) < 4:
		r.respond(seq, reader.RespBadParameter, nil)
		return
	}
	card := r.activeCard()
	if card == nil {
		r.respond(seq, reader.RespNotPowered, nil)
		return
	}
	r.stats.APDUs++
	go func() {
		resp, status := r.exchange(card, cmd)
		r.mu.Lock()
		defer r.mu.Unlock()
		if status == reader.RespOK {
			r.stats.APDUPayloadBytes += int64(len(cmd) + len(resp))
		}
		r.respond(seq, status, resp)
		r.notify()
	}()
}

// apdus runs the command APDUs of an APDUS in order, in a goroutine, and
// answers their responses: it stops after a status word other than
// 90 00, and before a command whose largest response would not fit; r.mu
// is held.
func (r *Reader) apdus(seq byte, payload []byte) {
	cmds, err := reader.ParseAPDUs(payload)
	bad := err != nil || len(cmds) == 0
	for _, c := range cmds {
		bad = bad || len(c) < 4
	}
	switch {
	case r.removed:
		r.respond(seq, reader.RespCardRemoved, nil)
		return
	case bad:
		r.respond(seq, reader.RespBadParameter, nil)
		return
	}
	card := r.activeCard()
	if card == nil {
		r.respond(seq, reader.RespNotPowered, nil)
		return
	}
	go func() {
		var out [][]byte
		used, status := 0, reader.RespOK
		for _, cmd := range cmds {
			if len(out) > 0 && !reader.BatchFits(used) {
				break
			}
			var resp []byte
			resp, status = r.exchangeT0(card, cmd)
			if status != reader.RespOK {
				break
			}
			out = append(out, resp)
			used += 2 + len(resp)
			if used > reader.MaxPayload {
				status = reader.RespCardError // longer than any short response
				break
			}
			if resp[len(resp)-2] != 0x90 || resp[len(resp)-1] != 0x00 {
				break
			}
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if status != reader.RespOK {
			r.respond(seq, status, nil)
		} else {
			r.respond(seq, status, reader.MarshalAPDUs(out))
		}
		r.notify()
	}()
}

// exchangeT0 runs one command of an APDUS to its end, as the terminal
// does for an APDU: GET RESPONSE after 61xx, the command again with Le =
// xx after 6Cxx (at most 8 times), and returns the data and the last
// status word. Each APDU sent to the card counts. It must be called
// without r.mu.
func (r *Reader) exchangeT0(card Card, cmd []byte) ([]byte, reader.Type) {
	var data []byte
	for range 8 {
		resp, status := r.exchange(card, cmd)
		if status != reader.RespOK {
			return nil, status
		}
		r.mu.Lock()
		r.stats.APDUs++
		r.stats.APDUPayloadBytes += int64(len(cmd) + len(resp))
		r.mu.Unlock()
		n := len(resp) - 2
		data = append(data, resp[:n]...)
		switch sw1, sw2 := resp[n], resp[n+1]; {
		case sw1 == 0x61:
			cmd = []byte{0x00, 0xC0, 0x00, 0x00, sw2}
		case sw1 == 0x6C:
			cmd = withLe(cmd, sw2)
		default:
			return append(data, sw1, sw2), reader.RespOK
		}
	}
	return nil, reader.RespCardError
}

// withLe returns the command with its Le set to le (replaced or
// appended).
func withLe(cmd []byte, le byte) []byte {
	out := bytes.Clone(cmd)
	switch {
	case len(out) == 4:
		return append(out, le)
	case len(out) == 5:
		out[4] = le
		return out
	case len(out) == 5+int(out[4]):
		return append(out, le)
	}
	out[len(out)-1] = le
	return out
}

// exchange sends one APDU to card, which must be the active card. It
// takes the card lock and must be called without r.mu.
func (r *Reader) exchange(card Card, cmd []byte) ([]byte, reader.Type) {
	r.cardMu.Lock()
	defer r.cardMu.Unlock()
	ctx, cancel := context.WithCancel(r.life)
	defer cancel()
	r.mu.Lock()
	if r.activeCard() != card || r.removed {
		removed := r.removed
		r.mu.Unlock()
		if removed {
			return nil, reader.RespCardRemoved
		}
		return nil, reader.RespNotPowered
	}
	r.cardCancel = cancel
	r.mu.Unlock()

	resp, err := card.Transmit(ctx, cmd)

	r.mu.Lock()
	defer r.mu.Unlock()
	r.cardCancel = nil
	switch {
	case r.removed:
		return nil, reader.RespCardRemoved
	case r.activeCard() != card: // cancelled: the card was deactivated
		return nil, reader.RespNotPowered
	case err != nil || len(resp) < 2:
		return nil, reader.RespCardError
	}
	return resp, reader.RespOK
}

// abortExchange ends a card exchange under way; r.mu is held.
func (r *Reader) abortExchange() {
	if r.cardCancel != nil {
		r.cardCancel()
		r.cardCancel = nil
	}
}

// powerOff deactivates the card; r.mu is held.
func (r *Reader) powerOff() {
	r.abortExchange()
	r.powered = 0
}

// cancelAll is CANCEL: detection and PIN entry stop, and a card exchange
// under way is abandoned, which deactivates the card; r.mu is held.
func (r *Reader) cancelAll() {
	r.detect = nil
	r.endPrompt()
	if r.cardCancel != nil {
		r.powerOff()
	}
}

// detection is a running DETECT.
type detection struct {
	ifaces reader.Interface
	timer  *time.Timer
}

// startDetection shows the amount and reports a card already present at
// once; r.mu is held.
func (r *Reader) startDetection(req reader.DetectRequest) {
	if r.detect != nil && r.detect.timer != nil {
		r.detect.timer.Stop()
	}
	r.amountText = req.AmountText
	d := &detection{ifaces: req.Interfaces}
	r.detect = d
	switch {
	case d.ifaces&reader.Contact != 0 && r.slot != nil:
		r.detected(reader.EvtCardInserted, nil)
		return
	case d.ifaces&reader.Contactless != 0 && r.field != nil:
		r.detected(reader.EvtCardTapped, nil)
		return
	}
	if req.Timeout > 0 {
		d.timer = time.AfterFunc(req.Timeout, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.detect == d {
				r.detect = nil
				r.event(reader.EvtTimeout, []byte{byte(reader.CmdDetect)})
				r.notify()
			}
		})
	}
}

// detected ends detection with a card event; r.mu is held.
func (r *Reader) detected(t reader.Type, payload []byte) {
	if r.detect != nil && r.detect.timer != nil {
		r.detect.timer.Stop()
	}
	r.detect = nil
	r.event(t, payload)
}

// pinPrompt is a running PIN entry.
type pinPrompt struct {
	gen    int
	online bool
	pan    string
	text   string
	timer  *time.Timer
}

// endPrompt takes the PIN prompt down; r.mu is held.
func (r *Reader) endPrompt() {
	if r.prompt != nil {
		if r.prompt.timer != nil {
			r.prompt.timer.Stop()
		}
		r.prompt = nil
	}
}

// startPrompt shows a PIN prompt and lets the cardholder type; r.mu is
// held.
func (r *Reader) startPrompt(p *pinPrompt, timeout time.Duration) {
	r.promptGen++
	p.gen = r.promptGen
	if timeout <= 0 {
		timeout = r.cfg.PINTimeout
	}
	p.timer = time.AfterFunc(timeout, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.prompt == p {
			r.endPrompt()
			t := reader.CmdOfflinePIN
			if p.online {
				t = reader.CmdOnlinePIN
			}
			r.event(reader.EvtTimeout, []byte{byte(t)})
			r.notify()
		}
	})
	r.prompt = p
	r.typePIN()
}

func (r *Reader) startOnlinePIN(seq byte, payload []byte) {
	req, err := reader.ParseOnlinePIN(payload)
	switch {
	case err != nil:
		r.respond(seq, reader.RespBadParameter, nil)
		return
	case r.prompt != nil || r.detect != nil:
		r.respond(seq, reader.RespBusy, nil)
		return
	}
	if _, err := dukpt.NextKSN(r.ksn); err != nil {
		r.respond(seq, reader.RespPINPadError, nil)
		return
	}
	r.startPrompt(&pinPrompt{online: true, pan: req.PAN, text: req.AmountText}, req.Timeout)
	r.respond(seq, reader.RespOK, nil)
}

func (r *Reader) startOfflinePIN(seq byte, payload []byte) {
	req, err := reader.ParseOfflinePIN(payload)
	switch {
	case err != nil:
		r.respond(seq, reader.RespBadParameter, nil)
		return
	case r.prompt != nil || r.detect != nil:
		r.respond(seq, reader.RespBusy, nil)
		return
	case r.removed:
		r.respond(seq, reader.RespCardRemoved, nil)
		return
	case r.powered != reader.Contact || r.slot == nil:
		r.respond(seq, reader.RespNotPowered, nil)
		return
	}
	text := req.AmountText
	if text == "" {
		text = r.amountText
	}
	r.startPrompt(&pinPrompt{text: text}, req.Timeout)
	r.respond(seq, reader.RespOK, nil)
}

// typePIN has the cardholder enter the PIN set with SetPIN, if a prompt
// is waiting for one; r.mu is held.
func (r *Reader) typePIN() {
	p := r.prompt
	if p == nil || !r.pinSet && !r.bypass {
		return
	}
	if r.bypass {
		r.endPrompt()
		r.event(reader.EvtPIN, reader.PINEvent{Outcome: reader.PINBypassed}.Marshal())
		return
	}
	if p.online {
		r.endPrompt()
		r.onlinePIN(p)
		return
	}
	// Offline: the reader presents the PIN to the card. The prompt stays
	// up until the card has answered.
	card := r.slot
	cmd := verifyCommand(r.pin)
	go func() {
		defer clear(cmd)
		resp, status := r.exchange(card, cmd)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.prompt != p {
			return // cancelled meanwhile
		}
		r.endPrompt()
		switch status {
		case reader.RespOK:
			sw := uint16(resp[len(resp)-2])<<8 | uint16(resp[len(resp)-1])
			r.event(reader.EvtPIN, reader.PINEvent{Outcome: reader.PINOffline, SW: sw}.Marshal())
		case reader.RespCardRemoved:
			// CARD_REMOVED has been sent; it ends the PIN entry.
		default:
			r.event(reader.EvtPIN, reader.PINEvent{Outcome: reader.PINOffline, SW: 0x6F00}.Marshal())
		}
		r.notify()
	}()
}

// onlinePIN builds the format 0 block, encrypts it under the next DUKPT
// PIN key and sends the PIN event; r.mu is held.
func (r *Reader) onlinePIN(p *pinPrompt) {
	ksn, err := dukpt.NextKSN(r.ksn)
	if err != nil {
		r.event(reader.EvtPIN, reader.PINEvent{Outcome: reader.PINBypassed}.Marshal())
		return
	}
	block, err := dukpt.FormatPIN0(r.pin, p.pan)
	if err != nil { // a PIN the pad would not accept: the cardholder gave up
		r.event(reader.EvtKeyCancel, nil)
		return
	}
	defer clear(block)
	tk, err := dukpt.TransactionKey(r.ik, ksn)
	if err != nil {
		r.event(reader.EvtKeyCancel, nil)
		return
	}
	key := dukpt.PINVariant(tk)
	clear(tk)
	defer clear(key)
	epb, err := dukpt.EncryptPINBlock(key, block)
	if err != nil {
		r.event(reader.EvtKeyCancel, nil)
		return
	}
	r.ksn = ksn
	r.event(reader.EvtPIN, reader.PINEvent{Outcome: reader.PINOnline, Block: epb, KSN: bytes.Clone(ksn)}.Marshal())
}

// verifyCommand is VERIFY with a plaintext PIN (EMV Book 3, 6.5.12): CLA
// 00, INS 20, P1 00, P2 80, and the PIN block of format 2: control 2,
// length, digits, F padding.
func verifyCommand(pin string) []byte {
	block := [8]byte{0x20 | byte(len(pin)&0x0F), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	for i := 0; i < len(pin) && i < 14; i++ {
		d := (pin[i] - '0') & 0x0F
		if i%2 == 0 {
			block[1+i/2] = d<<4 | 0x0F
		} else {
			block[1+i/2] = block[1+i/2]&0xF0 | d
		}
	}
	cmd := append([]byte{0x00, 0x20, 0x00, 0x80, 0x08}, block[:]...)
	clear(block[:])
	return cmd
}
