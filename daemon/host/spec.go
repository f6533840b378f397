package host

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/vinr/cashlessd/daemon/host/iso8583"
)

// The dialects: which layout of the same fields an acquirer speaks.
const (
	// DialectDefault is the layout cashlessd has always spoken: ASCII MTI
	// and numeric fields, ASCII length prefixes, a binary bitmap and a
	// 2-byte length header.
	DialectDefault = "default"
	// DialectBCDTPDU is the layout many Asian and European acquirers use:
	// BCD MTI, numeric fields and length prefixes, a binary bitmap, and a
	// 5-byte TPDU after the 2-byte length header.
	DialectBCDTPDU = "bcd-tpdu"
)

// Dialects lists the dialects SpecFor knows.
func Dialects() []string { return []string{DialectDefault, DialectBCDTPDU} }

// kind is what a field holds, whatever the dialect writes it as.
type kind uint8

const (
	kindNumeric kind = iota + 1 // digits: ASCII or BCD by dialect
	kindText                    // characters: always ASCII
	kindBinary                  // bytes: always as they are
	kindTrack2                  // digits and '=': ASCII, or BCD with D for '=' by dialect
)

// element is one data element of the layout both dialects share.
type element struct {
	kind   kind
	typ    iso8583.LengthType
	length int
	desc   string
}

// elements is the field layout: numbers, kinds, lengths and names.
func elements() map[int]element {
	fixed := func(k kind, n int, d string) element { return element{k, iso8583.Fixed, n, d} }
	return map[int]element{
		2:  {kindNumeric, iso8583.LLVAR, 19, "Primary Account Number"},
		3:  fixed(kindNumeric, 6, "Processing Code"),
		4:  fixed(kindNumeric, 12, "Amount, Transaction"),
		7:  fixed(kindNumeric, 10, "Transmission Date & Time (MMDDhhmmss, UTC)"),
		11: fixed(kindNumeric, 6, "System Trace Audit Number"),
		12: fixed(kindNumeric, 6, "Time, Local Transaction (hhmmss)"),
		13: fixed(kindNumeric, 4, "Date, Local Transaction (MMDD)"),
		14: fixed(kindNumeric, 4, "Date, Expiration (YYMM)"),
		22: fixed(kindNumeric, 3, "Point of Service Entry Mode"),
		23: fixed(kindNumeric, 3, "Card Sequence Number"),
		25: fixed(kindNumeric, 2, "Point of Service Condition Code"),
		35: {kindTrack2, iso8583.LLVAR, 37, "Track 2 Equivalent Data"},
		37: fixed(kindText, 12, "Retrieval Reference Number"),
		38: fixed(kindText, 6, "Authorization Identification Response"),
		39: fixed(kindText, 2, "Response Code"),
		41: fixed(kindText, 8, "Card Acceptor Terminal Identification"),
		42: fixed(kindText, 15, "Card Acceptor Identification Code"),
		49: fixed(kindNumeric, 3, "Currency Code, Transaction"),
		52: fixed(kindBinary, 8, "PIN Data"),
		53: {kindBinary, iso8583.LLVAR, 48, "Security Related Control Information (DUKPT KSN)"},
		55: {kindBinary, iso8583.LLLVAR, 999, "ICC Data (EMV TLV)"},
		60: {kindText, iso8583.LLLVAR, 6, "Batch Number"},
		62: {kindText, iso8583.LLLVAR, 32, "Terminal Transaction ID"},
		63: {kindText, iso8583.LLLVAR, 36, "Settlement Totals"},
		70: fixed(kindNumeric, 3, "Network Management Information Code"),
		90: fixed(kindNumeric, 42, "Original Data Elements"),
	}
}

// Spec returns the message specification of the default dialect. Each
// call builds a new spec; a caller keeps the one it uses.
func Spec() *iso8583.Spec {
	s, _ := SpecFor(DialectDefault)
	return s
}

// SpecFor returns the message specification of a dialect ("" means the
// default). Both dialects carry the same fields; they differ in how
// numbers, length prefixes and the MTI are written and in the TPDU.
func SpecFor(dialect string) (*iso8583.Spec, error) {
	s := &iso8583.Spec{Bitmap: iso8583.Binary, Fields: map[int]iso8583.Field{}}
	numbers, track2 := iso8583.ASCII, iso8583.ASCII
	switch dialect {
	case DialectDefault, "":
		s.Name, s.MTI, s.Prefix = "cashlessd ISO 8583:1987", iso8583.ASCII, iso8583.ASCII
	case DialectBCDTPDU:
		s.Name, s.MTI, s.Prefix, s.TPDU = "cashlessd ISO 8583:1987, BCD with TPDU", iso8583.BCD, iso8583.BCD, true
		numbers, track2 = iso8583.BCD, iso8583.Track2
	default:
		return nil, fmt.Errorf("host: unknown dialect %q (known: %s)", dialect, strings.Join(Dialects(), ", "))
	}
	for n, e := range elements() {
		enc := map[kind]iso8583.Encoding{kindNumeric: numbers, kindText: iso8583.ASCII, kindBinary: iso8583.Binary,
			kindTrack2: track2}[e.kind]
		s.Fields[n] = iso8583.Field{Description: e.desc, Type: e.typ, Length: e.length, Enc: enc}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// DefaultTPDU is the TPDU the terminal sends in the bcd-tpdu dialect:
// ID 0x60, destination address (NII) 0001, source address 0000. The host
// answers with the addresses swapped.
func DefaultTPDU() []byte { return []byte{iso8583.TPDUID, 0x00, 0x01, 0x00, 0x00} }

// AnswerTPDU is the TPDU of an answer to a message that carried t: the
// same ID with source and destination swapped.
func AnswerTPDU(t []byte) []byte {
	if len(t) != iso8583.TPDULength {
		return nil
	}
	return []byte{t[0], t[3], t[4], t[1], t[2]}
}

// Fields is the typed view of one message. Numeric fields are kept as the
// exact digit strings that go on the wire (zero-padded to their length), so
// a value read from a response can be compared with the one sent. Empty
// fields are left out of the message.
type Fields struct {
	// TPDU is the 5-byte TPDU of a message in a dialect that has one;
	// it is not a data element.
	TPDU             []byte
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

// Encode packs f as a message of spec. In a dialect with a TPDU, the
// message carries DefaultTPDU unless f.TPDU is set.
func Encode(spec *iso8583.Spec, f *Fields) ([]byte, error) {
	m := &iso8583.Message{MTI: f.MTI, Fields: map[int][]byte{}}
	if spec.TPDU {
		m.TPDU = f.TPDU
		if m.TPDU == nil {
			m.TPDU = DefaultTPDU()
		}
	}
	v := reflect.ValueOf(f).Elem()
	t := v.Type()
	for i := range t.NumField() {
		n, ok := fieldNumber(t.Field(i))
		if !ok || n == 0 {
			continue
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.String:
			if s := fv.String(); s != "" {
				m.Fields[n] = []byte(s)
			}
		case reflect.Slice:
			if b := fv.Bytes(); len(b) > 0 {
				m.Fields[n] = slices.Clone(b)
			}
		case reflect.Pointer:
			if fv.IsNil() {
				continue
			}
			s, err := joinComposite(n, fv.Elem())
			if err != nil {
				return nil, err
			}
			m.Fields[n] = []byte(s)
		}
	}
	return spec.Pack(m)
}

// Decode unpacks one message of spec into its typed fields.
func Decode(spec *iso8583.Spec, b []byte) (*Fields, error) {
	m, err := spec.Unpack(b)
	if err != nil {
		return nil, err
	}
	f := &Fields{MTI: m.MTI, TPDU: m.TPDU}
	v := reflect.ValueOf(f).Elem()
	t := v.Type()
	for i := range t.NumField() {
		n, ok := fieldNumber(t.Field(i))
		if !ok || n == 0 {
			continue
		}
		raw, present := m.Fields[n]
		if !present {
			continue
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.String:
			fv.SetString(string(raw))
		case reflect.Slice:
			fv.SetBytes(raw)
		case reflect.Pointer:
			p := reflect.New(fv.Type().Elem())
			if err := splitComposite(n, string(raw), p.Elem()); err != nil {
				return nil, err
			}
			fv.Set(p)
		}
	}
	return f, nil
}

// fieldNumber reads a struct field's iso8583 tag.
func fieldNumber(sf reflect.StructField) (int, bool) {
	tag, ok := sf.Tag.Lookup("iso8583")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(tag)
	return n, err == nil
}

// subfieldLengths are the fixed widths of the composite fields' parts, in
// the order of their tags.
func subfieldLengths(n int) []int {
	switch n {
	case 63:
		return []int{6, 12, 6, 12}
	case 90:
		return []int{4, 6, 10, 11, 11}
	}
	return nil
}

// joinComposite writes the parts of a composite field one after another;
// each must have exactly its width.
func joinComposite(n int, v reflect.Value) (string, error) {
	widths := subfieldLengths(n)
	if len(widths) != v.NumField() {
		return "", fmt.Errorf("host: field %d has no composite layout", n)
	}
	var b strings.Builder
	for i, w := range widths {
		s := v.Field(i).String()
		if len(s) != w {
			return "", fmt.Errorf("host: field %d.%d is %q, want %d characters", n, i+1, s, w)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// splitComposite cuts a composite field into its parts.
func splitComposite(n int, s string, v reflect.Value) error {
	widths := subfieldLengths(n)
	total := 0
	for _, w := range widths {
		total += w
	}
	if len(widths) != v.NumField() || len(s) != total {
		return fmt.Errorf("host: field %d is %d characters, want %d", n, len(s), total)
	}
	for i, w := range widths {
		v.Field(i).SetString(s[:w])
		s = s[w:]
	}
	return nil
}
