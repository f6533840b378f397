// Package emv is the EMV kernel of cashlessd: BER-TLV and DOL coding, the
// tag dictionary, command APDUs with T=0 status handling, application
// selection (PSE, PPSE, list of AIDs), the contact transaction flow
// (GET PROCESSING OPTIONS, READ RECORD, processing restrictions,
// cardholder verification, terminal risk management, terminal action
// analysis, first and second GENERATE AC, issuer authentication and issuer
// scripts), the online-only contactless flow with per-scheme kernels
// (EMV Contactless Books C-2 Mastercard, C-3 Visa, C-4 Amex, and a
// generic path), and magnetic stripe (track 2) handling.
//
// The kernel does not know how a card is reached: it talks to the card
// through [Transport] (one command APDU in, the response with SW1 SW2 out)
// and to the cardholder through [PINPad]. The serial reader driver, a
// virtual card (package emv/card) and the simulator all implement those.
//
// A transaction runs in two steps, matching the engine's card session;
// package daemon/terminal maps the outcome and the host's answer to and from
// the engine's types, which this package does not know:
//
//	k, _ := emv.NewKernel(emv.DefaultConfig())
//	s := k.Contact(card, pinpad, tx)     // or Contactless, Swipe
//	out, err := s.Read(ctx)              // up to the online request (ARQC)
//	final, err := s.Complete(ctx, answer) // the host's answer (second GENERATE AC)
//
// # BER-TLV
//
// The TLV coder is this package's own ([ParseTLV], [Find], [Flatten],
// [Encode]) rather than github.com/moov-io/bertlv v0.1.0. bertlv was tried
// and does not fit a kernel that parses bytes from an untrusted card: its
// Decode panics on a long-form length with the top bit set (an 0x88 length
// field becomes a negative int that is then used to slice), it accepts the
// indefinite form 0x80 silently as length zero, its FindFirstTag stops
// searching after the first constructed sibling, and tags are hex strings,
// which makes DOL handling (tag + length without value) awkward. The coder
// here is small, allocation-light, never panics on any input (FuzzTLV), and
// keeps tags as [Tag] values.
//
// # Sensitive data
//
// The full PAN, track 2 and PIN block live only in memory, in [Outcome] and
// [Track2]; their String methods mask the PAN, and nothing in this package
// logs. A clear PIN never passes through the kernel: online PINs come back
// from the PIN pad encrypted, and offline PINs are verified by the reader
// itself ([VerifyOfflinePIN] is for PIN pad and simulator implementations).
//
// # Not implemented
//
// Offline data authentication (SDA, DDA, CDA) needs the schemes' CA public
// keys and is not performed: the terminal capabilities say so and the TVR
// bit "offline data authentication was not performed" is set, which the
// schemes' terminal action codes send online. Enciphered offline PIN is not
// supported for the same reason. The terminal is online-only by default
// (terminal type 21): it never approves offline, and a host that cannot be
// reached makes the second GENERATE AC ask for an AAC.
//
// Config.OfflineApprovals allows an offline approval (TC, ARC Y3) of a
// contact purchase under the floor limit when the host cannot be reached
// and default action analysis finds nothing against it. Because ODA is not
// performed, that TVR bit is always set, and the schemes' TAC-Default and
// most cards' IAC-Default contain it: with them every such transaction is
// still declined (Z3). Offline approvals only happen where both the
// acquirer's TAC-Default and the card's IAC-Default leave that bit out.
package emv
