package terminal

import (
	"bytes"
	"fmt"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/emv"
)

// This file maps between the kernel's types and the engine's: the kernel
// knows nothing of the engine, and the engine nothing of EMV.

// cardData maps a kernel outcome onto the engine's card data: the full PAN,
// PIN block and chip data for the host request (memory only), and the
// CardInfo that may be stored and printed. PINVerified is set for an
// offline PIN the card verified, a consumer device CVM, and an online PIN
// (which the issuer verifies when it approves). CardSequenceNo is the two
// digits of 5F34. Track2 is set for a swiped card only: the host request
// of a swipe carries it (field 35), a chip request its chip data.
func cardData(o emv.Outcome) daemon.CardData {
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
	if o.Interface != emv.Magstripe {
		info.TVR = o.TVR.String()
		info.TSI = o.TSI.String()
		info.Cryptogram = o.Cryptogram.String()
		info.ATC = o.ATC.String()
	}
	var track2 string
	if o.Interface == emv.Magstripe {
		track2 = o.Track2
	}
	return daemon.CardData{
		PAN:            o.PAN,
		ExpiryYYMM:     o.ExpiryYYMM,
		Track2:         track2,
		Fallback:       o.Fallback,
		Info:           info,
		ICCData:        bytes.Clone(o.ICCData),
		PINBlock:       bytes.Clone(o.PINBlock),
		KSN:            bytes.Clone(o.KSN),
		CardSequenceNo: o.PANSequence,
	}
}

// hostResponse turns the engine's host answer into what the card needs.
// Unreachable is set by the engine only when the request never left (the
// host error was daemon.ErrHostUnreachable): only then may the card
// approve offline.
func hostResponse(a daemon.AuthResponse) emv.HostResponse {
	return emv.HostResponse{
		Approved:     a.Approved,
		ResponseCode: a.ResponseCode,
		AuthCode:     a.AuthCode,
		IssuerData:   a.IssuerData,
		Unreachable:  a.Unreachable,
	}
}

// transaction builds the kernel's transaction from the engine's card
// request: sales and pre-auths are purchases (9C 00), refunds are refunds
// (9C 20). A pre-auth is never approved offline.
func transaction(req daemon.CardRequest, now time.Time) (emv.Transaction, error) {
	tx := emv.Transaction{Amount: req.Amount, Currency: req.Currency, Time: now}
	switch req.Kind {
	case daemon.KindSale:
		tx.Type = emv.TypePurchase
	case daemon.KindPreauth:
		tx.Type = emv.TypePurchase
		tx.NoOfflineApproval = true
	case daemon.KindRefund:
		tx.Type = emv.TypeRefund
	default:
		return emv.Transaction{}, fmt.Errorf("terminal: no card transaction for %q", req.Kind)
	}
	return tx, nil
}

// entryMethod names the engine's entry method of a card interface.
func entryMethod(i emv.Interface) string {
	switch i {
	case emv.Contact:
		return daemon.EntryChip
	case emv.Contactless:
		return daemon.EntryContactless
	case emv.Magstripe:
		return daemon.EntrySwipe
	}
	return ""
}
