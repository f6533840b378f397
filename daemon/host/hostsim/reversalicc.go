package hostsim

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/emv"
)

// cardDataTags are data objects that name the card (its number, track
// data, holder and expiry): never part of a reversal's chip data.
var cardDataTags = [...]emv.Tag{emv.TagPAN, emv.TagTrack2, 0x56, emv.TagCardholderName, emv.TagExpiryDate,
	0x9F1F, 0x9F20, 0x9F6B}

// reversalChip is what the host keeps of the chip data (55) a reversal
// carries when the card refused the approval after the host gave it: the
// cryptogram's type, the final TVR (95) and the issuer script results
// (9F5B), hex.
type reversalChip struct {
	cryptogram, tvr, scriptResults string
}

// checkReversalICC checks the chip data of a reversal and returns the
// response code that refuses it ("" when it is good): 30 for chip data
// that is not TLV, lacks the cryptogram (9F26, 9F27), holds card data
// (PAN, track data, holder, expiry) or malformed issuer script results;
// 12 for a cryptogram that is not the AAC of a card that refused.
func checkReversalICC(icc []byte) (reversalChip, string, error) {
	if _, err := emv.ParseTLV(icc); err != nil {
		return reversalChip{}, host.RCFormatError, fmt.Errorf("chip data: %w", err)
	}
	for _, t := range cardDataTags {
		if _, ok := emv.Find(icc, t); ok {
			return reversalChip{}, host.RCFormatError, fmt.Errorf("chip data holds card data (tag %X)", uint32(t))
		}
	}
	ac, ok1 := emv.Find(icc, emv.TagCryptogram)
	cid, ok2 := emv.Find(icc, emv.TagCID)
	switch {
	case !ok1 || !ok2 || len(ac) != 8 || len(cid) != 1:
		return reversalChip{}, host.RCFormatError, errors.New("chip data without cryptogram (9F26) and its type (9F27)")
	case cid[0]&0xC0 != emv.CryptogramAAC:
		return reversalChip{}, host.RCInvalidTxn, fmt.Errorf("cryptogram is %s, not the AAC of a card that refused", emv.CryptogramName(cid[0]))
	}
	out := reversalChip{cryptogram: emv.CryptogramName(cid[0])}
	if v, ok := emv.Find(icc, emv.TagTVR); ok {
		out.tvr = strings.ToUpper(hex.EncodeToString(v))
	}
	if r, ok := emv.Find(icc, emv.TagIssuerScriptResults); ok {
		if err := host.CheckScriptResults(r); err != nil {
			return reversalChip{}, host.RCFormatError, err
		}
		out.scriptResults = strings.ToUpper(hex.EncodeToString(r))
	}
	return out, "", nil
}
