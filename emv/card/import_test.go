package card

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/emv"
)

// recorder writes every exchange with a card as a plain APDU trace.
type recorder struct {
	card emv.Transport
	b    strings.Builder
}

func (r *recorder) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	resp, err := r.card.Transmit(ctx, apdu)
	if err == nil {
		fmt.Fprintf(&r.b, "> %X\n< %X\n", apdu, resp)
	}
	return resp, err
}

// onlinePINPad answers online PIN requests with a fixed block.
type onlinePINPad struct{}

func (onlinePINPad) OnlinePIN(context.Context, emv.PINRequest) (emv.EncryptedPIN, error) {
	return emv.EncryptedPIN{Block: make([]byte, 8), KSN: make([]byte, 10)}, nil
}

func (onlinePINPad) OfflinePIN(context.Context, emv.PINRequest) (emv.OfflinePINResult, error) {
	return emv.OfflinePINResult{}, errors.New("no offline PIN")
}

func testKernel(t *testing.T) *emv.Kernel {
	t.Helper()
	cfg := emv.DefaultConfig()
	cfg.Rand = rand.NewChaCha8([32]byte{7})
	k, err := emv.NewKernel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func purchase(amount int64) emv.Transaction {
	return emv.Transaction{Type: emv.TypePurchase, Amount: amount, Currency: "USD",
		Time: time.Date(2026, 3, 15, 14, 30, 0, 0, time.UTC), SequenceCounter: 1}
}

// TestImportTraceReplays records a contact transaction with a T=0 card
// (61xx and GET RESPONSE, 6Cxx) as an APDU trace, imports it, and
// replays the image: the same card is read, and the recorded first
// GENERATE AC is the card's own, so the issuer's ARPC over the recorded
// ARQC authenticates and the second GENERATE AC gives a TC.
func TestImportTraceReplays(t *testing.T) {
	t.Parallel()
	orig := powered(t, "visa-approved", emv.Contact)
	rec := &recorder{card: orig}
	s := testKernel(t).Contact(rec, onlinePINPad{}, purchase(1500))
	first, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	trace := "# recorded in a test\nATR: 3B6800000073C84013009000\n" + rec.b.String()
	img, err := ImportTrace(strings.NewReader(trace), ImportOptions{Name: "recorded visa"})
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Files) != 2 || img.Contactless != nil || img.ATR.String() != "3B6800000073C84013009000" || img.PAN() != "4242424242424242" {
		t.Fatalf("image: %d files, ATR %s", len(img.Files), img.ATR)
	}
	app := img.Files["A0000000031010"]
	if len(app.GPO) == 0 || len(app.GenerateAC) == 0 || len(app.Records["2"]) != 2 || app.Data["9F36"] == nil {
		t.Fatalf("application file: %+v", app)
	}
	replay, err := New(img, emv.Contact)
	if err != nil {
		t.Fatal(err)
	}
	s = testKernel(t).Contact(replay, onlinePINPad{}, purchase(1500))
	out, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if out.PAN != first.PAN || out.AID != first.AID || out.CVM != first.CVM || out.Cryptogram.String() != first.Cryptogram.String() {
		t.Fatalf("replay %v, recorded %v", out, first)
	}
	arpc := IssuerAuthenticationData(img.CardKey(), out.Cryptogram, "00")
	final, err := s.Complete(context.Background(), emv.HostResponse{Approved: true, ResponseCode: "00",
		IssuerData: emv.AppendTLV(nil, emv.TagIssuerAuthData, arpc)})
	if err != nil || !final.Approved() || final.TVR.Has(emv.TVRIssuerAuthFailed) {
		t.Fatalf("second GENERATE AC: %v %s TVR %s", err, final.Decision, final.TVR)
	}
}

// TestImportEmu reads an emv-tools style dump: comments, a PSE, an
// application with records in several SFIs (SFI 11 a transaction log,
// kept raw), GET DATA answers and a PIN block.
func TestImportEmu(t *testing.T) {
	t.Parallel()
	img0, _ := Builtin("mastercard")
	app0 := img0.Files["A0000000041010"]
	pse0 := img0.Files[strings.ToUpper(hex.EncodeToString([]byte("1PAY.SYS.DDF01")))]
	b := func(h emv.Hex) string { return "<" + h.String() + ">" }
	dump := fmt.Sprintf(`# a dump
{
	name = <31 50 41 59 2E 53 59 53 2E 44 44 46 30 31>;
	fci  = %s;
	sfi1 = %s;
};
/* the application */
{
	name = <A0 00 00 00 04 10 10>;
	fci  = %s;
	gpo  = <77 0E 82 02 1C 00 94 08 08 01 01 00 10 01 02 00>;
	sfi1 = %s;
	sfi2 = %s, %s;
	sfi11 = <00 00 00 00 15 00 08 40>, <40 00 00 00 01 00>;
	data9f17 = <9F 17 01 03>;
	data9f36 = <9F 36 02 00 2A>;
	pinblock = <24 12 34 FF FF FF FF FF>;
};
`, b(pse0.FCI), b(pse0.Records["1"][0]), b(app0.FCI), b(app0.Records["1"][0]), b(app0.Records["2"][0]), b(app0.Records["2"][1]))
	img, err := ImportEmu(strings.NewReader(dump), ImportOptions{Name: "dump"})
	if err != nil {
		t.Fatal(err)
	}
	app := img.Files["A0000000041010"]
	if img.PIN != "1234" || len(app.Records["11"]) != 2 || app.Data["9F36"].String() != "002A" || len(app.Records["2"]) != 2 {
		t.Fatalf("image %+v", img)
	}
	c, err := New(img, emv.Contact)
	if err != nil {
		t.Fatal(err)
	}
	if c.ATC() != 0x2A {
		t.Errorf("ATC %d", c.ATC())
	}
	out, err := testKernel(t).Contact(c, onlinePINPad{}, purchase(1500)).Read(context.Background())
	if err != nil || out.PAN != "5555555555554444" || out.CVM != emv.CVMOnlinePIN {
		t.Fatalf("%v %v", out, err)
	}
	// A record of SFI 1 to 10 must be TLV; one of SFI 11 to 30 need not.
	bad := strings.Replace(dump, "sfi2 = ", "sfi3 = <00 00 01>;\n\tsfi2 = ", 1)
	if _, err := ImportEmu(strings.NewReader(bad), ImportOptions{}); err == nil {
		t.Error("a raw record in SFI 3 was accepted")
	}
	for _, broken := range []string{"{ name = <A0 00>; fci = <6F 00>", "{ name = <A0 0G>; };", "{ fci = <6F00>; };"} {
		if _, err := ImportEmu(strings.NewReader(broken), ImportOptions{}); err == nil {
			t.Errorf("%q accepted", broken)
		}
	}
}

// TestImportTraceErrors: traces the importer refuses.
func TestImportTraceErrors(t *testing.T) {
	t.Parallel()
	for _, trace := range []string{
		"< 9000\n",                       // a response first
		"> 00A404000E\n> 00A4\n",         // two commands
		"> 00A40400\n< 90\n",             // no status word
		"> 00A40400 02 A000\n< 6A82\n",   // nothing selected
		"> 00B2020C00\n< 700100 9000\nX", // not hex
	} {
		if _, err := ImportTrace(strings.NewReader(trace), ImportOptions{}); err == nil {
			t.Errorf("%q accepted", trace)
		}
	}
}
