package emv

import (
	"bytes"
	"fmt"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

// CardData maps the outcome onto the engine's card data: the full PAN, PIN
// block and chip data for the host request (memory only), and the CardInfo
// that may be stored and printed. PINVerified is set for an offline PIN the
// card verified, a consumer device CVM, and an online PIN (which the issuer
// verifies when it approves). CardSequenceNo is the two digits of 5F34.
func (o Outcome) CardData() daemon.CardData {
	info := daemon.CardInfo{
		MaskedPAN:         o.MaskedPAN(),
		Scheme:            o.Scheme,
		EntryMethod:       entryMethod(o.Interface),
		CardholderName:    o.CardholderName,
		AID:               o.AID,
		ApplicationLabel:  o.ApplicationLabel,
		SignatureRequired: o.SignatureRequired,
		PINVerified:       o.PINVerified || o.OnlinePIN,
	}
	if o.Interface != Magstripe {
		info.TVR = o.TVR.String()
		info.TSI = o.TSI.String()
		info.Cryptogram = o.Cryptogram.String()
		info.ATC = o.ATC.String()
	}
	return daemon.CardData{
		PAN:            o.PAN,
		ExpiryYYMM:     o.ExpiryYYMM,
		Info:           info,
		ICCData:        bytes.Clone(o.ICCData),
		PINBlock:       bytes.Clone(o.PINBlock),
		KSN:            bytes.Clone(o.KSN),
		CardSequenceNo: o.PANSequence,
	}
}

// HostResponseFrom turns the engine's host answer into what the card
// needs. Unreachable must be set only when the request never left (the
// host error was daemon.ErrHostUnreachable): only then may the card
// approve offline.
func HostResponseFrom(a daemon.AuthResponse) HostResponse {
	return HostResponse{
		Approved:     a.Approved,
		ResponseCode: a.ResponseCode,
		AuthCode:     a.AuthCode,
		IssuerData:   a.IssuerData,
		Unreachable:  a.Unreachable,
	}
}

// TransactionFor builds the kernel's transaction from the engine's card
// request: sales and pre-auths are purchases (9C 00), refunds are refunds
// (9C 20). A pre-auth is never approved offline.
func TransactionFor(req daemon.CardRequest, now time.Time) (Transaction, error) {
	tx := Transaction{Amount: req.Amount, Currency: req.Currency, Time: now}
	switch req.Kind {
	case daemon.KindSale:
		tx.Type = TypePurchase
	case daemon.KindPreauth:
		tx.Type = TypePurchase
		tx.NoOfflineApproval = true
	case daemon.KindRefund:
		tx.Type = TypeRefund
	default:
		return Transaction{}, fmt.Errorf("emv: no card transaction for %q", req.Kind)
	}
	return tx, nil
}

func entryMethod(i Interface) string {
	switch i {
	case Contact:
		return daemon.EntryChip
	case Contactless:
		return daemon.EntryContactless
	case Magstripe:
		return daemon.EntrySwipe
	}
	return ""
}
