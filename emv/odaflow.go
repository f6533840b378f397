package emv

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/vinr/cashlessd/emv/oda"
)

// Data objects of offline data authentication (EMV Book 2).
const (
	TagCAPKIndex         Tag = 0x8F   // Certification Authority Public Key Index
	TagIssuerPKCert      Tag = 0x90   // Issuer Public Key Certificate
	TagIssuerPKRemainder Tag = 0x92   // Issuer Public Key Remainder
	TagSignedStaticData  Tag = 0x93   // Signed Static Application Data
	TagIssuerPKExponent  Tag = 0x9F32 // Issuer Public Key Exponent
	TagDataAuthCode      Tag = 0x9F45 // Data Authentication Code
	TagICCPKCert         Tag = 0x9F46 // ICC Public Key Certificate
	TagICCPKExponent     Tag = 0x9F47 // ICC Public Key Exponent
	TagICCPKRemainder    Tag = 0x9F48 // ICC Public Key Remainder
	TagSDATagList        Tag = 0x9F4A // Static Data Authentication Tag List
	TagSignedDynamicData Tag = 0x9F4B // Signed Dynamic Application Data
	TagICCDynamicNumber  Tag = 0x9F4C // ICC Dynamic Number
)

// ODA bits of the AIP (byte 1) and of the terminal capabilities (9F33
// byte 3), and GENERATE AC's "CDA signature requested" bit of P1.
const (
	aipSDA       = 0x40
	aipDDA       = 0x20
	aipCDA       = 0x01
	capSDA       = 0x80
	capDDA       = 0x40
	capCDA       = 0x08
	capODA       = capSDA | capDDA | capCDA
	cdaRequested = 0x10
)

// ODAMethod is the offline data authentication a transaction used.
type ODAMethod int

// ODA methods, from none to the strongest.
const (
	ODANone ODAMethod = iota
	ODASDA
	ODADDA
	ODACDA
)

// String names the method: "", SDA, DDA, CDA.
func (m ODAMethod) String() string {
	return [...]string{"", "SDA", "DDA", "CDA"}[m]
}

// odaState is what offline data authentication keeps during a
// transaction.
type odaState struct {
	method    ODAMethod
	static    []byte // the records the AFL flags, as Book 3 10.3 says
	badRecord bool   // a flagged record of SFI 1-10 not coded as a 70 template
	// cda: the ICC public key was recovered and GENERATE AC asks for a
	// CDA signature; iccKey is that key.
	cda      bool
	iccKey   oda.PublicKey
	pdolData []byte   // the PDOL data of GET PROCESSING OPTIONS
	cdolData [][]byte // the CDOL1 (and CDOL2) data of GENERATE AC
}

// errDataMissing means data that ODA needs is absent: the TVR gets "ICC
// data missing" besides the method's failure bit.
var errDataMissing = errors.New("ICC data missing")

// addRecord keeps a record for offline data authentication when the AFL
// entry flags it (EMV Book 3, 10.3): of files 1 to 10 the value of the 70
// template, of files 11 to 30 the whole record.
func (o *odaState) addRecord(e AFLEntry, rec int, data []byte) {
	if rec-int(e.First) >= int(e.ODA) {
		return
	}
	if e.SFI > 10 {
		o.static = append(o.static, data...)
		return
	}
	objs, err := ParseTLV(data)
	if err != nil || len(objs) != 1 || objs[0].Tag != TagRecordTemplate {
		o.badRecord = true
		return
	}
	o.static = append(o.static, objs[0].Value...)
}

// chooseODA picks the method the card and the terminal both support,
// strongest first (EMV Book 3, 10.3).
func (s *Session) chooseODA() ODAMethod {
	caps := s.term[TagTerminalCapabilities]
	if len(caps) != 3 {
		return ODANone
	}
	switch aip, c := s.aip[0], caps[2]; {
	case aip&aipCDA != 0 && c&capCDA != 0:
		return ODACDA
	case aip&aipDDA != 0 && c&capDDA != 0:
		return ODADDA
	case aip&aipSDA != 0 && c&capSDA != 0:
		return ODASDA
	}
	return ODANone
}

// offlineDataAuthentication performs SDA or DDA, or prepares CDA (the
// certificates now, the signature at GENERATE AC), and sets the TVR and
// TSI (EMV Book 3, 10.3). A failed authentication does not end the
// transaction: terminal action analysis weighs the TVR. Only a broken
// card link or a cancel is an error.
func (s *Session) offlineDataAuthentication(ctx context.Context) error {
	s.oda.method = s.chooseODA()
	if s.oda.method == ODANone {
		s.tvr.Set(TVROfflineDataAuthNotPerformed)
		return nil
	}
	s.tsi.Set(TSIOfflineDataAuthPerformed)
	var err error
	switch s.oda.method {
	case ODASDA:
		err = s.staticDataAuthentication()
	case ODADDA:
		err = s.dynamicDataAuthentication(ctx)
	case ODACDA:
		var key oda.PublicKey
		if key, err = s.iccPublicKey(); err == nil {
			s.oda.cda, s.oda.iccKey = true, key
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var link *odaLinkError
	if errors.As(err, &link) {
		return link.err
	}
	if err != nil {
		s.odaFailed(err)
	}
	return nil
}

// odaLinkError carries a failure to talk to the card during ODA, which
// ends the transaction like any other.
type odaLinkError struct{ err error }

func (e *odaLinkError) Error() string { return e.err.Error() }

// odaFailed sets the TVR bits of a failed authentication.
func (s *Session) odaFailed(err error) {
	if errors.Is(err, errDataMissing) {
		s.tvr.Set(TVRICCDataMissing)
	}
	switch s.oda.method {
	case ODASDA:
		s.tvr.Set(TVRSDAFailed)
	case ODADDA:
		s.tvr.Set(TVRDDAFailed)
	case ODACDA:
		s.tvr.Set(TVRCDAFailed)
	}
	s.odaErr = err
}

// need returns card data objects, or errDataMissing naming the first
// absent one.
func (s *Session) need(tags ...Tag) ([][]byte, error) {
	out := make([][]byte, len(tags))
	for i, t := range tags {
		v, ok := s.icc[t]
		if !ok || len(v) == 0 {
			return nil, fmt.Errorf("%w: %s", errDataMissing, t.Name())
		}
		out[i] = v
	}
	return out, nil
}

// issuerPublicKey finds the CA public key by RID and index and recovers
// the issuer public key (EMV Book 2, 5.3 steps 1-2 and 6.3).
func (s *Session) issuerPublicKey() (oda.PublicKey, error) {
	v, err := s.need(TagCAPKIndex, TagIssuerPKCert, TagIssuerPKExponent)
	if err != nil {
		return oda.PublicKey{}, err
	}
	if len(v[0]) != 1 || len(s.app.AID) < 5 {
		return oda.PublicKey{}, fmt.Errorf("%w: CA public key index of %d bytes", oda.ErrKeyMissing, len(v[0]))
	}
	ca, err := s.keys.Find(s.app.AID[:5], v[0][0], s.tx.Time)
	if err != nil {
		return oda.PublicKey{}, err
	}
	return oda.RecoverIssuerKey(ca, v[1], s.icc[TagIssuerPKRemainder], v[2], digits(s.icc[TagPAN]), s.tx.Time)
}

// iccPublicKey recovers the issuer public key and with it the ICC public
// key (EMV Book 2, 6.4).
func (s *Session) iccPublicKey() (oda.PublicKey, error) {
	static, err := s.staticData()
	if err != nil {
		return oda.PublicKey{}, err
	}
	issuer, err := s.issuerPublicKey()
	if err != nil {
		return oda.PublicKey{}, err
	}
	v, err := s.need(TagICCPKCert, TagICCPKExponent)
	if err != nil {
		return oda.PublicKey{}, err
	}
	return oda.RecoverICCKey(issuer, v[0], s.icc[TagICCPKRemainder], v[1], digits(s.icc[TagPAN]), static, s.tx.Time)
}

// staticData is the static data to be authenticated: the flagged records
// and the values of the static data authentication tag list (9F4A), in
// which only the AIP may appear (EMV Book 3, 10.3).
func (s *Session) staticData() ([]byte, error) {
	if s.oda.badRecord {
		return nil, errors.New("a record flagged for ODA is not a 70 template")
	}
	out := bytes.Clone(s.oda.static)
	list, ok := s.icc[TagSDATagList]
	if !ok {
		return out, nil
	}
	if !bytes.Equal(list, TagAIP.Bytes()) {
		return nil, fmt.Errorf("static data authentication tag list %X names more than the AIP", list)
	}
	return append(out, s.icc[TagAIP]...), nil
}

// staticDataAuthentication is SDA (EMV Book 2, 5.4): the issuer key
// verifies the signed static application data.
func (s *Session) staticDataAuthentication() error {
	static, err := s.staticData()
	if err != nil {
		return err
	}
	ssad, err := s.need(TagSignedStaticData)
	if err != nil {
		return err
	}
	issuer, err := s.issuerPublicKey()
	if err != nil {
		return err
	}
	dac, err := oda.VerifyStaticData(issuer, ssad[0], static)
	if err != nil {
		return err
	}
	s.icc[TagDataAuthCode] = dac
	return nil
}

// dynamicDataAuthentication is DDA (EMV Book 2, 6.5): INTERNAL
// AUTHENTICATE with the DDOL data, and the ICC key verifies the card's
// signature over it.
func (s *Session) dynamicDataAuthentication(ctx context.Context) error {
	key, err := s.iccPublicKey()
	if err != nil {
		return err
	}
	raw, ok := s.icc[TagDDOL]
	if !ok {
		raw = s.cfg.DefaultDDOL
	}
	if len(raw) == 0 {
		return fmt.Errorf("%w: no DDOL and no default DDOL", errDataMissing)
	}
	ddol, err := ParseDOL(raw)
	if err != nil || !ddol.Has(TagUnpredictableNumber) {
		return errors.New("the DDOL does not ask for the unpredictable number")
	}
	data := ddol.Build(s.lookup)
	resp, sw, err := s.exchange(ctx, "INTERNAL AUTHENTICATE", InternalAuthenticateCommand(data))
	if err != nil {
		return &odaLinkError{err}
	}
	if sw != SWOK {
		return &StatusError{Command: "INTERNAL AUTHENTICATE", SW: sw}
	}
	sdad, err := signedDynamicData(resp)
	if err != nil {
		return err
	}
	dyn, err := oda.VerifyDynamicData(key, sdad, data)
	if err != nil {
		return err
	}
	idn, err := oda.DynamicNumber(dyn)
	if err != nil {
		return err
	}
	s.icc[TagICCDynamicNumber] = idn
	return nil
}

// signedDynamicData takes the signature from an INTERNAL AUTHENTICATE
// answer: format 1 (80) or format 2 (77 with 9F4B).
func signedDynamicData(resp []byte) ([]byte, error) {
	objs, err := ParseTLV(resp)
	if err != nil || len(objs) != 1 {
		return nil, errors.New("INTERNAL AUTHENTICATE answer is not one template")
	}
	switch objs[0].Tag {
	case TagResponseFormat1:
		return objs[0].Value, nil
	case TagResponseFormat2:
		if v, ok := Find(objs[0].Value, TagSignedDynamicData); ok {
			return v, nil
		}
	}
	return nil, fmt.Errorf("%w: INTERNAL AUTHENTICATE answer without signature", errDataMissing)
}

// InternalAuthenticateCommand builds INTERNAL AUTHENTICATE with the DDOL
// data.
func InternalAuthenticateCommand(ddolData []byte) []byte {
	return command(0x00, 0x88, 0x00, 0x00, ddolData, 0)
}

// errCDAFailed is a GENERATE AC answer whose CDA signature does not
// verify.
var errCDAFailed = errors.New("emv: CDA failed")

// verifyCDA checks the CDA signature of a GENERATE AC answer that is not
// an AAC (EMV Book 2, 6.6.2) and takes the cryptogram from it. The
// transaction data hashed are the PDOL data, the CDOL data of this and
// the earlier GENERATE AC, and the answer's data objects but the
// signature, as received.
func (s *Session) verifyCDA(resp []byte, cid byte) error {
	objs, err := ParseTLV(resp)
	if err != nil || len(objs) != 1 || objs[0].Tag != TagResponseFormat2 {
		return s.cdaFailed(errors.New("answer is not in format 2"))
	}
	txData := bytes.Clone(s.oda.pdolData)
	for _, d := range s.oda.cdolData {
		txData = append(txData, d...)
	}
	var sdad []byte
	body := objs[0].Value
	for len(body) > 0 {
		o, n, err := parseOne(body)
		if err != nil {
			return s.cdaFailed(err)
		}
		if o.Tag == TagSignedDynamicData {
			sdad = o.Value
		} else {
			txData = append(txData, body[:n]...)
		}
		body = body[n:]
	}
	if sdad == nil {
		return s.cdaFailed(fmt.Errorf("%w: no signed dynamic application data", errDataMissing))
	}
	res, err := oda.VerifyCDA(s.oda.iccKey, sdad, s.term[TagUnpredictableNumber], cid, txData)
	if err != nil {
		return s.cdaFailed(err)
	}
	s.icc[TagCryptogram] = res.Cryptogram
	s.icc[TagICCDynamicNumber] = res.DynamicNumber
	return nil
}

// cdaFailed sets the TVR for a CDA signature that failed and returns the
// error that ends the GENERATE AC.
func (s *Session) cdaFailed(cause error) error {
	s.tvr.Set(TVRCDAFailed)
	if errors.Is(cause, errDataMissing) {
		s.tvr.Set(TVRICCDataMissing)
	}
	err := fmt.Errorf("%w: %w", errCDAFailed, cause)
	s.odaErr = err
	return err
}

// ODAError is why offline data authentication failed, nil when it did
// not (or was not performed), for logs and diagnostics.
func (o Outcome) ODAError() error { return o.odaErr }
