package emv

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTVRBits(t *testing.T) {
	t.Parallel()
	var tvr TVR
	tvr.Set(TVROfflineDataAuthNotPerformed)
	tvr.Set(TVRExpired)
	tvr.Set(TVROnlinePINEntered)
	tvr.Set(TVRFloorLimitExceeded)
	tvr.Set(TVRIssuerAuthFailed)
	if got := tvr.String(); got != "8040048040" {
		t.Errorf("TVR = %s", got)
	}
	if !tvr.Has(TVRExpired) || tvr.Has(TVRNewCard) {
		t.Error("Has")
	}
	var tsi TSI
	tsi.Set(TSICardholderVerification)
	tsi.Set(TSICardRiskManagement)
	tsi.Set(TSITerminalRiskManagement)
	if tsi.String() != "6800" || !tsi.Has(TSICardRiskManagement) {
		t.Errorf("TSI = %s", tsi)
	}
}

func tvrOf(s string) TVR {
	var t TVR
	copy(t[:], MustHex(s))
	return t
}

// TestActionAnalysis covers EMV Book 3 10.7 with the Visa TACs.
func TestActionAnalysis(t *testing.T) {
	t.Parallel()
	visa := actionCodes{tacDenial: MustHex("0010000000"), tacOnline: MustHex("DC4004F800")}
	for _, tc := range []struct {
		name       string
		tvr        string
		codes      actionCodes
		onlineOnly bool
		want       byte
	}{
		{"clean TVR, offline-capable: TC", "0000000000", withIAC(visa, "0000000000", "0000000000"), false, CryptogramTC},
		{"clean TVR, online-only: ARQC", "0000000000", withIAC(visa, "0000000000", "0000000000"), true, CryptogramARQC},
		{"service not allowed: TAC denial", "0010000000", visa, true, CryptogramAAC},
		{"floor limit: TAC online", "0000008000", withIAC(visa, "0000000000", "0000000000"), false, CryptogramARQC},
		{"ODA not performed: TAC online", "8000000000", withIAC(visa, "0000000000", "0000000000"), false, CryptogramARQC},
		{"expired, IAC denial has it", "0040000000", withIAC(visa, "0040000000", "0000000000"), true, CryptogramAAC},
		{"IAC online absent means all ones", "0000000800", actionCodes{tacDenial: MustHex("0000000000"), tacOnline: MustHex("0000000000")}, false, CryptogramARQC},
		{"IAC online present and not matching", "0000000800", withIAC(actionCodes{tacDenial: MustHex("0000000000"), tacOnline: MustHex("0000000000")}, "0000000000", "0000000000"), false, CryptogramTC},
	} {
		if got := actionAnalysis(tvrOf(tc.tvr), tc.codes, tc.onlineOnly); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, CryptogramName(got), CryptogramName(tc.want))
		}
	}
}

func withIAC(c actionCodes, denial, online string) actionCodes {
	c.iacDenial, c.iacOnline = MustHex(denial), MustHex(online)
	return c
}

func TestVelocity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name             string
		atc, last        uint16
		okATC, okLast    bool
		lcol, ucol       byte
		lower, upper, nw bool
	}{
		{"within limits", 12, 10, true, true, 5, 10, false, false, false},
		{"over lower", 17, 10, true, true, 5, 10, true, false, false},
		{"over both", 30, 10, true, true, 5, 10, true, true, false},
		{"new card", 3, 0, true, true, 5, 10, false, false, true},
		{"ATC not above last online", 10, 10, true, true, 5, 10, true, true, false},
		{"counters unreadable", 0, 0, false, false, 5, 10, true, true, false},
	} {
		tvr := velocity(TVR{}, tc.atc, tc.okATC, tc.last, tc.okLast, tc.lcol, tc.ucol)
		if tvr.Has(TVRLowerOfflineLimitExceeded) != tc.lower || tvr.Has(TVRUpperOfflineLimitExceeded) != tc.upper || tvr.Has(TVRNewCard) != tc.nw {
			t.Errorf("%s: TVR %s", tc.name, tvr)
		}
	}
}

func TestAUC(t *testing.T) {
	t.Parallel()
	us, de := MustHex("0840"), MustHex("0276")
	for _, tc := range []struct {
		name    string
		auc     string
		tt      TransactionType
		issuer  []byte
		atm     bool
		allowed bool
	}{
		{"all allowed", "FF00", TypePurchase, us, false, true},
		{"ATM only card at a POS", "FF02"[:2] + "00", TypePurchase, us, false, true},
		{"not valid at terminals other than ATMs", "FE00", TypePurchase, us, false, false},
		{"domestic goods only, abroad", "2900", TypePurchase, de, false, false},
		{"domestic goods only, at home", "2900", TypePurchase, us, false, true},
		{"international services abroad", "0500", TypePurchase, de, false, true},
		{"cash abroad without international cash", "BF00", TypeCash, de, false, false},
		{"cashback at home allowed", "2980", TypeCashback, us, false, true},
		{"cashback at home not allowed", "2940", TypeCashback, us, false, false},
		{"no issuer country: only the terminal-kind check", "0100", TypeCash, nil, false, true},
		{"ATM needs the ATM bit", "FD00", TypeCash, us, true, false},
		{"refund is not restricted", "0100", TypeRefund, de, false, true},
	} {
		if got := aucAllows(MustHex(tc.auc), tc.tt, tc.issuer, us, tc.atm); got != tc.allowed {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

func TestCardDates(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		date          string
		before, after bool
	}{
		{"260314", true, false},
		{"260315", false, false},
		{"260316", false, true},
		{"491231", false, true}, // 2049
		{"501231", true, false}, // 1950
		{"991231", true, false},
	} {
		b := MustHex(tc.date)
		if dateBefore(b, day) != tc.before || dateAfter(b, day) != tc.after {
			t.Errorf("%s: before %v after %v", tc.date, dateBefore(b, day), dateAfter(b, day))
		}
	}
	if dateBefore(MustHex("2603"), day) || dateBefore(MustHex("26AB15"), day) {
		t.Error("bad dates compare as nothing")
	}
}

func TestParseCVMList(t *testing.T) {
	t.Parallel()
	// Book 3 Annex C3 example style: X = 10.00, Y = 0; offline PIN then
	// signature then no CVM.
	l, err := ParseCVMList(MustHex("000003E8 00000000 4103 5E03 1F03"))
	if err != nil {
		t.Fatal(err)
	}
	if l.X != 1000 || l.Y != 0 || len(l.Rules) != 3 {
		t.Fatalf("%+v", l)
	}
	if r := l.Rules[0]; r.Method != CVMPlaintextPIN || !r.ApplyNext || r.Condition != 0x03 {
		t.Errorf("rule 0 %+v", r)
	}
	if r := l.Rules[2]; r.Method != CVMNoCVM || r.ApplyNext {
		t.Errorf("rule 2 %+v", r)
	}
	for _, bad := range []string{"", "00000000", "0000000000000000 41"} {
		if _, err := ParseCVMList(MustHex(bad)); err == nil {
			t.Errorf("ParseCVMList(%q) accepted", bad)
		}
	}
	if CVMSignature.String() != "signature" || CVMMethod(0x2A).String() != "CVM 2A" {
		t.Error("CVMMethod.String")
	}
}

func TestCVMConditions(t *testing.T) {
	t.Parallel()
	all := func(CVMMethod) bool { return true }
	none := func(CVMMethod) bool { return false }
	base := cvmConditions{txType: TypePurchase, amount: 1500, appCurrency: true, supports: all}
	for _, tc := range []struct {
		name            string
		c               cvmConditions
		cond            byte
		met, understood bool
	}{
		{"always", base, 0x00, true, true},
		{"unattended cash, purchase", base, 0x01, false, true},
		{"not cash or cashback, purchase", base, 0x02, true, true},
		{"not cash or cashback, cashback", with(base, func(c *cvmConditions) { c.txType = TypeCashback }), 0x02, false, true},
		{"terminal supports", base, 0x03, true, true},
		{"terminal does not support", with(base, func(c *cvmConditions) { c.supports = none }), 0x03, false, true},
		{"manual cash, attended", with(base, func(c *cvmConditions) { c.txType = TypeCash }), 0x04, true, true},
		{"unattended cash", with(base, func(c *cvmConditions) { c.txType, c.unattended = TypeCash, true }), 0x01, true, true},
		{"cashback", with(base, func(c *cvmConditions) { c.txType = TypeCashback }), 0x05, true, true},
		{"under X", base, 0x06, false, true},
		{"over X", base, 0x07, true, true},
		{"under Y", base, 0x08, true, true},
		{"over Y", base, 0x09, false, true},
		{"over X, other currency", with(base, func(c *cvmConditions) { c.appCurrency = false }), 0x07, false, true},
		{"RFU condition", base, 0x0A, false, false},
	} {
		met, understood := tc.c.met(tc.cond, CVMOnlinePIN, 1000, 2000)
		if met != tc.met || understood != tc.understood {
			t.Errorf("%s: met %v understood %v", tc.name, met, understood)
		}
	}
}

func with(c cvmConditions, f func(*cvmConditions)) cvmConditions { f(&c); return c }

func TestTrack2(t *testing.T) {
	t.Parallel()
	tr, err := ParseTrack2(";4242424242424242=31122011010000000000?7")
	if err != nil {
		t.Fatal(err)
	}
	if tr.PAN != "4242424242424242" || tr.Expiry != "3112" || tr.ServiceCode != "201" || !tr.ChipCard() {
		t.Errorf("%+v", tr)
	}
	if s := tr.String(); strings.Contains(s, "4242424242424242") || !strings.Contains(s, "************4242") {
		t.Errorf("String leaks: %s", s)
	}
	eq := tr.Equivalent()
	back, err := ParseTrack2Equivalent(eq)
	if err != nil || back != tr {
		t.Errorf("equivalent round trip: %+v %v", back, err)
	}
	if got := MustHex("4242424242424242D31122011010000000000F"); !bytes.Equal(eq, got) {
		t.Errorf("Equivalent = % X", eq)
	}
	for _, tc := range []struct {
		in   string
		fail bool
		pin  pinPolicy
		chip bool
	}{
		{"4000000000000002=3112101", false, pinNone, false},
		{"4000000000000002=3112120", false, pinRequired, false},
		{"4000000000000002=3112106", false, pinIfPINPad, false},
		{"4000000000000002=3112601", false, pinNone, true},
		{"4000000000000003=3112101", true, 0, false}, // Luhn
		{"4000000000000002=3113101", true, 0, false}, // month 13
		{"4000000000000002=31121", true, 0, false},   // short
		{"4000000000000002D3112101", true, 0, false}, // wrong separator for a swipe
		{"40000000002=3112101", true, 0, false},      // PAN too short
		{"4000000000000002=3112108", false, pinNoService, false},
	} {
		tr, err := ParseTrack2(tc.in)
		if tc.fail {
			if !errors.Is(err, ErrBadTrack) {
				t.Errorf("%s: %v, want ErrBadTrack", tc.in, err)
			}
			continue
		}
		if err != nil || tr.pinPolicy() != tc.pin || tr.ChipCard() != tc.chip {
			t.Errorf("%s: %+v %v policy %d", tc.in, tr, err, tr.pinPolicy())
		}
	}
}

func TestSchemes(t *testing.T) {
	t.Parallel()
	for aid, want := range map[string]string{
		"A0000000031010": "visa", "A0000000032010": "visa", "A0000000041010": "mastercard",
		"A0000000043060": "maestro", "A00000002501": "amex", "A0000001523010": "discover",
		"A0000000651010": "jcb", "A000000333010101": "unionpay", "A0000002771010": "interac",
		"A0000009999999": "",
	} {
		if got := SchemeFromAID(MustHex(aid)); got != want {
			t.Errorf("SchemeFromAID(%s) = %q, want %q", aid, got, want)
		}
	}
}

func TestCurrencyAndBCD(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"USD": "840", "eur": "978", "JPY": "392", "978": "978", "999": "999"} {
		if code, _, ok := CurrencyCode(in); !ok || code != want {
			t.Errorf("CurrencyCode(%s) = %s %v", in, code, ok)
		}
	}
	if _, exp, _ := CurrencyCode("JPY"); exp != 0 {
		t.Error("JPY has no minor unit")
	}
	if _, _, ok := CurrencyCode("XX"); ok {
		t.Error("XX is not a currency")
	}
	if b, _ := bcd("840", 2); !bytes.Equal(b, MustHex("0840")) {
		t.Errorf("bcd 840 = % X", b)
	}
	if !bytes.Equal(bcdAmount(123456), MustHex("000000123456")) || !bytes.Equal(bcdAmount(-1), make([]byte, 6)) {
		t.Error("bcdAmount")
	}
	if digits(MustHex("4761739001010010FF")) != "4761739001010010" || digits(MustHex("47617F")) != "47617" {
		t.Error("digits")
	}
}

func TestParseAFL(t *testing.T) {
	t.Parallel()
	afl, err := ParseAFL(MustHex("08010100 10010301 18010200"))
	if err != nil || len(afl) != 3 || afl[1] != (AFLEntry{SFI: 2, First: 1, Last: 3, ODA: 1}) {
		t.Fatalf("%v %v", afl, err)
	}
	for _, bad := range []string{"080101", "00010100", "08000100", "08020100", "08010102", "F8010100", "09010100"} {
		if _, err := ParseAFL(MustHex(bad)); !errors.Is(err, ErrCard) {
			t.Errorf("ParseAFL(%s) = %v", bad, err)
		}
	}
}

func TestOfflinePINResult(t *testing.T) {
	t.Parallel()
	for sw, want := range map[uint16]OfflinePINResult{
		0x9000: {PINVerified, -1}, 0x63C2: {PINWrong, 2}, 0x63C0: {PINBlocked, 0},
		0x6983: {PINBlocked, 0}, 0x6984: {PINBlocked, 0},
	} {
		if got, err := offlinePINResult(sw); err != nil || got != want {
			t.Errorf("%04X: %+v %v", sw, got, err)
		}
	}
	if _, err := offlinePINResult(0x6A88); !errors.Is(err, ErrCard) {
		t.Error("6A88 is a card error")
	}
	cmd, err := VerifyPlaintextPINCommand([]byte("12345"))
	if err != nil || !bytes.Equal(cmd, MustHex("0020008008 25 12345FFFFFFFFF")) {
		t.Errorf("VERIFY = % X %v", cmd, err)
	}
	for _, bad := range []string{"123", "1234567890123", "12a4"} {
		if _, err := VerifyPlaintextPINCommand([]byte(bad)); err == nil {
			t.Errorf("PIN %q accepted", bad)
		}
	}
}

// scripted is a Transport that answers from a list and records commands.
type scripted struct {
	answers []string
	sent    [][]byte
}

func (s *scripted) Transmit(_ context.Context, apdu []byte) ([]byte, error) {
	s.sent = append(s.sent, bytes.Clone(apdu))
	if len(s.answers) == 0 {
		return nil, errors.New("no more answers")
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return MustHex(a), nil
}

// TestExchangeT0 covers EMV Book 1 9.3: 61xx fetches with GET RESPONSE, 6Cxx
// resends with the right Le.
func TestExchangeT0(t *testing.T) {
	t.Parallel()
	tr := &scripted{answers: []string{"6110", "0102030405060708 6108", "090A0B0C0D0E0F10 9000"}}
	data, sw, err := Exchange(context.Background(), tr, SelectCommand([]byte("1PAY.SYS.DDF01"), false))
	if err != nil || sw != SWOK || !bytes.Equal(data, MustHex("0102030405060708090A0B0C0D0E0F10")) {
		t.Fatalf("61xx: % X %04X %v", data, sw, err)
	}
	if !bytes.Equal(tr.sent[1], MustHex("00C0000010")) || !bytes.Equal(tr.sent[2], MustHex("00C0000008")) {
		t.Errorf("GET RESPONSE commands: % X", tr.sent)
	}

	tr = &scripted{answers: []string{"6C1B", "70 19 5A08 4242424242424242 5F2403311231 5F3401 01 9F0702FF00 9000"}}
	data, sw, err = Exchange(context.Background(), tr, ReadRecordCommand(1, 1))
	if err != nil || sw != SWOK || len(data) != 0x1B {
		t.Fatalf("6Cxx: % X %04X %v", data, sw, err)
	}
	if !bytes.Equal(tr.sent[1], MustHex("00B201 0C 1B")) {
		t.Errorf("resent % X", tr.sent[1])
	}

	// 6Cxx on a command without Le appends one; case 4 replaces it.
	if got := withLe(MustHex("80CA9F17"), 4); !bytes.Equal(got, MustHex("80CA9F1704")) {
		t.Errorf("case 1: % X", got)
	}
	if got := withLe(MustHex("0082000002AABB"), 4); !bytes.Equal(got, MustHex("0082000002AABB04")) {
		t.Errorf("case 3: % X", got)
	}
	if got := withLe(MustHex("00A4040002AABB00"), 9); !bytes.Equal(got, MustHex("00A4040002AABB09")) {
		t.Errorf("case 4: % X", got)
	}

	// A card that never stops chaining is cut off.
	loop := &scripted{}
	for range maxChain + 1 {
		loop.answers = append(loop.answers, "6101")
	}
	if _, _, err := Exchange(context.Background(), loop, ReadRecordCommand(1, 1)); !errors.Is(err, ErrCard) {
		t.Errorf("endless 61xx: %v", err)
	}
	if _, _, err := Exchange(context.Background(), &scripted{answers: []string{"90"}}, ReadRecordCommand(1, 1)); !errors.Is(err, ErrCard) {
		t.Errorf("one-byte response: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Exchange(ctx, &scripted{answers: []string{"9000"}}, ReadRecordCommand(1, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if _, err := NewKernel(DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	bad := DefaultConfig()
	bad.Capabilities = MustHex("E0")
	bad.CountryCode = "ABC"
	bad.AIDs = append(bad.AIDs, AIDConfig{AID: MustHex("A000"), TACOnline: MustHex("00")})
	bad.FloorLimit = -1
	_, err := NewKernel(bad)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"9F33", "country", "A000", "negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	var h Hex
	if err := h.UnmarshalText([]byte("A0 00 00 00 03")); err != nil || h.String() != "A000000003" {
		t.Errorf("Hex: %s %v", h, err)
	}
	if err := h.UnmarshalText([]byte("A0Z")); err == nil {
		t.Error("bad hex accepted")
	}
}

func TestMatchAID(t *testing.T) {
	t.Parallel()
	aids := []AIDConfig{
		{AID: MustHex("A0000000031010"), Scheme: "visa", Contact: true},
		{AID: MustHex("A000000003"), Scheme: "visa-partial", PartialMatch: true, Contact: true, Contactless: true},
		{AID: MustHex("A0000000041010"), Scheme: "mastercard", Contact: true, Contactless: true},
	}
	for _, tc := range []struct {
		aid    string
		iface  Interface
		scheme string
	}{
		{"A0000000031010", Contact, "visa"},             // exact beats partial
		{"A0000000031010", Contactless, "visa-partial"}, // exact entry is contact only
		{"A000000003101001", Contact, "visa-partial"},   // longer card AID
		{"A0000000041010", Contact, "mastercard"},       // exact
		{"A000000004101001", Contact, ""},               // no partial for mastercard
		{"A000000005", Contact, ""},                     // unknown RID
	} {
		c, ok := matchAID(aids, MustHex(tc.aid), tc.iface)
		if c.Scheme != tc.scheme || ok != (tc.scheme != "") {
			t.Errorf("%s %s: %q %v", tc.aid, tc.iface, c.Scheme, ok)
		}
	}
	list := []Candidate{{AID: MustHex("A1"), Priority: 0}, {AID: MustHex("A2"), Priority: 0x82}, {AID: MustHex("A3"), Priority: 0x01}}
	sortCandidates(list)
	if list[0].AID.String() != "A3" || list[1].AID.String() != "A2" || list[2].AID.String() != "A1" {
		t.Errorf("order %v", list)
	}
}

// TestDefaultAction covers EMV Book 3 10.7 "unable to go online".
func TestDefaultAction(t *testing.T) {
	t.Parallel()
	visaDefault := MustHex("DC4000A800")
	for _, tc := range []struct {
		name     string
		tvr      string
		tac, iac []byte
		want     byte
	}{
		{"clean TVR, codes present", "0000000000", visaDefault, visaDefault, CryptogramTC},
		{"ODA not performed, in TAC-Default", "8000000000", visaDefault, MustHex("0000000000"), CryptogramAAC},
		{"ODA not performed, in IAC-Default only", "8000000000", MustHex("0000000000"), visaDefault, CryptogramAAC},
		{"IAC-Default absent means all ones", "0000000800", MustHex("0000000000"), nil, CryptogramAAC},
		{"IAC-Default absent, clean TVR", "0000000000", MustHex("0000000000"), nil, CryptogramTC},
		{"TAC-Default absent declines", "0000000000", nil, MustHex("0000000000"), CryptogramAAC},
		{"floor limit exceeded", "0000008000", MustHex("5C4000A800"), MustHex("5C4000A800"), CryptogramAAC},
		{"bit in neither", "8000000000", MustHex("5C4000A800"), MustHex("5C4000A800"), CryptogramTC},
	} {
		if got := defaultAction(tvrOf(tc.tvr), tc.tac, tc.iac); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, CryptogramName(got), CryptogramName(tc.want))
		}
	}
}
