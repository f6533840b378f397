package card

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/pan"
)

// Spec describes a generated test card: the built-in images are made from
// Specs, and ForPAN makes one for any Luhn-valid card number.
type Spec struct {
	File, Name   string
	PAN, Holder  string
	Scheme       string // visa, mastercard, maestro, amex, discover, jcb, unionpay
	Expiry       string // YYMMDD
	Contact      bool
	Contactless  bool
	PSE          bool
	T0           bool
	CVM          string // CVM list: X, Y, rules
	CTQ          string // contactless CTQ (Visa)
	PIN          string
	ContactPDOL  string
	ServiceCode  string
	IACDenial    string
	IACOnline    string
	IACDefault   string
	IssuerCounty string
	// ODA is the contact application's offline data authentication
	// (ODASDA, ODADDA, ODACDA, ODANone); "" is the scheme's usual one.
	// ODAFault breaks it for the failing test cards (FaultIssuerCert,
	// ...).
	ODA      string
	ODAFault string
}

const (
	cvmGeneric   = "00000000 00002710 5E09 1F03"      // signature over 100.00 USD, else no CVM
	cvmSignature = "00000000 00000000 5E03 1F03"      // signature
	cvmOnlinePIN = "00000000 00000000 4203 5E03 1F03" // online PIN, else signature
	cvmOffline   = "00000000 00000000 4103 5E03 1F03" // offline PIN, else signature
	future       = "311231"
)

// builtinSpecs are the specs of the built-in images.
func builtinSpecs() []Spec {
	visa := func(file, name, pan, holder string) Spec {
		return Spec{File: file, Name: name, PAN: pan, Holder: holder, Scheme: "visa", Expiry: future,
			Contact: true, Contactless: true, PSE: true, CVM: cvmGeneric, CTQ: "4000"}
	}
	approved := visa("visa-approved", "Visa, approved by the issuer; T=0 contact", "4242424242424242", "APPROVED/VISA")
	approved.T0 = true
	expired := visa("visa-expired", "Visa, expired (issuer declines 54)", "4000000000000069", "EXPIRED/VISA")
	expired.Expiry = "240131"
	signature := visa("visa-signature", "Visa, chip and signature", "4000000000000077", "SIGNATURE/VISA")
	signature.CVM, signature.Contactless = cvmSignature, false
	offline := visa("visa-offline-pin", "Visa, offline plaintext PIN 1234, else signature", "4000002500003155", "OFFLINE PIN/VISA")
	offline.CVM, offline.PIN, offline.Contactless, offline.T0 = cvmOffline, "1234", false, true
	offline.ContactPDOL = "9F02069F1A025F2A029A039C019F3704"
	wrongPIN := visa("visa-incorrect-pin", "Visa, online PIN (issuer answers 55)", "4000000000000127", "WRONG PIN/VISA")
	wrongPIN.CVM, wrongPIN.CTQ = cvmOnlinePIN, "8000"
	clOnly := visa("visa-contactless", "Visa, contactless only, online PIN over the CVM limit", "4000056655665556", "CONTACTLESS/VISA")
	clOnly.Contact, clOnly.CTQ = false, "8000"
	return append([]Spec{
		approved,
		visa("visa-declined", "Visa, declined by the issuer (05)", "4000000000000002", "DECLINED/VISA"),
		visa("visa-insufficient-funds", "Visa, insufficient funds (51)", "4000000000009995", "FUNDS/VISA"),
		expired,
		signature,
		offline,
		wrongPIN,
		visa("visa-issuer-unavailable", "Visa, issuer unavailable (96)", "4000000000000119", "UNAVAILABLE/VISA"),
		clOnly,
		{File: "mastercard", Name: "Mastercard M/Chip and contactless", PAN: "5555555555554444",
			Holder: "APPROVED/MASTERCARD", Scheme: "mastercard", Expiry: future, Contact: true,
			Contactless: true, PSE: true, CVM: cvmOnlinePIN},
		{File: "mastercard-online-pin", Name: "Mastercard debit, online PIN, no PSE", PAN: "5200828282828210",
			Holder: "ONLINE PIN/MASTERCARD", Scheme: "mastercard", Expiry: future, Contact: true, CVM: cvmOnlinePIN},
		{File: "maestro", Name: "Maestro, online PIN", PAN: "6759649826438453", Holder: "MAESTRO/TEST",
			Scheme: "maestro", Expiry: future, Contact: true, PSE: true, CVM: cvmOnlinePIN},
		{File: "amex", Name: "American Express, contact and contactless", PAN: "378282246310005",
			Holder: "AMEX/TEST", Scheme: "amex", Expiry: future, Contact: true, Contactless: true, PSE: true, CVM: cvmGeneric},
		{File: "discover", Name: "Discover D-PAS", PAN: "6011111111111117", Holder: "DISCOVER/TEST",
			Scheme: "discover", Expiry: future, Contact: true, PSE: true, CVM: cvmGeneric},
		{File: "jcb", Name: "JCB J/Smart", PAN: "3566002020360505", Holder: "JCB/TEST",
			Scheme: "jcb", Expiry: future, Contact: true, PSE: true, CVM: cvmGeneric},
		{File: "unionpay", Name: "UnionPay debit", PAN: "6200000000000005", Holder: "UNIONPAY/TEST",
			Scheme: "unionpay", Expiry: future, Contact: true, PSE: true, CVM: cvmOnlinePIN},
	}, odaTestSpecs()...)
}

// scheme is what differs between the schemes' applications.
type scheme struct {
	aid, label, preferred, version, aip, iad string
	cdol1, cdol2                             string
	format1                                  bool
	denial, online, def                      string
}

func schemeOf(name string) scheme {
	visa := scheme{aid: "A0000000031010", label: "VISA CREDIT", preferred: "Visa Credit", version: "008C",
		aip: "3C00", iad: "06010A03A00000", format1: true,
		cdol1:  "9F02069F03069F1A0295055F2A029A039C019F37049F35019F3403",
		cdol2:  "8A029F02069F03069F1A0295055F2A029A039C019F3704",
		denial: "0010000000", online: "DC4004F800", def: "DC4000A800"}
	mc := scheme{aid: "A0000000041010", label: "MASTERCARD", preferred: "Mastercard", version: "0002",
		aip: "1C00", iad: "0110A00003220000000000000000000000FF",
		cdol1:  "9F02069F03069F1A0295055F2A029A039C019F37049F35019F45029F4C089F3403",
		cdol2:  "910A8A0295059F37049F4C08",
		denial: "0000000000", online: "F45084800C", def: "F45084800C"}
	switch name {
	case "visa":
		return visa
	case "mastercard":
		return mc
	case "maestro":
		mc.aid, mc.label, mc.preferred = "A0000000043060", "MAESTRO", "Maestro"
		return mc
	case "amex":
		mc.aid, mc.label, mc.preferred, mc.version, mc.iad = "A00000002501", "AMERICAN EXPRESS", "American Express", "0001", "06020103A40000"
		mc.cdol2 = "8A029F02069F03069F1A0295055F2A029A039C019F3704"
		return mc
	case "discover":
		visa.aid, visa.label, visa.preferred, visa.version = "A0000001523010", "DISCOVER", "Discover", "0001"
		return visa
	case "jcb":
		visa.aid, visa.label, visa.preferred, visa.version = "A0000000651010", "JCB CREDIT", "JCB Credit", "0200"
		return visa
	case "unionpay":
		visa.aid, visa.label, visa.preferred, visa.version = "A000000333010101", "UnionPay Debit", "UnionPay Debit", "0030"
		return visa
	}
	return visa // other schemes are generated with Visa-like data
}

// tlv encodes one data object; constructed ones take encoded children.
func tlv(tag emv.Tag, parts ...[]byte) []byte { return emv.AppendTLV(nil, tag, bytes.Join(parts, nil)) }

func h(s string) []byte { return emv.MustHex(s) }

func ascii(s string) []byte { return []byte(s) }

// Generate turns a spec into a card image.
func Generate(s Spec) (*Image, error) {
	if !pan.Valid(s.PAN) {
		return nil, fmt.Errorf("card: %s: PAN fails Luhn", s.File)
	}
	sc := schemeOf(s.Scheme)
	aid := sc.aid
	service := s.ServiceCode
	if service == "" {
		service = "201"
	}
	pan, err := hex.DecodeString(padF(s.PAN))
	if err != nil {
		return nil, err
	}
	track := emv.Track2{PAN: s.PAN, Expiry: s.Expiry[:4], ServiceCode: service, Discretionary: "1010000000000000"}
	holder := s.Holder + strings.Repeat(" ", max(0, 26-len(s.Holder)))
	country := s.IssuerCounty
	if country == "" {
		country = "0840"
	}
	denial, online, def := firstNonEmpty(s.IACDenial, sc.denial), firstNonEmpty(s.IACOnline, sc.online), firstNonEmpty(s.IACDefault, sc.def)

	img := &Image{Name: s.Name, ATR: h("3B8880014A434F503331563232"), PIN: s.PIN, T0: s.T0}
	if s.T0 {
		img.ATR = h("3B6800000073C84013009000")
	}
	if s.PIN != "" {
		img.PINTryLimit = 3
	}
	dirEntry := tlv(emv.TagApplicationTemplate,
		tlv(emv.TagAID, h(aid)), tlv(emv.TagApplicationLabel, ascii(sc.label)), tlv(emv.TagPriority, h("01")))

	if s.Contact {
		img.Files = map[string]File{}
		if s.PSE {
			img.Files[dfName("1PAY.SYS.DDF01")] = File{
				FCI: tlv(emv.TagFCI, tlv(emv.TagDFName, ascii("1PAY.SYS.DDF01")),
					tlv(emv.TagFCIProprietary, tlv(emv.TagSFI, h("01")), tlv(emv.TagLanguagePreference, ascii("en")))),
				Records: map[string][]emv.Hex{"1": {tlv(emv.TagRecordTemplate, dirEntry)}},
			}
		}
		prop := [][]byte{tlv(emv.TagApplicationLabel, ascii(sc.label)), tlv(emv.TagPriority, h("01")),
			tlv(emv.TagLanguagePreference, ascii("en")), tlv(emv.TagIssuerCodeTable, h("01")),
			tlv(emv.TagPreferredName, ascii(sc.preferred))}
		if s.ContactPDOL != "" {
			prop = append(prop, tlv(emv.TagPDOL, h(s.ContactPDOL)))
		}
		rec1 := tlv(emv.TagRecordTemplate, tlv(emv.TagTrack2, track.Equivalent()),
			tlv(emv.TagCardholderName, ascii(holder)), tlv(0x9F1F, ascii("1010000000000000")))
		rec2 := tlv(emv.TagRecordTemplate, tlv(emv.TagPAN, pan), tlv(emv.TagExpiryDate, h(s.Expiry)),
			tlv(emv.TagEffectiveDate, h("200101")), tlv(emv.TagIssuerCountry, h(country)),
			tlv(emv.TagPANSequence, h("01")), tlv(emv.TagAUC, h("FF00")), tlv(emv.TagServiceCode, h("0"+service)),
			tlv(emv.TagCVMList, h(s.CVM)), tlv(emv.TagIACDefault, h(def)), tlv(emv.TagIACDenial, h(denial)),
			tlv(emv.TagIACOnline, h(online)))
		rec3 := tlv(emv.TagRecordTemplate, tlv(emv.TagCDOL1, h(sc.cdol1)), tlv(emv.TagCDOL2, h(sc.cdol2)),
			tlv(emv.TagAppVersionCard, h(sc.version)), tlv(emv.TagApplicationCurrency, h("0840")),
			tlv(emv.TagApplicationCurrencyExp, h("02")), tlv(emv.TagLCOL, h("05")), tlv(emv.TagUCOL, h("0A")))
		data := map[string]emv.Hex{"82": h(sc.aip), "94": h("0801010010010200"), "9F36": h("0010"),
			"9F13": h("000F"), "9F10": h(sc.iad)}
		if s.PIN != "" {
			data["9F17"] = h("03")
		}
		app := File{
			FCI:     tlv(emv.TagFCI, tlv(emv.TagDFName, h(aid)), tlv(emv.TagFCIProprietary, prop...)),
			Records: map[string][]emv.Hex{"1": {rec1}, "2": {rec2, rec3}},
			Data:    data,
			Format1: sc.format1,
		}
		if method := firstNonEmpty(s.ODA, odaOf(s.Scheme)); method != ODANone {
			if err := addODA(&app, s.PAN, s.Expiry, method, s.ODAFault); err != nil {
				return nil, fmt.Errorf("card: %s: %w", s.File, err)
			}
		} else {
			data["82"] = h(sc.aip)
			data["82"][0] &^= 0x61 // no SDA, DDA or CDA
		}
		img.Files[aid] = app
	}
	if s.Contactless {
		img.Contactless = map[string]File{
			dfName("2PAY.SYS.DDF01"): {
				FCI: tlv(emv.TagFCI, tlv(emv.TagDFName, ascii("2PAY.SYS.DDF01")),
					tlv(emv.TagFCIProprietary, tlv(emv.TagFCIIssuerDiscretionary, dirEntry))),
			},
		}
		clTrack := track
		clTrack.Discretionary = "0000000000000000"
		if s.Scheme == "visa" {
			// qVSDC: the cryptogram comes with GET PROCESSING OPTIONS.
			pdol := "9F66049F02069F03069F1A0295055F2A029A039C019F3704"
			rec := tlv(emv.TagRecordTemplate, tlv(emv.TagTrack2, clTrack.Equivalent()),
				tlv(emv.TagCardholderName, ascii(holder)), tlv(emv.TagPAN, pan), tlv(emv.TagExpiryDate, h(s.Expiry)),
				tlv(emv.TagIssuerCountry, h(country)), tlv(emv.TagAUC, h("FF00")))
			img.Contactless[aid] = File{
				FCI: tlv(emv.TagFCI, tlv(emv.TagDFName, h(aid)), tlv(emv.TagFCIProprietary,
					tlv(emv.TagApplicationLabel, ascii(sc.label)), tlv(emv.TagPriority, h("01")),
					tlv(emv.TagPDOL, h(pdol)), tlv(emv.TagLanguagePreference, ascii("en")))),
				Records: map[string][]emv.Hex{"1": {rec}},
				Data: map[string]emv.Hex{"82": h("2000"), "94": h("08010100"), "9F36": h("0010"),
					"9F10": h("06011203A00000"), "9F6C": h(s.CTQ), "9F6E": h("20700000"), "5F34": h("01")},
				GPOCryptogram: true,
			}
		} else {
			// M/Chip style: records, then GENERATE AC.
			rec1 := tlv(emv.TagRecordTemplate, tlv(emv.TagTrack2, clTrack.Equivalent()),
				tlv(emv.TagCardholderName, ascii(holder)))
			rec2 := tlv(emv.TagRecordTemplate, tlv(emv.TagPAN, pan), tlv(emv.TagExpiryDate, h(s.Expiry)),
				tlv(emv.TagIssuerCountry, h(country)), tlv(emv.TagPANSequence, h("01")), tlv(emv.TagAUC, h("FF00")),
				tlv(emv.TagCVMList, h(s.CVM)), tlv(emv.TagCDOL1, h(sc.cdol1)), tlv(emv.TagCDOL2, h(sc.cdol2)),
				tlv(emv.TagIACDefault, h(def)), tlv(emv.TagIACDenial, h(denial)), tlv(emv.TagIACOnline, h(online)),
				tlv(emv.TagApplicationCurrency, h("0840")))
			img.Contactless[aid] = File{
				FCI: tlv(emv.TagFCI, tlv(emv.TagDFName, h(aid)), tlv(emv.TagFCIProprietary,
					tlv(emv.TagApplicationLabel, ascii(sc.label)), tlv(emv.TagPriority, h("01")),
					tlv(emv.TagLanguagePreference, ascii("en")))),
				Records: map[string][]emv.Hex{"1": {rec1, rec2}},
				// AIP 1880: EMV mode, no SDA/DDA/CDA (this application
				// carries no certificates).
				Data: map[string]emv.Hex{"82": h("1880"), "94": h("08010200"), "9F36": h("0010"), "9F10": h(sc.iad)},
			}
		}
	}
	if err := img.Validate(); err != nil {
		return nil, err
	}
	return img, nil
}

func dfName(s string) string { return strings.ToUpper(hex.EncodeToString([]byte(s))) }

func padF(pan string) string {
	if len(pan)%2 == 1 {
		return pan + "F"
	}
	return pan
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ForPAN returns the built-in image with the card number, or generates a
// card of the number's scheme (contact, contactless and magstripe, generic
// CVM list) so that any Luhn-valid number can be presented.
func ForPAN(pan string) (*Image, error) {
	if img, err := BuiltinByPAN(pan); err == nil {
		return img, nil
	}
	return generateFor(pan, "")
}

// MagstripeOnly generates a card whose stripe says it has no chip (service
// code 101), for swipe transactions.
func MagstripeOnly(pan string) (*Image, error) { return generateFor(pan, "101") }

func generateFor(number, serviceCode string) (*Image, error) {
	s := Spec{ServiceCode: serviceCode, File: "generated", Name: "generated " + pan.Scheme(number) + " card", PAN: number, Holder: "TEST/CARDHOLDER",
		Scheme: pan.Scheme(number), Expiry: "311231", Contact: true, Contactless: true, PSE: true, CVM: cvmGeneric, CTQ: "4000"}
	switch s.Scheme {
	case "visa", "mastercard", "maestro", "amex", "discover", "jcb", "unionpay":
	default:
		s.Scheme = "visa"
	}
	return Generate(s)
}
