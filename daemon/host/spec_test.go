package host_test

import (
	"reflect"
	"testing"

	"github.com/vinr/cashlessd/daemon/host"
)

func TestSpecRoundTripsEveryField(t *testing.T) {
	t.Parallel()
	spec := host.Spec()
	in := &host.Fields{
		MTI: "0200", PAN: "4242424242424242", ProcessingCode: "000000", Amount: "000000012345",
		TransmissionTime: "0102030405", STAN: "000042", LocalTime: "120000", LocalDate: "0102",
		Expiry: "3012", EntryMode: "051", CardSequence: "001", ConditionCode: "00",
		RRN: "612300000001", AuthCode: "ABC123", ResponseCode: "00", TerminalID: "T0000001",
		MerchantID: "M00000000000001", Currency: "458", PINBlock: []byte{1, 2, 3, 4, 5, 6, 7, 8},
		KSN: []byte{0xFF, 0xFF, 1, 2, 3, 4, 5, 6, 7, 8}, ICC: []byte{0x9F, 0x26, 0x02, 0xAB, 0xCD},
		Batch: "000001", TransactionID: "01JTESTTRANSACTIONID000000",
		Totals:      &host.Totals{CaptureCount: "000002", CaptureAmount: "000000001000", RefundCount: "000001", RefundAmount: "000000000500"},
		NetworkCode: "301",
		Original:    &host.OriginalData{MTI: "0200", STAN: "000041", TransmissionTime: "0102030404", Acquirer: "00000000000", Forwarder: "00000000000"},
	}
	packed, err := host.Encode(spec, in)
	if err != nil {
		t.Fatal(err)
	}
	if packed[4]&0x80 == 0 {
		t.Error("secondary bitmap bit not set although fields 70 and 90 are present")
	}
	out, err := host.Decode(host.Spec(), packed)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip changed the message:\n in  %+v\n out %+v", in, out)
	}
}

func TestResponseMTI(t *testing.T) {
	t.Parallel()
	for req, want := range map[string]string{"0100": "0110", "0200": "0210", "0220": "0230", "0400": "0410",
		"0401": "0410", "0500": "0510", "0800": "0810", "bad": ""} {
		if got := host.ResponseMTI(req); got != want {
			t.Errorf("ResponseMTI(%q) = %q, want %q", req, got, want)
		}
	}
}

func TestDeclineFor(t *testing.T) {
	t.Parallel()
	for rc, want := range map[string]host.Decline{
		"05": {Code: "card_declined"}, "51": {Code: "insufficient_funds"}, "54": {Code: "expired_card"},
		"55": {Code: "incorrect_pin"}, "91": {Code: "communication_error", RetrySafe: true},
		"96": {Code: "communication_error", RetrySafe: true}, "14": {Code: "card_declined"}, "25": {Code: "card_declined"},
	} {
		got := host.DeclineFor(rc)
		if got.Code != want.Code || got.RetrySafe != want.RetrySafe || got.Message == "" {
			t.Errorf("DeclineFor(%s) = %+v, want %+v", rc, got, want)
		}
	}
}
