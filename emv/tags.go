package emv

// Tags the kernel reads or writes. The dictionary behind [LookupTag] knows
// more.
const (
	TagAID                    Tag = 0x4F   // Application Identifier (ADF Name)
	TagApplicationLabel       Tag = 0x50   // Application Label
	TagTrack2                 Tag = 0x57   // Track 2 Equivalent Data
	TagPAN                    Tag = 0x5A   // Application PAN
	TagCardholderName         Tag = 0x5F20 // Cardholder Name
	TagExpiryDate             Tag = 0x5F24 // Application Expiration Date
	TagEffectiveDate          Tag = 0x5F25 // Application Effective Date
	TagIssuerCountry          Tag = 0x5F28 // Issuer Country Code
	TagTransactionCurrency    Tag = 0x5F2A // Transaction Currency Code
	TagLanguagePreference     Tag = 0x5F2D // Language Preference
	TagServiceCode            Tag = 0x5F30 // Service Code
	TagPANSequence            Tag = 0x5F34 // PAN Sequence Number
	TagCurrencyExponent       Tag = 0x5F36 // Transaction Currency Exponent
	TagApplicationTemplate    Tag = 0x61   // Application Template
	TagFCI                    Tag = 0x6F   // File Control Information Template
	TagRecordTemplate         Tag = 0x70   // READ RECORD Response Message Template
	TagIssuerScript1          Tag = 0x71   // Issuer Script Template 1
	TagIssuerScript2          Tag = 0x72   // Issuer Script Template 2
	TagDirectoryDiscretionary Tag = 0x73   // Directory Discretionary Template
	TagResponseFormat2        Tag = 0x77   // Response Message Template Format 2
	TagResponseFormat1        Tag = 0x80   // Response Message Template Format 1
	TagAIP                    Tag = 0x82   // Application Interchange Profile
	TagCommandTemplate        Tag = 0x83   // Command Template
	TagDFName                 Tag = 0x84   // Dedicated File Name
	TagIssuerScriptCommand    Tag = 0x86   // Issuer Script Command
	TagPriority               Tag = 0x87   // Application Priority Indicator
	TagSFI                    Tag = 0x88   // Short File Identifier
	TagAuthCode               Tag = 0x89   // Authorisation Code
	TagARC                    Tag = 0x8A   // Authorisation Response Code
	TagCDOL1                  Tag = 0x8C   // Card Risk Management DOL 1
	TagCDOL2                  Tag = 0x8D   // Card Risk Management DOL 2
	TagCVMList                Tag = 0x8E   // Cardholder Verification Method List
	TagIssuerAuthData         Tag = 0x91   // Issuer Authentication Data
	TagAFL                    Tag = 0x94   // Application File Locator
	TagTVR                    Tag = 0x95   // Terminal Verification Results
	TagTDOL                   Tag = 0x97   // Transaction Certificate DOL
	TagTransactionDate        Tag = 0x9A   // Transaction Date
	TagTSI                    Tag = 0x9B   // Transaction Status Information
	TagTransactionType        Tag = 0x9C   // Transaction Type
	TagDDFName                Tag = 0x9D   // Directory Definition File Name
	TagAcquirerID             Tag = 0x9F01 // Acquirer Identifier
	TagAmountAuthorised       Tag = 0x9F02 // Amount, Authorised (Numeric)
	TagAmountOther            Tag = 0x9F03 // Amount, Other (Numeric)
	TagAUC                    Tag = 0x9F07 // Application Usage Control
	TagAppVersionCard         Tag = 0x9F08 // Application Version Number (card)
	TagAppVersionTerminal     Tag = 0x9F09 // Application Version Number (terminal)
	TagIACDefault             Tag = 0x9F0D // Issuer Action Code - Default
	TagIACDenial              Tag = 0x9F0E // Issuer Action Code - Denial
	TagIACOnline              Tag = 0x9F0F // Issuer Action Code - Online
	TagIAD                    Tag = 0x9F10 // Issuer Application Data
	TagIssuerCodeTable        Tag = 0x9F11 // Issuer Code Table Index
	TagPreferredName          Tag = 0x9F12 // Application Preferred Name
	TagLastOnlineATC          Tag = 0x9F13 // Last Online ATC Register
	TagLCOL                   Tag = 0x9F14 // Lower Consecutive Offline Limit
	TagMCC                    Tag = 0x9F15 // Merchant Category Code
	TagMerchantID             Tag = 0x9F16 // Merchant Identifier
	TagPINTryCounter          Tag = 0x9F17 // PIN Try Counter
	TagScriptID               Tag = 0x9F18 // Issuer Script Identifier
	TagTerminalCountry        Tag = 0x9F1A // Terminal Country Code
	TagFloorLimit             Tag = 0x9F1B // Terminal Floor Limit
	TagTerminalID             Tag = 0x9F1C // Terminal Identification
	TagIFDSerial              Tag = 0x9F1E // Interface Device Serial Number
	TagTransactionTime        Tag = 0x9F21 // Transaction Time
	TagUCOL                   Tag = 0x9F23 // Upper Consecutive Offline Limit
	TagCryptogram             Tag = 0x9F26 // Application Cryptogram
	TagCID                    Tag = 0x9F27 // Cryptogram Information Data
	TagTerminalCapabilities   Tag = 0x9F33 // Terminal Capabilities
	TagCVMResults             Tag = 0x9F34 // CVM Results
	TagTerminalType           Tag = 0x9F35 // Terminal Type
	TagATC                    Tag = 0x9F36 // Application Transaction Counter
	TagUnpredictableNumber    Tag = 0x9F37 // Unpredictable Number
	TagPDOL                   Tag = 0x9F38 // Processing Options DOL
	TagPOSEntryMode           Tag = 0x9F39 // Point-of-Service Entry Mode
	TagAdditionalCapabilities Tag = 0x9F40 // Additional Terminal Capabilities
	TagSequenceCounter        Tag = 0x9F41 // Transaction Sequence Counter
	TagApplicationCurrency    Tag = 0x9F42 // Application Currency Code
	TagApplicationCurrencyExp Tag = 0x9F44 // Application Currency Exponent
	TagDDOL                   Tag = 0x9F49 // Dynamic Data Authentication DOL
	TagMerchantNameLocation   Tag = 0x9F4E // Merchant Name and Location
	TagIssuerScriptResults    Tag = 0x9F5B // Issuer Script Results
	TagKernelID               Tag = 0x9F2A // Kernel Identifier (PPSE entry)
	TagTTQ                    Tag = 0x9F66 // Terminal Transaction Qualifiers
	TagCardCVMLimit           Tag = 0x9F6B // Card CVM Limit
	TagCTQ                    Tag = 0x9F6C // Card Transaction Qualifiers
	TagFormFactor             Tag = 0x9F6E // Form Factor Indicator / Third Party Data
	TagTransactionCategory    Tag = 0x9F53 // Transaction Category Code (Mastercard)
	TagCustomerExclusiveData  Tag = 0x9F7C // Customer Exclusive Data
	TagFCIProprietary         Tag = 0xA5   // FCI Proprietary Template
	TagFCIIssuerDiscretionary Tag = 0xBF0C // FCI Issuer Discretionary Data
)

// Format is the format of a data element, which decides how a DOL pads or
// truncates it (EMV Book 3, 5.4).
type Format uint8

// Data element formats.
const (
	FormatB   Format = iota // binary
	FormatN                 // numeric, BCD, right-justified with leading zeros
	FormatCN                // compressed numeric, left-justified, padded with F
	FormatAN                // alphanumeric
	FormatANS               // alphanumeric special
)

// TagInfo is what the dictionary knows about a tag.
type TagInfo struct {
	Name   string
	Format Format
}

// LookupTag returns the dictionary entry for a tag.
func LookupTag(t Tag) (TagInfo, bool) {
	i, ok := dictionary[t]
	return i, ok
}

// Name returns the tag's name from the dictionary, or "" when unknown.
func (t Tag) Name() string { return dictionary[t].Name }

// format returns the tag's format, binary when unknown.
func (t Tag) format() Format { return dictionary[t].Format }

// dictionary is the EMV tag dictionary (EMV Book 3 Annex A, Book C-2,
// C-3). It is read-only.
var dictionary = map[Tag]TagInfo{
	0x42:     {"Issuer Identification Number", FormatN},
	0x4F:     {"Application Identifier (ADF Name)", FormatB},
	0x50:     {"Application Label", FormatANS},
	0x56:     {"Track 1 Data", FormatANS},
	0x57:     {"Track 2 Equivalent Data", FormatB},
	0x5A:     {"Application Primary Account Number (PAN)", FormatCN},
	0x5F20:   {"Cardholder Name", FormatANS},
	0x5F24:   {"Application Expiration Date", FormatN},
	0x5F25:   {"Application Effective Date", FormatN},
	0x5F28:   {"Issuer Country Code", FormatN},
	0x5F2A:   {"Transaction Currency Code", FormatN},
	0x5F2D:   {"Language Preference", FormatAN},
	0x5F30:   {"Service Code", FormatN},
	0x5F34:   {"Application PAN Sequence Number", FormatN},
	0x5F36:   {"Transaction Currency Exponent", FormatN},
	0x5F50:   {"Issuer URL", FormatANS},
	0x5F53:   {"International Bank Account Number (IBAN)", FormatB},
	0x5F54:   {"Bank Identifier Code (BIC)", FormatB},
	0x5F55:   {"Issuer Country Code (alpha2)", FormatAN},
	0x5F56:   {"Issuer Country Code (alpha3)", FormatAN},
	0x61:     {"Application Template", FormatB},
	0x6F:     {"File Control Information (FCI) Template", FormatB},
	0x70:     {"READ RECORD Response Message Template", FormatB},
	0x71:     {"Issuer Script Template 1", FormatB},
	0x72:     {"Issuer Script Template 2", FormatB},
	0x73:     {"Directory Discretionary Template", FormatB},
	0x77:     {"Response Message Template Format 2", FormatB},
	0x80:     {"Response Message Template Format 1", FormatB},
	0x81:     {"Amount, Authorised (Binary)", FormatB},
	0x82:     {"Application Interchange Profile", FormatB},
	0x83:     {"Command Template", FormatB},
	0x84:     {"Dedicated File (DF) Name", FormatB},
	0x86:     {"Issuer Script Command", FormatB},
	0x87:     {"Application Priority Indicator", FormatB},
	0x88:     {"Short File Identifier (SFI)", FormatB},
	0x89:     {"Authorisation Code", FormatANS},
	0x8A:     {"Authorisation Response Code", FormatAN},
	0x8C:     {"Card Risk Management Data Object List 1 (CDOL1)", FormatB},
	0x8D:     {"Card Risk Management Data Object List 2 (CDOL2)", FormatB},
	0x8E:     {"Cardholder Verification Method (CVM) List", FormatB},
	0x8F:     {"Certification Authority Public Key Index", FormatB},
	0x90:     {"Issuer Public Key Certificate", FormatB},
	0x91:     {"Issuer Authentication Data", FormatB},
	0x92:     {"Issuer Public Key Remainder", FormatB},
	0x93:     {"Signed Static Application Data", FormatB},
	0x94:     {"Application File Locator (AFL)", FormatB},
	0x95:     {"Terminal Verification Results", FormatB},
	0x97:     {"Transaction Certificate Data Object List (TDOL)", FormatB},
	0x98:     {"Transaction Certificate (TC) Hash Value", FormatB},
	0x99:     {"Transaction PIN Data", FormatB},
	0x9A:     {"Transaction Date", FormatN},
	0x9B:     {"Transaction Status Information", FormatB},
	0x9C:     {"Transaction Type", FormatN},
	0x9D:     {"Directory Definition File (DDF) Name", FormatB},
	0x9F01:   {"Acquirer Identifier", FormatN},
	0x9F02:   {"Amount, Authorised (Numeric)", FormatN},
	0x9F03:   {"Amount, Other (Numeric)", FormatN},
	0x9F04:   {"Amount, Other (Binary)", FormatB},
	0x9F05:   {"Application Discretionary Data", FormatB},
	0x9F06:   {"Application Identifier (AID) - terminal", FormatB},
	0x9F07:   {"Application Usage Control", FormatB},
	0x9F08:   {"Application Version Number (card)", FormatB},
	0x9F09:   {"Application Version Number (terminal)", FormatB},
	0x9F0B:   {"Cardholder Name Extended", FormatANS},
	0x9F0D:   {"Issuer Action Code - Default", FormatB},
	0x9F0E:   {"Issuer Action Code - Denial", FormatB},
	0x9F0F:   {"Issuer Action Code - Online", FormatB},
	0x9F10:   {"Issuer Application Data", FormatB},
	0x9F11:   {"Issuer Code Table Index", FormatN},
	0x9F12:   {"Application Preferred Name", FormatANS},
	0x9F13:   {"Last Online ATC Register", FormatB},
	0x9F14:   {"Lower Consecutive Offline Limit", FormatB},
	0x9F15:   {"Merchant Category Code", FormatN},
	0x9F16:   {"Merchant Identifier", FormatANS},
	0x9F17:   {"PIN Try Counter", FormatB},
	0x9F18:   {"Issuer Script Identifier", FormatB},
	0x9F1A:   {"Terminal Country Code", FormatN},
	0x9F1B:   {"Terminal Floor Limit", FormatB},
	0x9F1C:   {"Terminal Identification", FormatAN},
	0x9F1D:   {"Terminal Risk Management Data", FormatB},
	0x9F1E:   {"Interface Device (IFD) Serial Number", FormatAN},
	0x9F1F:   {"Track 1 Discretionary Data", FormatANS},
	0x9F20:   {"Track 2 Discretionary Data", FormatCN},
	0x9F21:   {"Transaction Time", FormatN},
	0x9F22:   {"Certification Authority Public Key Index (terminal)", FormatB},
	0x9F23:   {"Upper Consecutive Offline Limit", FormatB},
	0x9F24:   {"Payment Account Reference (PAR)", FormatAN},
	0x9F26:   {"Application Cryptogram", FormatB},
	0x9F27:   {"Cryptogram Information Data", FormatB},
	0x9F2A:   {"Kernel Identifier", FormatB},
	0x9F2D:   {"ICC PIN Encipherment Public Key Certificate", FormatB},
	0x9F2E:   {"ICC PIN Encipherment Public Key Exponent", FormatB},
	0x9F2F:   {"ICC PIN Encipherment Public Key Remainder", FormatB},
	0x9F32:   {"Issuer Public Key Exponent", FormatB},
	0x9F33:   {"Terminal Capabilities", FormatB},
	0x9F34:   {"Cardholder Verification Method (CVM) Results", FormatB},
	0x9F35:   {"Terminal Type", FormatN},
	0x9F36:   {"Application Transaction Counter (ATC)", FormatB},
	0x9F37:   {"Unpredictable Number", FormatB},
	0x9F38:   {"Processing Options Data Object List (PDOL)", FormatB},
	0x9F39:   {"Point-of-Service (POS) Entry Mode", FormatN},
	0x9F3A:   {"Amount, Reference Currency", FormatB},
	0x9F3B:   {"Application Reference Currency", FormatN},
	0x9F3C:   {"Transaction Reference Currency Code", FormatN},
	0x9F3D:   {"Transaction Reference Currency Exponent", FormatN},
	0x9F40:   {"Additional Terminal Capabilities", FormatB},
	0x9F41:   {"Transaction Sequence Counter", FormatN},
	0x9F42:   {"Application Currency Code", FormatN},
	0x9F43:   {"Application Reference Currency Exponent", FormatN},
	0x9F44:   {"Application Currency Exponent", FormatN},
	0x9F45:   {"Data Authentication Code", FormatB},
	0x9F46:   {"ICC Public Key Certificate", FormatB},
	0x9F47:   {"ICC Public Key Exponent", FormatB},
	0x9F48:   {"ICC Public Key Remainder", FormatB},
	0x9F49:   {"Dynamic Data Authentication Data Object List (DDOL)", FormatB},
	0x9F4A:   {"Static Data Authentication Tag List", FormatB},
	0x9F4B:   {"Signed Dynamic Application Data", FormatB},
	0x9F4C:   {"ICC Dynamic Number", FormatB},
	0x9F4D:   {"Log Entry", FormatB},
	0x9F4E:   {"Merchant Name and Location", FormatANS},
	0x9F4F:   {"Log Format", FormatB},
	0x9F5B:   {"Issuer Script Results", FormatB},
	0x9F66:   {"Terminal Transaction Qualifiers (TTQ)", FormatB},
	0x9F6B:   {"Card CVM Limit", FormatN},
	0x9F6C:   {"Card Transaction Qualifiers (CTQ)", FormatB},
	0x9F6D:   {"Mag-stripe Application Version Number (Reader)", FormatB},
	0x9F53:   {"Transaction Category Code", FormatAN},
	0x9F6E:   {"Form Factor Indicator / Third Party Data", FormatB},
	0x9F7C:   {"Customer Exclusive Data", FormatB},
	0xA5:     {"FCI Proprietary Template", FormatB},
	0xBF0C:   {"FCI Issuer Discretionary Data", FormatB},
	0xDF8117: {"Card Data Input Capability", FormatB},
	0xDF8118: {"CVM Capability - CVM Required", FormatB},
	0xDF8119: {"CVM Capability - No CVM Required", FormatB},
	0xDF811B: {"Kernel Configuration", FormatB},
	0xDF8120: {"Terminal Action Code - Default", FormatB},
	0xDF8121: {"Terminal Action Code - Denial", FormatB},
	0xDF8122: {"Terminal Action Code - Online", FormatB},
	0xDF8123: {"Reader Contactless Floor Limit", FormatN},
	0xDF8124: {"Reader Contactless Transaction Limit (No On-device CVM)", FormatN},
	0xDF8125: {"Reader Contactless Transaction Limit (On-device CVM)", FormatN},
	0xDF8126: {"Reader CVM Required Limit", FormatN},
}
