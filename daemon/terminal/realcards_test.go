package terminal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
	"github.com/vinr/cashlessd/emv/oda"
	"github.com/vinr/cashlessd/emv/reader"
	"github.com/vinr/cashlessd/emv/reader/virtual"
)

// realCardsDir holds the card images made from recordings of real cards
// (see its README.md).
const realCardsDir = "../../emv/card/images/real"

// realCard is one recorded card and what its data justifies, under and
// over the contactless CVM limit.
type realCard struct {
	file  string
	iface emv.Interface
	// day is a date the card was valid (most recordings are of cards
	// expired since).
	day          time.Time
	under, over  realResult
	label, aid   string
	scheme, last string // scheme, last four digits of the PAN
}

// realResult is the outcome of one replay: "approved", "declined" (by
// the card), or "insert card" (a tapped card sent to the chip); the CVM
// (online PIN, offline PIN, CDCVM, signature, no CVM, none); the TVR.
type realResult struct {
	outcome, cvm, tvr string
}

func day(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 12, 0, 0, 0, time.UTC) }

// realCards is the corpus table.
var realCards = []realCard{
	{file: "maestro-contact", iface: emv.Contact, day: day(2014, 1, 31), label: "Maestro", aid: "A0000000043060", scheme: "maestro", last: "3414",
		under: realResult{"approved", "offline PIN", "0800008000"}, over: realResult{"approved", "offline PIN", "0800008000"}},
	{file: "visa-test-contact", iface: emv.Contact, day: day(2012, 3, 16), label: "VISA TEST", aid: "A0000000031010", scheme: "visa", last: "0050",
		under: realResult{"approved", "offline PIN", "8000008000"}, over: realResult{"approved", "offline PIN", "8000008000"}},
	{file: "mastercard-test-contact", iface: emv.Contact, day: day(2012, 3, 16), label: "PPC MCD 04  v20", aid: "A0000000041010", scheme: "mastercard", last: "0044",
		under: realResult{"approved", "signature", "0400008000"}, over: realResult{"approved", "signature", "0400008000"}},
	{file: "unionpay-credit-contact", iface: emv.Contact, day: day(2015, 3, 16), label: "UICC CREDIT", aid: "A000000333010102", scheme: "unionpay", last: "0011",
		under: realResult{"approved", "signature", "0880008000"}, over: realResult{"approved", "signature", "0880008000"}},
	{file: "amex-test-contactless", iface: emv.Contactless, day: day(2014, 10, 31), label: "American Express", aid: "A000000025010403", scheme: "amex", last: "1007",
		under: realResult{"approved", "no CVM", "0400008000"}, over: realResult{"approved", "online PIN", "0400048000"}},
	{file: "mastercard-magstripe-contactless", iface: emv.Contactless, day: day(2012, 3, 15), label: "", aid: "A0000000041010", scheme: "mastercard", last: "",
		under: realResult{outcome: "insert card"}, over: realResult{outcome: "insert card"}},
	{file: "visa-debit-contactless", iface: emv.Contactless, day: day(2023, 3, 1), label: "comdirect Debit", aid: "A0000000031010", scheme: "visa", last: "0574",
		under: realResult{"approved", "no CVM", "8000008000"}, over: realResult{outcome: "insert card"}},
	{file: "girocard-contactless", iface: emv.Contactless, day: day(2021, 6, 1), label: "girocard", aid: "A00000005945430100", scheme: "girocard", last: "6007",
		under: realResult{"approved", "no CVM", "0400008000"}, over: realResult{"approved", "online PIN", "0400048000"}},
	{file: "mastercard-debit-contactless", iface: emv.Contactless, day: day(2023, 3, 1), label: "Debit MasterCard", aid: "A0000000041010", scheme: "mastercard", last: "0110",
		under: realResult{"approved", "no CVM", "0400008000"}, over: realResult{"approved", "online PIN", "0400048000"}},
}

// cvmName names the CVM of a replay from the CVM Results the card was
// sent and the card data.
func cvmName(data daemon.CardData) string {
	res, _ := emv.Find(data.ICCData, emv.TagCVMResults)
	switch {
	case len(data.PINBlock) > 0:
		return "online PIN"
	case len(res) == 3 && emv.CVMMethod(res[0]&0x3F) == emv.CVMPlaintextPIN && data.Info.PINVerified && res[2] == 0x02 && data.Info.EntryMethod == daemon.EntryContactless:
		return "CDCVM"
	case data.Info.PINVerified:
		return "offline PIN"
	case data.Info.SignatureRequired:
		return "signature"
	case len(res) == 3 && emv.CVMMethod(res[0]&0x3F) == emv.CVMNoCVM:
		return "no CVM"
	}
	return "none"
}

// replayReal runs one sale of a recorded card through the acceptor and
// the virtual reader over a real pty: detection, the kernel (sending a
// tapped card to the chip when it must; the cardholder then cancels, the
// card has no chip side), the host's approval with the ARPC the issuer
// computes over the card's ARQC, the second GENERATE AC.
func replayReal(t *testing.T, rc realCard, amount int64) (realResult, daemon.CardData) {
	t.Helper()
	img, err := card.Load(filepath.Join(realCardsDir, rc.file+".json"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	g := newRigAt(t, func() time.Time { return rc.day }, func(cfg *emv.Config) {
		cfg.CAPKs = oda.TestCAPKs() // as in simulator mode: no scheme's CA keys
		cfg.AIDs = append(cfg.AIDs, emv.AIDConfig{AID: emv.MustHex("A00000005945430100"), Scheme: "girocard",
			Contact: true, Contactless: true, Version: emv.MustHex("0002"),
			TACDenial: emv.MustHex("0010000000"), TACOnline: emv.MustHex("DC4004F800"), TACDefault: emv.MustHex("DC4000A800")})
	})
	vr, a := g.vr, g.a
	prompts := &promptLog{}
	a.ObservePrompts(prompts)
	go func() {
		wait, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if vr.WaitFor(wait, func(s virtual.State) bool { return s.Detecting }) != nil {
			return
		}
		c, err := card.New(img, rc.iface)
		if err != nil {
			t.Error(err)
			return
		}
		vr.SetPIN("1234")
		if rc.iface == emv.Contactless {
			vr.Tap(c)
			if vr.WaitFor(wait, func(s virtual.State) bool { return s.Detecting && s.Interfaces == reader.Contact }) == nil {
				vr.Remove()
				vr.PressCancel() // the card has no chip side
			}
			return
		}
		vr.Insert(c)
	}()
	s, err := a.Detect(ctx, daemon.CardRequest{Kind: daemon.KindSale, Amount: amount, Currency: "USD", TransactionID: "R1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data, err := s.Read(ctx)
	switch {
	case errors.Is(err, daemon.ErrCardholderCancelled) && prompts.has(PromptInsertCard):
		return realResult{outcome: "insert card"}, data
	case errors.Is(err, daemon.ErrDeclinedByCard):
		return realResult{"declined", cvmName(data), data.Info.TVR}, data
	case err != nil:
		t.Fatalf("%s: read: %v", rc.file, err)
	}
	arqc, _ := emv.Find(data.ICCData, emv.TagCryptogram)
	issuer := emv.AppendTLV(nil, emv.TagIssuerAuthData, card.IssuerAuthenticationData(img.CardKey(), arqc, "00"))
	ok, err := s.Complete(ctx, daemon.AuthResponse{Approved: true, ResponseCode: "00", AuthCode: "123456", IssuerData: issuer})
	if err != nil {
		t.Fatalf("%s: complete: %v", rc.file, err)
	}
	out := realResult{"approved", cvmName(data), data.Info.TVR}
	if !ok {
		out.outcome = "declined at the second GENERATE AC"
	}
	return out, data
}

// TestRealCards replays every recorded real card under (10.00) and over
// (75.00) the contactless CVM limit and checks the outcome, the CVM, the
// TVR and the receipt facts (masked PAN, scheme, label, AID, entry
// method). No full PAN is printed: the table names cards by file.
//
// The kernel holds the simulator's CA keys only, as in simulator mode:
// a card that offers SDA, DDA or CDA fails it for want of its scheme's CA
// public key (TVR 08 DDA failed, 04 CDA failed); a card without ODA, and
// every qVSDC tap, says "ODA not performed" (80). REAL_CARDS_TABLE=1
// prints the table.
func TestRealCards(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(realCardsDir, "*.json"))
	if err != nil || len(files) < 8 {
		t.Fatalf("%d real card images: %v", len(files), err)
	}
	listed := map[string]bool{}
	for _, rc := range realCards {
		listed[rc.file] = true
	}
	for _, f := range files {
		if n := strings.TrimSuffix(filepath.Base(f), ".json"); !listed[n] {
			t.Errorf("%s is not in the table", n)
		}
	}
	for _, rc := range realCards {
		t.Run(rc.file, func(t *testing.T) {
			t.Parallel()
			for _, amount := range []int64{1000, 7500} {
				want := rc.under
				if amount >= 5000 {
					want = rc.over
				}
				got, data := replayReal(t, rc, amount)
				if os.Getenv("REAL_CARDS_TABLE") != "" {
					t.Logf("TABLE %s %s %d: %s | %s | %s | %s %s %q %s", rc.file, rc.iface, amount, got.outcome, got.cvm, got.tvr,
						data.Info.MaskedPAN, data.Info.Scheme, data.Info.ApplicationLabel, data.Info.AID)
				}
				if got != want {
					t.Errorf("%d: got %+v, want %+v", amount, got, want)
				}
				if got.outcome == "insert card" {
					continue
				}
				info := data.Info
				wantEntry := map[emv.Interface]string{emv.Contact: daemon.EntryChip, emv.Contactless: daemon.EntryContactless}[rc.iface]
				if !strings.HasSuffix(info.MaskedPAN, rc.last) || strings.Trim(info.MaskedPAN[:len(info.MaskedPAN)-4], "*") != "" ||
					info.Scheme != rc.scheme || info.ApplicationLabel != rc.label || info.AID != rc.aid || info.EntryMethod != wantEntry {
					t.Errorf("%d: receipt facts %s", amount, fmt.Sprintf("%s %s %q %s %s", info.MaskedPAN, info.Scheme, info.ApplicationLabel, info.AID, info.EntryMethod))
				}
			}
		})
	}
}
