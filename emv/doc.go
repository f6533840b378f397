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
// # Offline data authentication
//
// SDA, DDA and CDA (EMV Book 2) run when the kernel has the schemes' CA
// public keys ([Config] CAPKs, from the CAPK file a technician installs;
// package emv/oda does the cryptography). Without a key for the card's RID
// and index, ODA is not performed: the TVR bit says so, which the schemes'
// terminal action codes send online. docs/emv.md lists what is implemented
// against Books 2, 3, 4 and C-2, C-3, C-4, point by point.
//
// # Not implemented
//
// Enciphered offline PIN is not supported. The terminal is online-only by
// default (terminal type 21): it never approves offline, and a host that
// cannot be reached makes the second GENERATE AC ask for an AAC.
// Config.OfflineApprovals allows an offline approval (TC, ARC Y3) of a
// contact purchase under the floor limit when the host cannot be reached
// and action analysis finds nothing against it.
package emv
