package emv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vinr/cashlessd/emv/oda"
	"github.com/vinr/cashlessd/money"
)

// Hex is bytes that read and write as hex text in JSON and TOML; spaces in
// the text are ignored.
type Hex []byte

// MarshalText writes upper-case hex.
func (h Hex) MarshalText() ([]byte, error) {
	return []byte(strings.ToUpper(hex.EncodeToString(h))), nil
}

// UnmarshalText reads hex, ignoring spaces.
func (h *Hex) UnmarshalText(text []byte) error {
	text = bytes.ReplaceAll(text, []byte(" "), nil)
	b := make([]byte, hex.DecodedLen(len(text)))
	if _, err := hex.Decode(b, text); err != nil {
		return fmt.Errorf("emv: bad hex: %w", err)
	}
	*h = b
	return nil
}

// String returns upper-case hex.
func (h Hex) String() string { return strings.ToUpper(hex.EncodeToString(h)) }

// MustHex decodes a hex literal, ignoring spaces, and panics if it is not
// hex. It is for constants in tests and tables.
func MustHex(s string) Hex {
	var h Hex
	if err := h.UnmarshalText([]byte(s)); err != nil {
		panic(err)
	}
	return h
}

// AIDConfig is one application the terminal supports, with its terminal
// action codes.
type AIDConfig struct {
	AID Hex `json:"aid" toml:"aid"`
	// Scheme names the card scheme: visa, mastercard, maestro, amex,
	// discover, jcb, unionpay, interac.
	Scheme string `json:"scheme" toml:"scheme"`
	// PartialMatch lets the card's AID be longer than this one (the
	// application selection indicator of EMV Book 1, 12.3.1).
	PartialMatch bool `json:"partialMatch" toml:"partial_match"`
	// Contact and Contactless say on which interfaces the AID is offered.
	Contact     bool `json:"contact" toml:"contact"`
	Contactless bool `json:"contactless" toml:"contactless"`
	// Version is the terminal's application version number (9F09).
	Version Hex `json:"version" toml:"version"`
	// Terminal action codes, five bytes each, ANDed with the TVR.
	// TACDefault is used only when Config.OfflineApprovals is on and the
	// host could not be reached (default action analysis); an AID without
	// a TACDefault never approves offline.
	TACDenial  Hex `json:"tacDenial" toml:"tac_denial"`
	TACOnline  Hex `json:"tacOnline" toml:"tac_online"`
	TACDefault Hex `json:"tacDefault" toml:"tac_default"`
	// ContactlessCVMLimit and ContactlessTransactionLimit, when above
	// zero, are this scheme's own contactless limits (minor units; a
	// scheme's reader CVM required limit and reader contactless
	// transaction limit) in place of the terminal-wide ones of Config.
	ContactlessCVMLimit         int64 `json:"contactlessCvmLimit,omitempty" toml:"contactless_cvm_limit"`
	ContactlessTransactionLimit int64 `json:"contactlessTransactionLimit,omitempty" toml:"contactless_transaction_limit"`
}

// Config is the terminal's EMV configuration. A Kernel holds it read-only.
type Config struct {
	// TerminalType is tag 9F35: 21 attended online-only merchant terminal,
	// 22 attended with offline capability, and so on.
	TerminalType byte `json:"terminalType" toml:"terminal_type"`
	// Capabilities is tag 9F33 (three bytes), AdditionalCapabilities tag
	// 9F40 (five bytes).
	Capabilities           Hex `json:"capabilities" toml:"capabilities"`
	AdditionalCapabilities Hex `json:"additionalCapabilities" toml:"additional_capabilities"`
	// CountryCode is the terminal's ISO 3166 numeric country, "840".
	CountryCode string `json:"countryCode" toml:"country_code"`
	// MerchantCategoryCode (9F15), MerchantID (9F16), TerminalID (9F1C),
	// MerchantNameLocation (9F4E), IFDSerial (9F1E), AcquirerID (9F01).
	MerchantCategoryCode string `json:"merchantCategoryCode" toml:"merchant_category_code"`
	MerchantID           string `json:"merchantId" toml:"merchant_id"`
	TerminalID           string `json:"terminalId" toml:"terminal_id"`
	MerchantNameLocation string `json:"merchantNameLocation" toml:"merchant_name_location"`
	IFDSerial            string `json:"ifdSerial" toml:"ifd_serial"`
	AcquirerID           string `json:"acquirerId" toml:"acquirer_id"`
	// TransactionCategoryCode is tag 9F53 (one character, "R" retail),
	// sent to Mastercard and Maestro applications and in their chip data.
	TransactionCategoryCode string `json:"transactionCategoryCode" toml:"transaction_category_code"`
	// Limits are in minor units of the transaction currency. FloorLimit
	// applies to contact transactions, terminal-wide (every AID): at or over
	// it the TVR says "transaction exceeds floor limit" and no offline
	// approval is possible; ContactlessTransactionLimit (0: none) sends the
	// cardholder to the chip; at or over ContactlessCVMLimit a contactless
	// transaction needs a CVM.
	FloorLimit                  int64 `json:"floorLimit" toml:"floor_limit"`
	ContactlessTransactionLimit int64 `json:"contactlessTransactionLimit" toml:"contactless_transaction_limit"`
	ContactlessCVMLimit         int64 `json:"contactlessCvmLimit" toml:"contactless_cvm_limit"`
	// OfflineApprovals lets a contact purchase under FloorLimit be
	// approved offline by the card (TC, ARC Y3) when the host could not be
	// reached and default action analysis (TAC-Default, IAC-Default)
	// finds nothing against it (EMV Book 3, 10.7). Off: a host that cannot
	// be reached always gets an AAC (ARC Z3). The first GENERATE AC still
	// asks for an ARQC: the terminal always tries the host first.
	OfflineApprovals bool `json:"offlineApprovals" toml:"offline_approvals"`
	// AllowFallback permits a magnetic stripe read of a chip card after a
	// chip read failed.
	AllowFallback bool `json:"allowFallback" toml:"allow_fallback"`
	// AIDs are the supported applications, in the terminal's order of
	// preference.
	AIDs []AIDConfig `json:"aids" toml:"aids"`
	// Rand supplies unpredictable numbers; nil means crypto/rand. It must
	// be safe for concurrent use when sessions run concurrently.
	Rand io.Reader `json:"-" toml:"-"`

	// CAPKs are the certification authority public keys for offline data
	// authentication (emv/oda reads them from the CAPK file). Without any
	// the terminal performs no ODA and NewKernel clears the SDA, DDA and
	// CDA bits of Capabilities (9F33 byte 3), so 9F33 advertises only the
	// ODA the terminal can do.
	CAPKs []oda.CAPK `json:"-" toml:"-"`
	// DefaultDDOL is used for DDA when the card has no DDOL (9F49); empty
	// means 9F3704 (the unpredictable number).
	DefaultDDOL Hex `json:"defaultDdol" toml:"default_ddol"`
	// Random transaction selection (EMV Book 3, 10.6.2), performed by a
	// terminal with offline capability: under RandomSelectionThreshold a
	// transaction is selected for online processing with probability
	// RandomSelectionPercent; from the threshold up to FloorLimit the
	// probability rises linearly to RandomSelectionMaxPercent. Both
	// percentages 0 (the default): no random selection.
	RandomSelectionPercent    int   `json:"randomSelectionPercent" toml:"random_selection_percent"`
	RandomSelectionMaxPercent int   `json:"randomSelectionMaxPercent" toml:"random_selection_max_percent"`
	RandomSelectionThreshold  int64 `json:"randomSelectionThreshold" toml:"random_selection_threshold"`
	// ScriptLimit is the total length in bytes of the issuer script
	// templates (71, 72, with tag and length) the terminal runs from one
	// host answer; scripts beyond it are not performed (and the TVR says
	// script processing failed). 0 means 128, the minimum EMV Book 3
	// (10.10) requires.
	ScriptLimit int `json:"scriptLimit" toml:"script_limit"`
}

// DefaultScriptLimit is the issuer script length every terminal supports
// (EMV Book 3, 10.10).
const DefaultScriptLimit = 128

// adjust derives what the configuration implies: no ODA capability
// without CA keys; an offline-capable terminal type (x2, x5 instead of
// x1, x4) when offline approvals are on; the default DDOL and script
// limit.
func (k *Kernel) adjust() {
	c := &k.cfg
	if k.keys.Len() == 0 {
		c.Capabilities[2] &^= capODA
	}
	if c.OfflineApprovals && c.onlineOnly() {
		c.TerminalType++
	}
	if len(c.DefaultDDOL) == 0 {
		c.DefaultDDOL = MustHex("9F3704")
	}
	if c.ScriptLimit == 0 {
		c.ScriptLimit = DefaultScriptLimit
	}
}

// Terminal capability bits the kernel consults (9F33 byte 2 and 3).
const (
	capPlaintextPIN = 0x80 // byte 2: plaintext PIN for ICC verification
	capOnlinePIN    = 0x40 // byte 2: enciphered PIN for online verification
	capSignature    = 0x20 // byte 2: signature (paper)
	capNoCVM        = 0x08 // byte 2: no CVM required
)

// DefaultAIDs is the terminal's default application list: Visa, Visa
// Electron, Mastercard, Maestro, Amex, Discover, JCB, UnionPay (debit,
// credit, quasi-credit) and Interac, with the schemes' published terminal
// action codes.
func DefaultAIDs() []AIDConfig {
	aid := func(a, scheme, version, denial, online, def string) AIDConfig {
		return AIDConfig{
			AID: MustHex(a), Scheme: scheme, PartialMatch: true,
			Contact: true, Contactless: true, Version: MustHex(version),
			TACDenial: MustHex(denial), TACOnline: MustHex(online), TACDefault: MustHex(def),
		}
	}
	return []AIDConfig{
		aid("A0000000031010", "visa", "008C", "0010000000", "DC4004F800", "DC4000A800"),
		aid("A0000000032010", "visa", "008C", "0010000000", "DC4004F800", "DC4000A800"),
		aid("A0000000041010", "mastercard", "0002", "0000000000", "F45084800C", "F45084800C"),
		aid("A0000000043060", "maestro", "0002", "0000800000", "FE50BCF800", "FE50BCA000"),
		aid("A00000002501", "amex", "0001", "0010000000", "DE00FC9800", "DC50FC9800"),
		aid("A0000001523010", "discover", "0001", "0010000000", "FCE09CF800", "DC00002000"),
		aid("A0000000651010", "jcb", "0200", "0010000000", "FC60ACF800", "FC6024A800"),
		aid("A000000333010101", "unionpay", "0030", "0010000000", "D84004F800", "D84000A800"),
		aid("A000000333010102", "unionpay", "0030", "0010000000", "D84004F800", "D84000A800"),
		aid("A000000333010103", "unionpay", "0030", "0010000000", "D84004F800", "D84000A800"),
		aid("A0000002771010", "interac", "0001", "0010000000", "DC4004F800", "DC4000A800"),
	}
}

// DefaultConfig is an attended, online-only merchant terminal in the USA
// with a PIN pad: chip, contactless and magnetic stripe; plaintext offline
// PIN, online PIN, signature and no CVM; SDA, DDA and CDA once CAPKs are
// given (none here: without them 9F33 says no ODA); floor limit zero;
// contactless CVM limit 50.00.
func DefaultConfig() Config {
	return Config{
		TerminalType:                0x21,
		Capabilities:                MustHex("E0E8C8"),
		AdditionalCapabilities:      MustHex("6000F05001"),
		CountryCode:                 "840",
		MerchantCategoryCode:        "5999",
		TransactionCategoryCode:     "R",
		ContactlessTransactionLimit: 0,
		ContactlessCVMLimit:         5000,
		AIDs:                        DefaultAIDs(),
	}
}

// validate checks the configuration a kernel is built with.
func (c *Config) validate() error {
	var errs []error
	if len(c.Capabilities) != 3 {
		errs = append(errs, errors.New("capabilities (9F33) must be 3 bytes"))
	}
	if len(c.AdditionalCapabilities) != 5 {
		errs = append(errs, errors.New("additional capabilities (9F40) must be 5 bytes"))
	}
	if _, err := bcd(c.CountryCode, 2); err != nil {
		errs = append(errs, fmt.Errorf("country code: %w", err))
	}
	if c.MerchantCategoryCode != "" {
		if _, err := bcd(c.MerchantCategoryCode, 2); err != nil {
			errs = append(errs, fmt.Errorf("merchant category code: %w", err))
		}
	}
	if len(c.AIDs) == 0 {
		errs = append(errs, errors.New("no AIDs"))
	}
	for i, a := range c.AIDs {
		if len(a.AID) < 5 || len(a.AID) > 16 {
			errs = append(errs, fmt.Errorf("aid %d: %d bytes, want 5 to 16", i, len(a.AID)))
		}
		if a.ContactlessCVMLimit < 0 || a.ContactlessTransactionLimit < 0 {
			errs = append(errs, fmt.Errorf("aid %s: contactless limits must not be negative", a.AID))
		}
		for name, tac := range map[string]Hex{"tacDenial": a.TACDenial, "tacOnline": a.TACOnline, "tacDefault": a.TACDefault} {
			if len(tac) != 0 && len(tac) != 5 {
				errs = append(errs, fmt.Errorf("aid %s: %s must be 5 bytes", a.AID, name))
			}
		}
	}
	if c.FloorLimit < 0 || c.ContactlessCVMLimit < 0 || c.ContactlessTransactionLimit < 0 {
		errs = append(errs, errors.New("limits must not be negative"))
	}
	if p, m := c.RandomSelectionPercent, c.RandomSelectionMaxPercent; p < 0 || p > 99 || m < 0 || m > 99 || m < p {
		errs = append(errs, fmt.Errorf("random selection: percentages %d and %d must be 0 to 99, the maximum not under the target", p, m))
	}
	if c.RandomSelectionThreshold < 0 || (c.RandomSelectionMaxPercent > 0 && c.RandomSelectionThreshold >= c.FloorLimit) {
		errs = append(errs, fmt.Errorf("random selection threshold %d must be at least 0 and under the floor limit %d", c.RandomSelectionThreshold, c.FloorLimit))
	}
	if c.ScriptLimit < 0 {
		errs = append(errs, errors.New("script limit must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("emv: config: %w", err)
	}
	return nil
}

// onlineOnly reports whether the terminal type is online-only (x1, x4).
func (c *Config) onlineOnly() bool {
	t := c.TerminalType & 0x0F
	return t == 1 || t == 4
}

// TransactionType is tag 9C.
type TransactionType byte

// Transaction types.
const (
	TypePurchase TransactionType = 0x00
	TypeCash     TransactionType = 0x01
	TypeCashback TransactionType = 0x09
	TypeRefund   TransactionType = 0x20
)

// Transaction is what the terminal asks the card to pay.
type Transaction struct {
	Type TransactionType
	// Amount is the total in minor units; AmountOther the cashback part
	// of it.
	Amount      int64
	AmountOther int64
	// Currency is ISO 4217, alphabetic ("USD") or numeric ("840").
	Currency string
	// Time is the transaction's local date and time.
	Time time.Time
	// SequenceCounter is tag 9F41, the terminal's transaction sequence
	// counter: the caller numbers its transactions (persisted across
	// restarts, daemon/terminal).
	SequenceCounter uint32
	// IFDSerial, when set, is tag 9F1E (the reader's serial number, eight
	// characters) in place of Config.IFDSerial.
	IFDSerial string
	// ForceOnline is the merchant forcing the transaction online.
	ForceOnline bool
	// NoOfflineApproval keeps this transaction from being approved
	// offline even when the configuration allows it (pre-authorisations:
	// an offline approval places no hold at the issuer).
	NoOfflineApproval bool
}

// CurrencyCode returns the ISO 4217 numeric code and minor-unit exponent of
// a currency given as alphabetic ("EUR") or numeric ("978") code.
func CurrencyCode(currency string) (numeric string, exponent int, ok bool) {
	numeric, err := money.Numeric(currency)
	if err != nil {
		return "", 0, false
	}
	exponent = 2
	if alpha, found := money.Alpha(numeric); found {
		if e, known := money.Exponent(alpha); known {
			exponent = e
		}
	}
	return numeric, exponent, true
}

// bcd packs a decimal string right-justified into n bytes of BCD.
func bcd(digits string, n int) ([]byte, error) {
	if len(digits) > 2*n {
		return nil, fmt.Errorf("%q has more than %d digits", digits, 2*n)
	}
	if strings.Trim(digits, "0123456789") != "" {
		return nil, fmt.Errorf("%q is not decimal", digits)
	}
	out := make([]byte, n)
	for i := 0; i < len(digits); i++ {
		pos := 2*n - len(digits) + i
		d := digits[i] - '0'
		if pos%2 == 0 {
			out[pos/2] |= d << 4
		} else {
			out[pos/2] |= d
		}
	}
	return out, nil
}

// bcdAmount packs a non-negative amount into six bytes of BCD (n12).
func bcdAmount(v int64) []byte {
	if v < 0 {
		v = 0
	}
	b, err := bcd(fmt.Sprint(v), 6)
	if err != nil { // more than 12 digits
		return bytes.Repeat([]byte{0x99}, 6)
	}
	return b
}

// digits unpacks BCD into its digits; nibbles over 9 end it (F padding).
func digits(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		for _, d := range [2]byte{c >> 4, c & 0x0F} {
			if d > 9 {
				return sb.String()
			}
			sb.WriteByte('0' + d)
		}
	}
	return sb.String()
}
