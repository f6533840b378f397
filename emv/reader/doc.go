// Package reader drives the terminal's card reader and PIN pad over a
// serial line. The protocol is this project's own and is specified in
// docs/reader-protocol.md; package reader/virtual is a reader that speaks
// it at the far end of a pseudo-terminal, and package reader/dukpt is the
// PIN pad's key management.
//
// # Link layer
//
// Frames are STX | LEN (2) | SEQ | TYPE | PAYLOAD | CRC-16/CCITT-FALSE
// (2), seven bytes around the payload. The terminal sends one command at
// a time; the reader's response carries the command's SEQ and is its
// acknowledgement, so an APDU exchange is one round trip and 14 bytes of
// framing. A command that is not answered in time, or that the reader
// NAKs, is sent again with the same SEQ (three sends at most, by
// default); the reader answers a repeated command from its memory instead
// of executing it twice. Events (card inserted, tapped, swiped or
// removed, keypad cancel, PIN entry finished, prompt timed out) carry the
// reader's own SEQ and are acknowledged with ACK; a repeated event is
// acknowledged again and not delivered twice. The decoder hunts for STX
// and checks length and CRC, so it resynchronises after noise, damaged
// frames and lost bytes; damaged input is answered with NAK.
//
// # Driver
//
//	r, err := reader.Open(ctx, reader.Config{Device: "/dev/ttyACM0"})
//	ev, err := r.Detect(ctx, reader.DetectRequest{AmountText: "EUR 12.50"})
//	atr, err := r.PowerOn(ctx, ev.Interface())  // chip: Contact or Contactless
//	resp, err := r.Transmit(ctx, apdu)         // the EMV kernel's Transport
//	block, ksn, err := r.OnlinePIN(ctx, pan, "EUR 12.50")
//	res, err := r.OfflinePIN(ctx)              // the reader sends VERIFY itself
//	err = r.PowerOff(ctx)
//
// Every call takes a context; when it ends during a call, the driver sends
// CANCEL, which stops detection, PIN entry or a card exchange on the
// reader. A port that fails (device node removed, EOF, I/O error) gives
// ErrDisconnected, a reader that stops answering ErrNoResponse; either
// way the next call opens the port again, so a reader that is unplugged
// and plugged back in works without restarting the daemon.
//
// # Sensitive data
//
// Track 2 (Event.Track2), the PAN given to OnlinePIN and the encrypted PIN
// block stay in memory: nothing here logs them or writes them anywhere
// but to the port, and String methods mask them. The clear PIN never
// reaches the terminal: the PIN pad returns an ISO 9564 format 0 block
// encrypted under DUKPT for an online PIN, and presents an offline PIN to
// the card itself, returning only the card's verdict.
package reader
