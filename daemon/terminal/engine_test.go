package terminal

import (
	"bytes"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/emv"
)

func TestCardDataMapsTheOutcome(t *testing.T) {
	t.Parallel()
	chip := emv.Outcome{
		Interface: emv.Contact, PAN: "5200828282828210", ExpiryYYMM: "3112", PANSequence: "01",
		Scheme: "mastercard", CardholderName: "ONLINE PIN/MASTERCARD", AID: "A0000000041010",
		ApplicationLabel: "Mastercard", OnlinePIN: true,
		TVR: emv.TVR{0x00, 0x00, 0x04, 0x80, 0x00}, TSI: emv.TSI{0xE8, 0x00},
		Cryptogram: emv.Hex{1, 2, 3, 4, 5, 6, 7, 8}, ATC: emv.Hex{0x00, 0x2A},
		ICCData: []byte{0x9F, 0x26, 0x08}, PINBlock: []byte{0xAA, 0xBB}, KSN: []byte{0xFF, 0x01},
	}
	cd := cardData(chip)
	want := daemon.CardInfo{
		MaskedPAN: "************8210", Scheme: "mastercard", EntryMethod: daemon.EntryChip,
		CardholderName: "ONLINE PIN/MASTERCARD", AID: "A0000000041010", ApplicationLabel: "Mastercard",
		TVR: chip.TVR.String(), TSI: chip.TSI.String(), Cryptogram: "0102030405060708", ATC: "002A",
		PINVerified: true,
	}
	if cd.Info != want {
		t.Errorf("CardInfo\n got %+v\nwant %+v", cd.Info, want)
	}
	if cd.PAN != chip.PAN || cd.ExpiryYYMM != "3112" || cd.CardSequenceNo != "01" || !bytes.Equal(cd.ICCData, chip.ICCData) ||
		!bytes.Equal(cd.PINBlock, chip.PINBlock) || !bytes.Equal(cd.KSN, chip.KSN) {
		t.Errorf("CardData %+v", cd)
	}
	// The engine's copies are its own: clearing them leaves the outcome.
	cd.PINBlock[0], cd.ICCData[0] = 0, 0
	if chip.PINBlock[0] != 0xAA || chip.ICCData[0] != 0x9F {
		t.Error("CardData shares the outcome's buffers")
	}

	swipe := cardData(emv.Outcome{Interface: emv.Magstripe, PAN: "4242424242424242", Scheme: "visa",
		TVR: emv.TVR{0x80, 0, 0, 0, 0}, PINVerified: true})
	if swipe.Info.EntryMethod != daemon.EntrySwipe || swipe.Info.TVR != "" || swipe.Info.TSI != "" ||
		swipe.Info.Cryptogram != "" || swipe.Info.ATC != "" || !swipe.Info.PINVerified || swipe.PAN != "4242424242424242" {
		t.Errorf("swipe %+v", swipe.Info)
	}
	if tap := cardData(emv.Outcome{Interface: emv.Contactless}); tap.Info.EntryMethod != daemon.EntryContactless || tap.Info.PINVerified {
		t.Errorf("contactless %+v", tap.Info)
	}
}

func TestHostResponseMapsTheAnswer(t *testing.T) {
	t.Parallel()
	hr := hostResponse(daemon.AuthResponse{Approved: true, ResponseCode: "00", AuthCode: "A1B2C3", IssuerData: []byte{1}})
	if !hr.Approved || hr.ResponseCode != "00" || hr.AuthCode != "A1B2C3" || len(hr.IssuerData) != 1 || hr.Unreachable {
		t.Errorf("approval %+v", hr)
	}
	if hr := hostResponse(daemon.AuthResponse{Unreachable: true}); !hr.Unreachable || hr.Approved {
		t.Errorf("unreachable %+v", hr)
	}
}

func TestTransactionForEachKind(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 15, 14, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		kind      daemon.Kind
		typ       emv.TransactionType
		noOffline bool
	}{
		{daemon.KindSale, emv.TypePurchase, false},
		{daemon.KindPreauth, emv.TypePurchase, true},
		{daemon.KindRefund, emv.TypeRefund, false},
	} {
		tx, err := transaction(daemon.CardRequest{Kind: c.kind, Amount: 500, Currency: "USD"}, now)
		if err != nil || tx.Type != c.typ || tx.NoOfflineApproval != c.noOffline || tx.Amount != 500 ||
			tx.Currency != "USD" || !tx.Time.Equal(now) {
			t.Errorf("%s: %+v %v", c.kind, tx, err)
		}
	}
	if _, err := transaction(daemon.CardRequest{Kind: daemon.KindCompletion}, now); err == nil {
		t.Error("a completion has no card")
	}
}
