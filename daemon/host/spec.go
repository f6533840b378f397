package host

import (
	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/prefix"
	"github.com/moov-io/iso8583/sort"
)

// Spec returns the ISO 8583:1987 message specification both ends of the link
// use: ASCII MTI and numeric fields, a binary bitmap (secondary bitmap when a
// field above 64 is present), binary PIN block, KSN and ICC data. Each call
// builds a new spec; a caller keeps the one it uses.
func Spec() *iso8583.MessageSpec {
	return &iso8583.MessageSpec{
		Name: "cashlessd ISO 8583:1987",
		Fields: map[int]field.Field{
			0:  fixed(4, "Message Type Indicator"),
			1:  field.NewBitmap(&field.Spec{Length: 8, Description: "Bitmap", Enc: encoding.Binary, Pref: prefix.Binary.Fixed}),
			2:  llvar(19, "Primary Account Number"),
			3:  fixed(6, "Processing Code"),
			4:  fixed(12, "Amount, Transaction"),
			7:  fixed(10, "Transmission Date & Time (MMDDhhmmss, UTC)"),
			11: fixed(6, "System Trace Audit Number"),
			12: fixed(6, "Time, Local Transaction (hhmmss)"),
			13: fixed(4, "Date, Local Transaction (MMDD)"),
			14: fixed(4, "Date, Expiration (YYMM)"),
			22: fixed(3, "Point of Service Entry Mode"),
			23: fixed(3, "Card Sequence Number"),
			25: fixed(2, "Point of Service Condition Code"),
			35: llvar(37, "Track 2 Equivalent Data"),
			37: fixed(12, "Retrieval Reference Number"),
			38: fixed(6, "Authorization Identification Response"),
			39: fixed(2, "Response Code"),
			41: fixed(8, "Card Acceptor Terminal Identification"),
			42: fixed(15, "Card Acceptor Identification Code"),
			49: fixed(3, "Currency Code, Transaction"),
			52: field.NewBinary(&field.Spec{Length: 8, Description: "PIN Data", Enc: encoding.Binary, Pref: prefix.Binary.Fixed}),
			53: field.NewBinary(&field.Spec{Length: 48, Description: "Security Related Control Information (DUKPT KSN)", Enc: encoding.Binary, Pref: prefix.ASCII.LL}),
			55: field.NewBinary(&field.Spec{Length: 999, Description: "ICC Data (EMV TLV)", Enc: encoding.Binary, Pref: prefix.ASCII.LLL}),
			60: lllvar(6, "Batch Number"),
			62: lllvar(32, "Terminal Transaction ID"),
			63: field.NewComposite(&field.Spec{
				Length:      36,
				Description: "Settlement Totals",
				Pref:        prefix.ASCII.LLL,
				Tag:         &field.TagSpec{Sort: sort.StringsByInt},
				Subfields: map[string]field.Field{
					"1": fixed(6, "Capture Count"),
					"2": fixed(12, "Capture Amount"),
					"3": fixed(6, "Refund Count"),
					"4": fixed(12, "Refund Amount"),
				},
			}),
			70: fixed(3, "Network Management Information Code"),
			90: field.NewComposite(&field.Spec{
				Length:      42,
				Description: "Original Data Elements",
				Pref:        prefix.ASCII.Fixed,
				Tag:         &field.TagSpec{Sort: sort.StringsByInt},
				Subfields: map[string]field.Field{
					"1": fixed(4, "Original MTI"),
					"2": fixed(6, "Original STAN"),
					"3": fixed(10, "Original Transmission Date & Time"),
					"4": fixed(11, "Acquiring Institution ID"),
					"5": fixed(11, "Forwarding Institution ID"),
				},
			}),
		},
	}
}

func fixed(n int, desc string) *field.String {
	return field.NewString(&field.Spec{Length: n, Description: desc, Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed})
}

func llvar(n int, desc string) *field.String {
	return field.NewString(&field.Spec{Length: n, Description: desc, Enc: encoding.ASCII, Pref: prefix.ASCII.LL})
}

func lllvar(n int, desc string) *field.String {
	return field.NewString(&field.Spec{Length: n, Description: desc, Enc: encoding.ASCII, Pref: prefix.ASCII.LLL})
}

// Fields is the typed view of one message. Numeric fields are kept as the
// exact digit strings that go on the wire (zero-padded to their length), so
// a value read from a response can be compared with the one sent. Empty
// fields are left out of the message.
type Fields struct {
	MTI              string        `iso8583:"0"`
	PAN              string        `iso8583:"2"`
	ProcessingCode   string        `iso8583:"3"`
	Amount           string        `iso8583:"4"`
	TransmissionTime string        `iso8583:"7"`
	STAN             string        `iso8583:"11"`
	LocalTime        string        `iso8583:"12"`
	LocalDate        string        `iso8583:"13"`
	Expiry           string        `iso8583:"14"`
	EntryMode        string        `iso8583:"22"`
	CardSequence     string        `iso8583:"23"`
	ConditionCode    string        `iso8583:"25"`
	Track2           string        `iso8583:"35"`
	RRN              string        `iso8583:"37"`
	AuthCode         string        `iso8583:"38"`
	ResponseCode     string        `iso8583:"39"`
	TerminalID       string        `iso8583:"41"`
	MerchantID       string        `iso8583:"42"`
	Currency         string        `iso8583:"49"`
	PINBlock         []byte        `iso8583:"52"`
	KSN              []byte        `iso8583:"53"`
	ICC              []byte        `iso8583:"55"`
	Batch            string        `iso8583:"60"`
	TransactionID    string        `iso8583:"62"`
	Totals           *Totals       `iso8583:"63"`
	NetworkCode      string        `iso8583:"70"`
	Original         *OriginalData `iso8583:"90"`
}

// Totals is field 63 of a settlement: the batch's captures (sales and
// completions) and refunds, counts and amounts in minor units.
type Totals struct {
	CaptureCount  string `iso8583:"1"`
	CaptureAmount string `iso8583:"2"`
	RefundCount   string `iso8583:"3"`
	RefundAmount  string `iso8583:"4"`
}

// OriginalData is field 90: which earlier message a reversal or a
// completion refers to. Unknown parts are zeros.
type OriginalData struct {
	MTI              string `iso8583:"1"`
	STAN             string `iso8583:"2"`
	TransmissionTime string `iso8583:"3"`
	Acquirer         string `iso8583:"4"`
	Forwarder        string `iso8583:"5"`
}

// Encode builds a message of spec from f.
func Encode(spec *iso8583.MessageSpec, f *Fields) (*iso8583.Message, error) {
	m := iso8583.NewMessage(spec)
	if err := m.Marshal(f); err != nil {
		return nil, err
	}
	return m, nil
}

// Decode reads the typed fields of m.
func Decode(m *iso8583.Message) (*Fields, error) {
	var f Fields
	if err := m.Unmarshal(&f); err != nil {
		return nil, err
	}
	return &f, nil
}
