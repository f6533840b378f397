package host_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/money"
)

// responses are well-formed answers of every kind the terminal reads: the
// fuzzer's starting points.
func responses() []*host.Fields {
	base := func(mti string) *host.Fields {
		return &host.Fields{MTI: mti, ProcessingCode: host.ProcPurchase, Amount: "000000001234", TransmissionTime: "1122004500",
			STAN: "000101", LocalTime: "004500", LocalDate: "1122", RRN: "632600000001", TerminalID: "SIM00001",
			MerchantID: "SIMMERCHANT0001", Currency: "840", Batch: "000001", TransactionID: "tpay_01M80AZZ1FA01EA3K08RY483WY"}
	}
	approved := base(host.MTIFinancialResponse)
	approved.ResponseCode, approved.AuthCode = host.RCApproved, "BR66PG"
	approved.ICC = []byte{0x91, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8, '0', '0'}
	declined := base(host.MTIAuthResponse)
	declined.ResponseCode = host.RCInsufficientFunds
	advice := base(host.MTIAdviceResponse)
	advice.ResponseCode, advice.AuthCode = host.RCApproved, "ZD9QR8"
	reversal := base(host.MTIReversalResponse)
	reversal.ResponseCode = host.RCApproved
	reversal.Original = &host.OriginalData{MTI: "0200", STAN: "000100", TransmissionTime: "1122004459", Acquirer: "00000000000", Forwarder: "00000000000"}
	settle := base(host.MTISettlementResponse)
	settle.ProcessingCode, settle.ResponseCode = host.ProcSettlement, host.RCTotalsMismatch
	settle.Totals = &host.Totals{CaptureCount: "000003", CaptureAmount: "000000009500", RefundCount: "000001", RefundAmount: "000000000500"}
	echo := &host.Fields{MTI: host.MTINetworkResponse, TransmissionTime: "1122004500", STAN: "000102", ResponseCode: host.RCApproved,
		TerminalID: "SIM00001", NetworkCode: host.NetworkEcho}
	return []*host.Fields{approved, declined, advice, reversal, settle, echo}
}

// FuzzResponseDecode feeds arbitrary bytes to the terminal's side of the
// ISO 8583 link as the host's answer: the length header, unpacking with
// the link's spec, the typed view and what the client reads from it
// (response MTI, response code, currency, settlement totals). None of it
// may panic, and an answer that decodes must survive a round trip
// through Encode and Pack unchanged.
func FuzzResponseDecode(f *testing.F) {
	spec := host.Spec()
	for _, r := range responses() {
		packed, err := host.Encode(spec, r)
		if err != nil {
			f.Fatal(err)
		}
		var framed bytes.Buffer
		if err := host.WriteFrame(&framed, packed); err != nil {
			f.Fatal(err)
		}
		f.Add(packed)
		f.Add(framed.Bytes())
	}
	f.Add([]byte{0, 0})
	f.Add([]byte{0xff, 0xff, '0', '2', '1', '0'})
	f.Fuzz(func(t *testing.T, data []byte) {
		msg := data
		if frame, err := host.ReadFrame(bytes.NewReader(data)); err == nil {
			msg = frame
		}
		got, err := host.Decode(spec, msg)
		if err != nil {
			return
		}
		_ = host.ResponseMTI(got.MTI)
		_ = host.DeclineFor(got.ResponseCode)
		_, _ = money.Alpha(got.Currency)
		if got.Totals != nil {
			_, _ = host.ParseTotals(got.Totals)
		}
		// What decodes must encode back to the same fields.
		packed, err := host.Encode(spec, got)
		if err != nil {
			return
		}
		back, err := host.Decode(spec, packed)
		if err != nil {
			t.Fatalf("re-packed answer does not decode: %v\n%x", err, packed)
		}
		if !reflect.DeepEqual(normal(got), normal(back)) {
			t.Fatalf("round trip changed the answer:\n%+v\n%+v", got, back)
		}
	})
}

// normal treats an empty binary field like an absent one: both mean the
// field carries nothing.
func normal(f *host.Fields) host.Fields {
	c := *f
	for _, b := range []*[]byte{&c.PINBlock, &c.KSN, &c.ICC} {
		if len(*b) == 0 {
			*b = nil
		}
	}
	return c
}
