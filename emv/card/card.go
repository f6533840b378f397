package card

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vinr/cashlessd/emv"
)

// ErrNoInterface means the card image has no files for the interface asked
// for (a contactless-only card inserted, or a contact-only card tapped).
var ErrNoInterface = errors.New("card: the card has no such interface")

// Card is a virtual card built from an image. It implements
// emv.Transport. Its counters (ATC, last online ATC, PIN tries, blocked
// applications) last as long as the Card; Reset starts a new session as a
// power-up does. A Card is safe for concurrent use.
type Card struct {
	mu       sync.Mutex
	img      *Image
	key      []byte
	iface    emv.Interface
	files    []*file
	atc      uint16
	online   uint16 // last online ATC
	pinTries int
	blocked  map[string]bool

	// session state
	cur        *file
	gpoDone    bool
	genAC      int
	firstCID   byte
	lastARQC   []byte
	extAuth    bool // EXTERNAL AUTHENTICATE was tried
	authFailed bool
	pending    []byte   // data waiting for GET RESPONSE (T=0)
	pdolData   []byte   // of the last GET PROCESSING OPTIONS, for CDA
	cdolData   [][]byte // of the GENERATE ACs since, for CDA
}

// file is one DF of the image, ready to answer.
type file struct {
	name    []byte
	hexName string
	File
	data map[emv.Tag][]byte
}

// New returns the card powered up on an interface (emv.Contact or
// emv.Contactless).
func New(img *Image, iface emv.Interface) (*Card, error) {
	if err := img.Validate(); err != nil {
		return nil, err
	}
	c := &Card{img: img, key: img.CardKey(), blocked: map[string]bool{}}
	c.pinTries = c.tryLimit()
	for _, files := range []map[string]File{img.Files, img.Contactless} {
		for _, f := range files {
			if v, ok := f.Data["9F36"]; ok && len(v) == 2 {
				c.atc = max(c.atc, binary.BigEndian.Uint16(v))
			}
			if v, ok := f.Data["9F13"]; ok && len(v) == 2 {
				c.online = max(c.online, binary.BigEndian.Uint16(v))
			}
			if v, ok := f.Data["9F17"]; ok && len(v) == 1 && img.PIN != "" {
				c.pinTries = int(v[0])
			}
		}
	}
	if err := c.Reset(iface); err != nil {
		return nil, err
	}
	return c, nil
}

// Reset powers the card up again on an interface: a new session with the
// counters kept.
func (c *Card) Reset(iface emv.Interface) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var src map[string]File
	switch iface {
	case emv.Contact:
		src = c.img.Files
	case emv.Contactless:
		src = c.img.Contactless
	}
	if len(src) == 0 {
		return fmt.Errorf("%w: %s", ErrNoInterface, iface)
	}
	c.iface = iface
	c.files = c.files[:0]
	for name, f := range src {
		b, _ := hex.DecodeString(name)
		nf := &file{name: b, hexName: strings.ToUpper(name), File: f, data: map[emv.Tag][]byte{}}
		for tag, v := range f.Data {
			t, _ := parseTagHex(tag)
			nf.data[t] = v
		}
		c.files = append(c.files, nf)
	}
	slices.SortFunc(c.files, func(a, b *file) int { return bytes.Compare(a.name, b.name) })
	c.cur, c.gpoDone, c.genAC, c.firstCID = nil, false, 0, 0
	c.lastARQC, c.extAuth, c.authFailed, c.pending = nil, false, false, nil
	return nil
}

// ATR returns the card's answer to reset.
func (c *Card) ATR() []byte { return slices.Clone(c.img.ATR) }

// Name returns the image's name.
func (c *Card) Name() string { return c.img.Name }

// ATC returns the application transaction counter.
func (c *Card) ATC() uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.atc
}

// PINTriesLeft returns the PIN try counter.
func (c *Card) PINTriesLeft() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pinTries
}

// Transmit answers one command APDU with response data and SW1 SW2.
func (c *Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cmd, ok := parseCommand(apdu)
	if !ok {
		return sw(0x6700), nil
	}
	if cmd.ins == 0xC0 && cmd.cla == 0x00 {
		return c.getResponse(cmd), nil
	}
	c.pending = nil
	data, status := c.dispatch(cmd)
	t0 := c.img.T0 && c.iface == emv.Contact
	switch {
	case t0 && cmd.hasData && len(data) > 0 && status == 0x9000:
		// T=0 case 4: the data waits for GET RESPONSE.
		c.pending = data
		return sw(0x6100 | uint16(min(len(data), 256)&0xFF)), nil
	case t0 && !cmd.hasData && cmd.hasLe && len(data) > 0 && status == 0x9000 && cmd.le != len(data):
		// T=0 case 2 with the wrong Le: tell the right one.
		return sw(0x6C00 | uint16(len(data)&0xFF)), nil
	}
	return append(data, byte(status>>8), byte(status)), nil
}

func sw(s uint16) []byte { return []byte{byte(s >> 8), byte(s)} }

// getResponse hands out data waiting after a 61xx.
func (c *Card) getResponse(cmd command) []byte {
	if len(c.pending) == 0 {
		return sw(0x6985)
	}
	n := len(c.pending)
	if cmd.hasLe && cmd.le < n {
		n = cmd.le
	}
	out := slices.Clone(c.pending[:n])
	c.pending = c.pending[n:]
	if len(c.pending) > 0 {
		return append(out, 0x61, byte(min(len(c.pending), 256)))
	}
	c.pending = nil
	return append(out, 0x90, 0x00)
}

// command is a parsed command APDU.
type command struct {
	cla, ins, p1, p2 byte
	data             []byte
	hasData, hasLe   bool
	le               int // 256 for an Le byte of 00
}

func parseCommand(b []byte) (command, bool) {
	if len(b) < 4 {
		return command{}, false
	}
	c := command{cla: b[0], ins: b[1], p1: b[2], p2: b[3]}
	switch {
	case len(b) == 4:
	case len(b) == 5:
		c.hasLe, c.le = true, leOf(b[4])
	default:
		lc := int(b[4])
		if lc == 0 {
			return command{}, false
		}
		switch len(b) {
		case 5 + lc:
		case 6 + lc:
			c.hasLe, c.le = true, leOf(b[5+lc])
		default:
			return command{}, false
		}
		c.hasData, c.data = true, b[5:5+lc]
	}
	return c, true
}

func leOf(b byte) int {
	if b == 0 {
		return 256
	}
	return int(b)
}

// dispatch runs one command and returns its data and status word.
func (c *Card) dispatch(cmd command) ([]byte, uint16) {
	switch {
	case cmd.cla == 0x00 && cmd.ins == 0xA4:
		return c.selectFile(cmd)
	case cmd.cla == 0x80 && cmd.ins == 0xA8:
		return c.gpo(cmd)
	case cmd.cla == 0x00 && cmd.ins == 0xB2:
		return c.readRecord(cmd)
	case cmd.cla == 0x80 && cmd.ins == 0xCA:
		return c.getData(cmd)
	case cmd.cla == 0x00 && cmd.ins == 0x20:
		return c.verify(cmd)
	case cmd.cla == 0x80 && cmd.ins == 0xAE:
		return c.generateAC(cmd)
	case cmd.cla == 0x00 && cmd.ins == 0x82:
		return c.externalAuthenticate(cmd)
	case cmd.cla == 0x00 && cmd.ins == 0x88:
		return c.internalAuthenticate(cmd)
	case cmd.cla&0xF0 == 0x80 || cmd.cla&0xF0 == 0x00:
		if cmd.cla&0x0C == 0x04 {
			return c.scriptCommand(cmd)
		}
		return nil, 0x6D00
	}
	return nil, 0x6E00
}

// selectFile is SELECT by DF name, first or next occurrence, with partial
// names matching longer ones.
func (c *Card) selectFile(cmd command) ([]byte, uint16) {
	if cmd.p1 != 0x04 || (cmd.p2 != 0x00 && cmd.p2 != 0x02) || !cmd.hasData {
		return nil, 0x6A86
	}
	var matches []*file
	for _, f := range c.files {
		if bytes.HasPrefix(f.name, cmd.data) {
			matches = append(matches, f)
		}
	}
	var pick *file
	if cmd.p2 == 0x00 {
		if len(matches) > 0 {
			pick = matches[0]
		}
	} else {
		for i, f := range matches {
			if f == c.cur && i+1 < len(matches) {
				pick = matches[i+1]
				break
			}
		}
	}
	c.gpoDone, c.genAC, c.lastARQC, c.extAuth, c.authFailed = false, 0, nil, false, false
	if pick == nil {
		return nil, 0x6A82
	}
	c.cur = pick
	if c.blocked[pick.hexName] {
		return slices.Clone(pick.FCI), 0x6283
	}
	return slices.Clone(pick.FCI), 0x9000
}

// gpo is GET PROCESSING OPTIONS: it checks the PDOL data, counts the
// transaction and answers with AIP and AFL (and the cryptogram on a qVSDC
// contactless card).
func (c *Card) gpo(cmd command) ([]byte, uint16) {
	f := c.cur
	if f == nil || c.blocked[f.hexName] {
		return nil, 0x6985
	}
	if !cmd.hasData || len(cmd.data) < 2 || cmd.data[0] != 0x83 || int(cmd.data[1]) != len(cmd.data)-2 {
		return nil, 0x6700
	}
	pdolData := cmd.data[2:]
	pdol := emv.DOL{}
	if raw, ok := emv.Find(f.FCI, emv.TagPDOL); ok {
		var err error
		if pdol, err = emv.ParseDOL(raw); err != nil {
			return nil, 0x6F00
		}
	}
	if len(pdolData) != pdol.Len() {
		return nil, 0x6700
	}
	if c.atc == 0xFFFF {
		return nil, 0x6985
	}
	c.atc++
	c.gpoDone, c.genAC = true, 0
	c.pdolData, c.cdolData = slices.Clone(pdolData), nil
	if len(f.GPO) > 0 {
		if v, ok := emv.Find(f.GPO, emv.TagCryptogram); ok {
			c.rememberFirst(f.GPO, v)
		}
		return slices.Clone(f.GPO), 0x9000
	}
	aip, ok1 := f.data[emv.TagAIP]
	afl, ok2 := f.data[emv.TagAFL]
	if !ok1 || !ok2 {
		return nil, 0x6985
	}
	if f.Format1 && !f.GPOCryptogram {
		return emv.AppendTLV(nil, emv.TagResponseFormat1, append(slices.Clone(aip), afl...)), 0x9000
	}
	body := emv.Encode(emv.TLV{Tag: emv.TagAIP, Value: aip}, emv.TLV{Tag: emv.TagAFL, Value: afl})
	if f.GPOCryptogram {
		cid := emv.CryptogramARQC
		if c.pinExhausted() {
			cid = emv.CryptogramAAC
		}
		ac := c.mac("AC", []byte{cid}, c.atcBytes(), pdolData)
		if cid == emv.CryptogramARQC {
			c.lastARQC = ac
		}
		body = append(body, emv.Encode(
			emv.TLV{Tag: emv.TagCID, Value: []byte{cid}},
			emv.TLV{Tag: emv.TagATC, Value: c.atcBytes()},
			emv.TLV{Tag: emv.TagCryptogram, Value: ac},
			emv.TLV{Tag: emv.TagIAD, Value: c.iad(f)},
		)...)
		c.genAC = 1
		c.firstCID = cid
	}
	for _, t := range []emv.Tag{emv.TagCTQ, emv.TagFormFactor, emv.TagPANSequence} {
		if v, ok := f.data[t]; ok {
			body = emv.AppendTLV(body, t, v)
		}
	}
	return emv.AppendTLV(nil, emv.TagResponseFormat2, body), 0x9000
}

func (c *Card) atcBytes() []byte { return []byte{byte(c.atc >> 8), byte(c.atc)} }

// tryLimit is the PIN try limit: the image's, or 3.
func (c *Card) tryLimit() int {
	if c.img.PINTryLimit > 0 {
		return c.img.PINTryLimit
	}
	return 3
}

func (c *Card) pinExhausted() bool { return c.img.PIN != "" && c.pinTries == 0 }

// iad is the issuer application data the card returns.
func (c *Card) iad(f *file) []byte {
	if v, ok := f.data[emv.TagIAD]; ok {
		return slices.Clone(v)
	}
	return []byte{0x06, 0x01, 0x0A, 0x03, 0xA0, 0x00, 0x00}
}

// mac is the card's cryptogram function: HMAC-SHA-256 under the card key
// over a label and the parts, cut to 8 bytes.
func (c *Card) mac(label string, parts ...[]byte) []byte { return mac(c.key, label, parts...) }

func mac(key []byte, label string, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(label))
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)[:8]
}

// IssuerAuthenticationData is what the issuer of a virtual card sends back
// as tag 91: an 8-byte ARPC over the ARQC and the response code, followed
// by the two-character response code. key is the card's CardKey.
func IssuerAuthenticationData(key, arqc []byte, arc string) []byte {
	return append(mac(key, "ARPC", arqc, []byte(arc)), []byte(arc)...)
}

// readRecord is READ RECORD of the selected DF's short files.
func (c *Card) readRecord(cmd command) ([]byte, uint16) {
	if cmd.p2&0x07 != 0x04 || cmd.p1 == 0 {
		return nil, 0x6A86
	}
	if c.cur == nil {
		return nil, 0x6985
	}
	recs := c.cur.Records[strconv.Itoa(int(cmd.p2>>3))]
	if int(cmd.p1) > len(recs) || len(recs[cmd.p1-1]) == 0 {
		return nil, 0x6A83 // an empty record is one a recording did not read
	}
	return slices.Clone(recs[cmd.p1-1]), 0x9000
}

// getData is GET DATA: the live counters, or the selected DF's data.
func (c *Card) getData(cmd command) ([]byte, uint16) {
	t := emv.Tag(cmd.p1)<<8 | emv.Tag(cmd.p2)
	if cmd.p1 == 0 {
		t = emv.Tag(cmd.p2)
	}
	var v []byte
	switch t {
	case emv.TagATC:
		v = c.atcBytes()
	case emv.TagLastOnlineATC:
		v = []byte{byte(c.online >> 8), byte(c.online)}
	case emv.TagPINTryCounter:
		if c.img.PIN == "" {
			return nil, 0x6A88
		}
		v = []byte{byte(c.pinTries)}
	default:
		if c.cur == nil {
			return nil, 0x6A88
		}
		var ok bool
		if v, ok = c.cur.data[t]; !ok {
			return nil, 0x6A88
		}
	}
	return emv.AppendTLV(nil, t, v), 0x9000
}

// verify is VERIFY with a plaintext PIN block (format 2).
func (c *Card) verify(cmd command) ([]byte, uint16) {
	if cmd.p2 != 0x80 {
		return nil, 0x6A86
	}
	if c.img.PIN == "" {
		return nil, 0x6A88
	}
	if c.pinTries == 0 {
		return nil, 0x6983
	}
	b := cmd.data
	if len(b) != 8 || b[0]>>4 != 2 {
		return nil, 0x6A80
	}
	n := int(b[0] & 0x0F)
	if n < 4 || n > 12 {
		return nil, 0x6A80
	}
	digits := hex.EncodeToString(b[1:])[:n]
	if subtle.ConstantTimeCompare([]byte(digits), []byte(c.img.PIN)) == 1 {
		c.pinTries = c.tryLimit()
		return nil, 0x9000
	}
	c.pinTries--
	return nil, 0x63C0 | uint16(c.pinTries)
}

// cdol finds a CDOL of the selected application in its records.
func (c *Card) cdol(t emv.Tag) (emv.DOL, bool) {
	for _, sfi := range sortedSFIs(c.cur.Records) {
		if n, _ := strconv.Atoi(sfi); n > 10 {
			continue // raw proprietary records
		}
		for _, r := range c.cur.Records[sfi] {
			if raw, ok := emv.Find(r, t); ok {
				d, err := emv.ParseDOL(raw)
				return d, err == nil
			}
		}
	}
	return nil, false
}

// generateAC is GENERATE AC. The card goes online whenever it may: it
// answers ARQC to a TC request at the first GENERATE AC, and AAC when its
// PIN tries are used up or the application is blocked. At the second it
// gives the TC asked for unless issuer authentication failed.
func (c *Card) generateAC(cmd command) ([]byte, uint16) {
	f := c.cur
	if f == nil || !c.gpoDone || c.genAC >= 2 || (c.genAC == 1 && c.firstCID&0xC0 != emv.CryptogramARQC) {
		return nil, 0x6985
	}
	requested := cmd.p1 & 0xC0
	if requested == 0xC0 {
		return nil, 0x6A86
	}
	first := c.genAC == 0
	dolTag := emv.TagCDOL1
	if !first {
		dolTag = emv.TagCDOL2
	}
	dol, ok := c.cdol(dolTag)
	if !ok {
		return nil, 0x6985
	}
	if len(cmd.data) != dol.Len() {
		return nil, 0x6700
	}
	c.genAC++
	c.cdolData = append(c.cdolData, slices.Clone(cmd.data))
	if first && len(f.GenerateAC) > 0 && recordedFits(f.GenerateAC, cmd.p1) {
		c.rememberFirst(f.GenerateAC, nil)
		return slices.Clone(f.GenerateAC), 0x9000
	}
	values, _ := dol.Split(cmd.data)
	var cid byte
	if first {
		switch {
		case c.pinExhausted():
			cid = emv.CryptogramAAC | 0x08 | 0x02 // advice: PIN try limit exceeded
		case c.blocked[f.hexName], requested == emv.CryptogramAAC:
			cid = emv.CryptogramAAC
		default:
			cid = emv.CryptogramARQC
		}
		c.firstCID = cid
	} else {
		cid = requested
		for _, v := range values {
			if v.Tag == emv.TagIssuerAuthData && !allZero(v.Value) {
				c.checkARPC(v.Value)
			}
			if v.Tag == emv.TagARC && !bytes.HasPrefix(v.Value, []byte("Z")) {
				c.online = c.atc
			}
		}
		if c.authFailed && cid == emv.CryptogramTC {
			cid = emv.CryptogramAAC
		}
	}
	ac := c.mac("AC", []byte{cmd.p1, cid}, c.atcBytes(), cmd.data)
	if cid&0xC0 == emv.CryptogramARQC {
		c.lastARQC = ac
	}
	if cmd.p1&0x10 != 0 && cid&0xC0 != emv.CryptogramAAC && f.ICCKey != nil {
		return c.signedGenerateAC(f, cid, ac, values)
	}
	if f.Format1 {
		v := append([]byte{cid}, c.atcBytes()...)
		v = append(v, ac...)
		v = append(v, c.iad(f)...)
		return emv.AppendTLV(nil, emv.TagResponseFormat1, v), 0x9000
	}
	return emv.AppendTLV(nil, emv.TagResponseFormat2, emv.Encode(
		emv.TLV{Tag: emv.TagCID, Value: []byte{cid}},
		emv.TLV{Tag: emv.TagATC, Value: c.atcBytes()},
		emv.TLV{Tag: emv.TagCryptogram, Value: ac},
		emv.TLV{Tag: emv.TagIAD, Value: c.iad(f)},
	)), 0x9000
}

// recordedFits reports whether a recorded first GENERATE AC answers a
// request (P1): a card never gives a higher cryptogram than asked for
// (AAC < ARQC < TC), so a recorded TC does not answer an ARQC request,
// and an answer whose cryptogram is inside a CDA signature (no 9F26)
// answers only a request for CDA. Otherwise the card computes its own.
func recordedFits(resp []byte, p1 byte) bool {
	requested := p1 & 0xC0
	if _, ok := emv.Find(resp, emv.TagCryptogram); !ok && p1&0x10 == 0 {
		if objs, err := emv.ParseTLV(resp); err != nil || len(objs) != 1 || objs[0].Tag != emv.TagResponseFormat1 {
			return false
		}
	}
	cid, ok := emv.Find(resp, emv.TagCID)
	if objs, err := emv.ParseTLV(resp); err == nil && len(objs) == 1 && objs[0].Tag == emv.TagResponseFormat1 && len(objs[0].Value) >= 11 {
		cid, ok = objs[0].Value[:1], true
	}
	if !ok || len(cid) != 1 {
		return false
	}
	rank := func(c byte) int {
		switch c & 0xC0 {
		case emv.CryptogramAAC:
			return 0
		case emv.CryptogramARQC:
			return 1
		}
		return 2
	}
	return rank(cid[0]) <= rank(requested)
}

// rememberFirst takes a recorded first cryptogram answer (GENERATE AC in
// format 1 or 2, or a GPO answer with 9F26) as the card's own: its CID,
// and its cryptogram as the ARQC the issuer authenticates against. ac is
// the cryptogram when the caller found it already.
func (c *Card) rememberFirst(resp, ac []byte) {
	cid, ok := emv.Find(resp, emv.TagCID)
	if ac == nil {
		ac, _ = emv.Find(resp, emv.TagCryptogram)
	}
	if objs, err := emv.ParseTLV(resp); err == nil && len(objs) == 1 && objs[0].Tag == emv.TagResponseFormat1 && len(objs[0].Value) >= 11 {
		v := objs[0].Value
		cid, ok, ac = v[:1], true, v[3:11]
	}
	c.firstCID = emv.CryptogramARQC
	if ok && len(cid) == 1 {
		c.firstCID = cid[0]
	}
	c.genAC = 1
	c.lastARQC = nil
	if c.firstCID&0xC0 == emv.CryptogramARQC && len(ac) == 8 {
		c.lastARQC = slices.Clone(ac)
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// checkARPC verifies issuer authentication data (ARPC and response code)
// against the last ARQC.
func (c *Card) checkARPC(data []byte) bool {
	c.extAuth = true
	if len(data) < 10 || c.lastARQC == nil {
		c.authFailed = true
		return false
	}
	want := IssuerAuthenticationData(c.key, c.lastARQC, string(data[8:10]))
	if !hmac.Equal(want, data[:10]) {
		c.authFailed = true
		return false
	}
	return true
}

// externalAuthenticate is EXTERNAL AUTHENTICATE, once, between the two
// GENERATE ACs.
func (c *Card) externalAuthenticate(cmd command) ([]byte, uint16) {
	if c.genAC != 1 || c.firstCID&0xC0 != emv.CryptogramARQC || c.extAuth {
		return nil, 0x6985
	}
	if len(cmd.data) < 8 || len(cmd.data) > 16 {
		return nil, 0x6700
	}
	if !c.checkARPC(cmd.data) {
		return nil, 0x6300
	}
	return nil, 0x9000
}

// scriptCommand handles the issuer script commands a virtual card knows:
// APPLICATION BLOCK (1E), APPLICATION UNBLOCK (18), PIN CHANGE/UNBLOCK
// (24), PUT DATA (DA), UPDATE RECORD (DC). Their MACs are not checked.
func (c *Card) scriptCommand(cmd command) ([]byte, uint16) {
	if c.cur == nil {
		return nil, 0x6985
	}
	switch cmd.ins {
	case 0x1E:
		c.blocked[c.cur.hexName] = true
	case 0x18:
		delete(c.blocked, c.cur.hexName)
	case 0x24:
		if c.img.PIN == "" {
			return nil, 0x6A88
		}
		c.pinTries = c.tryLimit()
	case 0xDA, 0xDC:
	default:
		return nil, 0x6D00
	}
	return nil, 0x9000
}
