package card

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/oda"
)

// RSAKey is a card's RSA key pair in an image (hex): the ICC key a
// virtual card signs DDA and CDA data with. Test keys only.
type RSAKey struct {
	Modulus  emv.Hex `json:"modulus"`
	Exponent emv.Hex `json:"exponent"`
	Private  emv.Hex `json:"private"`
}

func (k *RSAKey) private() oda.PrivateKey {
	return oda.PrivateKey{PublicKey: oda.PublicKey{Modulus: k.Modulus, Exponent: k.Exponent}, D: k.Private}
}

// testKeysJSON holds the simulator's test CA, issuer and ICC key pairs
// (see its comment): not EMVCo keys.
//
//go:embed testkeys.json
var testKeysJSON []byte

type testKeySet struct {
	CA, Issuer, ICC RSAKey
}

var testKeys = sync.OnceValue(func() testKeySet {
	var k testKeySet
	if err := json.Unmarshal(testKeysJSON, &k); err != nil {
		panic("card: testkeys.json: " + err.Error())
	}
	return k
})

// ODA methods and faults of generated cards (Spec.ODA, Spec.ODAFault).
const (
	ODANone = "none"
	ODASDA  = "sda"
	ODADDA  = "dda"
	ODACDA  = "cda"

	FaultIssuerCert  = "issuer-cert"  // issuer public key certificate corrupted
	FaultICCCert     = "icc-cert"     // ICC public key certificate corrupted (DDA, CDA)
	FaultSignature   = "signature"    // signed static data corrupted (SDA), or signed with a wrong ICC key (DDA, CDA)
	FaultCAPKMissing = "capk-missing" // CA public key index the terminal has no key for
	FaultCAPKExpired = "capk-expired" // CA public key index whose key has expired
)

// odaOf is a scheme's usual ODA method for the built-in cards: DDA for
// Visa-style cards, CDA for Mastercard and Maestro, SDA for American
// Express.
func odaOf(scheme string) string {
	switch scheme {
	case "mastercard", "maestro":
		return ODACDA
	case "amex":
		return ODASDA
	}
	return ODADDA
}

// aipODA are the AIP (byte 1) bits of each method.
var aipODA = map[string]byte{ODASDA: 0x40, ODADDA: 0x20, ODACDA: 0x01}

// addODA gives a generated contact application offline data
// authentication: the AIP bit of the method, the AFL flagging the
// records of SFI 2 for authentication, and two records in SFI 3: the CA
// key index and the issuer certificate, then the signed static data (SDA)
// or the ICC certificate and key (DDA, CDA). A response holds at most 256
// bytes, hence two. They are made with the test keys and broken as the
// fault says.
func addODA(f *File, pan, expiryYYMMDD, method, fault string) error {
	bit, ok := aipODA[method]
	if !ok {
		return fmt.Errorf("card: unknown ODA method %q", method)
	}
	switch fault {
	case "", FaultIssuerCert, FaultICCCert, FaultSignature, FaultCAPKMissing, FaultCAPKExpired:
	default:
		return fmt.Errorf("card: unknown ODA fault %q (want one of %s)", fault, odaFaults())
	}
	keys := testKeys()
	aip := bytes.Clone(f.Data["82"])
	aip[0] = aip[0]&^0x61 | bit
	f.Data["82"] = aip
	f.Data["94"] = h("08010100 10010202 18010200")

	var static []byte
	for _, r := range f.Records["2"] {
		objs, err := emv.ParseTLV(r)
		if err != nil || len(objs) != 1 {
			return fmt.Errorf("card: SFI 2 record is not a 70 template")
		}
		static = append(static, objs[0].Value...)
	}
	static = append(static, aip...) // 9F4A names the AIP

	index := oda.TestIndex
	switch fault {
	case FaultCAPKMissing:
		index = oda.TestIndexMissing
	case FaultCAPKExpired:
		index = oda.TestIndexExpired
	}
	issuerCert, issuerRem, err := oda.CertifyIssuer(keys.CA.private(), keys.Issuer.private().PublicKey,
		pan[:6], "1249", [3]byte{0x00, 0x00, 0x01})
	if err != nil {
		return err
	}
	if fault == FaultIssuerCert {
		issuerCert[len(issuerCert)/2] ^= 0x01
	}
	issuerObjs := [][]byte{tlv(emv.TagCAPKIndex, []byte{index}), tlv(emv.TagIssuerPKCert, issuerCert),
		tlv(emv.TagIssuerPKExponent, keys.Issuer.Exponent), tlv(emv.TagSDATagList, h("82"))}
	if len(issuerRem) > 0 {
		issuerObjs = append(issuerObjs, tlv(emv.TagIssuerPKRemainder, issuerRem))
	}
	var objs [][]byte
	if method == ODASDA {
		ssad, err := oda.SignStaticData(keys.Issuer.private(), [2]byte{0xDA, 0xC1}, static)
		if err != nil {
			return err
		}
		if fault == FaultSignature {
			ssad[len(ssad)/2] ^= 0x01
		}
		objs = append(objs, tlv(emv.TagSignedStaticData, ssad))
	} else {
		mmyy := expiryYYMMDD[2:4] + expiryYYMMDD[:2]
		iccCert, iccRem, err := oda.CertifyICC(keys.Issuer.private(), keys.ICC.private().PublicKey,
			pan, mmyy, [3]byte{0x00, 0x00, 0x02}, static)
		if err != nil {
			return err
		}
		if fault == FaultICCCert {
			iccCert[len(iccCert)/2] ^= 0x01
		}
		objs = append(objs, tlv(emv.TagICCPKCert, iccCert), tlv(emv.TagICCPKExponent, keys.ICC.Exponent),
			tlv(emv.TagDDOL, h("9F3704")))
		if len(iccRem) > 0 {
			objs = append(objs, tlv(emv.TagICCPKRemainder, iccRem))
		}
		key := keys.ICC
		if fault == FaultSignature {
			// A private exponent that does not belong to the certified
			// key: every signature the card makes fails.
			key.Private = bytes.Clone(key.Private)
			key.Private[len(key.Private)-1] ^= 0x02
		}
		f.ICCKey = &key
	}
	if f.Records == nil {
		f.Records = map[string][]emv.Hex{}
	}
	f.Records["3"] = []emv.Hex{tlv(emv.TagRecordTemplate, issuerObjs...), tlv(emv.TagRecordTemplate, objs...)}
	return nil
}

// internalAuthenticate is INTERNAL AUTHENTICATE (DDA): the card signs its
// dynamic number and the terminal's DDOL data with its ICC key.
func (c *Card) internalAuthenticate(cmd command) ([]byte, uint16) {
	f := c.cur
	if f == nil || f.ICCKey == nil {
		return nil, 0x6D00
	}
	if !c.gpoDone {
		return nil, 0x6985
	}
	if !cmd.hasData {
		return nil, 0x6700
	}
	idn := c.mac("IDN", c.atcBytes(), cmd.data)
	sig, err := oda.SignDynamicData(f.ICCKey.private(), append([]byte{byte(len(idn))}, idn...), cmd.data)
	if err != nil {
		return nil, 0x6F00
	}
	if f.Format1 {
		return emv.AppendTLV(nil, emv.TagResponseFormat1, sig), 0x9000
	}
	return emv.AppendTLV(nil, emv.TagResponseFormat2, tlv(emv.TagSignedDynamicData, sig)), 0x9000
}

// signedGenerateAC is a GENERATE AC answer with a CDA signature (format
// 2: CID, ATC, signed dynamic application data, IAD): the cryptogram
// travels inside the signature, over the unpredictable number of the
// CDOL data and a hash of the PDOL data, the CDOL data so far and the
// answer's other data objects.
func (c *Card) signedGenerateAC(f *file, cid byte, ac []byte, values []emv.TLV) ([]byte, uint16) {
	var un []byte
	for _, v := range values {
		if v.Tag == emv.TagUnpredictableNumber {
			un = v.Value
		}
	}
	head := emv.Encode(emv.TLV{Tag: emv.TagCID, Value: []byte{cid}}, emv.TLV{Tag: emv.TagATC, Value: c.atcBytes()})
	tail := tlv(emv.TagIAD, c.iad(f))
	txData := bytes.Clone(c.pdolData)
	for _, d := range c.cdolData {
		txData = append(txData, d...)
	}
	txData = append(append(txData, head...), tail...)
	idn := c.mac("IDN", c.atcBytes(), un)
	sig, err := oda.SignDynamicData(f.ICCKey.private(), oda.CDADynamicData(idn, cid, ac, txData), un)
	if err != nil {
		return nil, 0x6F00
	}
	return tlv(emv.TagResponseFormat2, head, tlv(emv.TagSignedDynamicData, sig), tail), 0x9000
}

// odaFaults lists the faults a generated card can carry, for checks.
func odaFaults() string {
	return strings.Join([]string{FaultIssuerCert, FaultICCCert, FaultSignature, FaultCAPKMissing, FaultCAPKExpired}, ", ")
}

// odaTestSpecs are the built-in cards whose offline data authentication
// is good (SDA on a Visa card) or broken in one way each, contact only.
func odaTestSpecs() []Spec {
	card := func(file, name, pan, scheme, method, fault string) Spec {
		return Spec{File: file, Name: name, PAN: pan, Holder: "ODA TEST/" + strings.ToUpper(scheme), Scheme: scheme,
			Expiry: future, Contact: true, PSE: true, CVM: cvmGeneric, ODA: method, ODAFault: fault}
	}
	return []Spec{
		card("visa-sda", "Visa with SDA", "4000000000001018", "visa", ODASDA, ""),
		card("visa-sda-bad-issuer-cert", "Visa, SDA with a corrupted issuer certificate", "4000000000001026", "visa", ODASDA, FaultIssuerCert),
		card("visa-sda-bad-signature", "Visa, SDA with corrupted signed static data", "4000000000001034", "visa", ODASDA, FaultSignature),
		card("visa-sda-capk-missing", "Visa, SDA under a CA key the terminal does not have (index E3)", "4000000000001042", "visa", ODASDA, FaultCAPKMissing),
		card("visa-sda-capk-expired", "Visa, SDA under an expired CA key (index E2)", "4000000000001059", "visa", ODASDA, FaultCAPKExpired),
		card("visa-dda-bad-icc-cert", "Visa, DDA with a corrupted ICC certificate", "4000000000001067", "visa", ODADDA, FaultICCCert),
		card("visa-dda-bad-signature", "Visa, DDA signing with the wrong key", "4000000000001075", "visa", ODADDA, FaultSignature),
		card("mastercard-cda-bad-icc-cert", "Mastercard, CDA with a corrupted ICC certificate", "5555550000001018", "mastercard", ODACDA, FaultICCCert),
		card("mastercard-cda-bad-signature", "Mastercard, CDA signing with the wrong key", "5555550000001026", "mastercard", ODACDA, FaultSignature),
		card("mastercard-cda-bad-issuer-cert", "Mastercard, CDA with a corrupted issuer certificate", "5555550000001034", "mastercard", ODACDA, FaultIssuerCert),
	}
}
