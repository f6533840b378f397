package card

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/vinr/cashlessd/emv"
)

// This file turns recordings of real cards into card images: a dump in
// the emulator format of the emv-tools project (.emu) and a plain APDU
// trace (command and response hex, one a line).

// ImportOptions says how a recording becomes an image.
type ImportOptions struct {
	// Name is the image's name.
	Name string
	// Interface is where the recorded files go: emv.Contact (files) or
	// emv.Contactless. Zero decides from the directory the recording
	// selects: the PPSE (2PAY.SYS.DDF01) means contactless, else contact.
	Interface emv.Interface
	// ATR is the answer to reset; when empty a trace's "ATR" line, else a
	// generic one.
	ATR []byte
}

// genericATR is the answer to reset of an image whose recording has none.
const genericATR = "3B8880014A434F503331563232"

var ppseDF = strings.ToUpper(hex.EncodeToString([]byte("2PAY.SYS.DDF01")))

// recording is what an import collected, DF by DF, before it becomes an
// image.
type recording struct {
	atr   []byte
	order []string
	files map[string]*File
}

func newRecording() *recording { return &recording{files: map[string]*File{}} }

// df returns the file of a DF name, making it on first use.
func (r *recording) df(name []byte) *File {
	key := strings.ToUpper(hex.EncodeToString(name))
	f, ok := r.files[key]
	if !ok {
		f = &File{}
		r.files[key] = f
		r.order = append(r.order, key)
	}
	return f
}

// setRecord stores record n (from 1) of a short file.
func setRecord(f *File, sfi, n int, data []byte) {
	if f.Records == nil {
		f.Records = map[string][]emv.Hex{}
	}
	key := strconv.Itoa(sfi)
	recs := f.Records[key]
	for len(recs) < n {
		recs = append(recs, nil)
	}
	recs[n-1] = bytes.Clone(data)
	f.Records[key] = recs
}

// setData stores a GET DATA answer (a data object) by its tag.
func setData(f *File, answer []byte) {
	objs, err := emv.ParseTLV(answer)
	if err != nil || len(objs) != 1 {
		return
	}
	if f.Data == nil {
		f.Data = map[string]emv.Hex{}
	}
	f.Data[strings.ToUpper(hex.EncodeToString(objs[0].Tag.Bytes()))] = bytes.Clone(objs[0].Value)
}

// image turns the recording into a checked image.
func (r *recording) image(opt ImportOptions) (*Image, error) {
	if len(r.files) == 0 {
		return nil, errors.New("card import: the recording selects no file")
	}
	img := &Image{Name: opt.Name, ATR: opt.ATR}
	if len(img.ATR) == 0 {
		img.ATR = r.atr
	}
	if len(img.ATR) == 0 {
		img.ATR = emv.MustHex(genericATR)
	}
	files := map[string]File{}
	for _, k := range r.order {
		f := r.files[k]
		if len(f.FCI) == 0 {
			continue // selected but never answered
		}
		for _, recs := range f.Records {
			for i, rec := range recs {
				if rec == nil {
					recs[i] = emv.Hex{} // not recorded: the card answers 6A83
				}
			}
		}
		files[k] = *f
	}
	iface := opt.Interface
	if iface == 0 {
		iface = emv.Contact
		if _, ok := files[ppseDF]; ok {
			iface = emv.Contactless
		}
	}
	switch iface {
	case emv.Contact:
		img.Files = files
	case emv.Contactless:
		if _, ok := files[ppseDF]; !ok {
			files[ppseDF] = File{FCI: ppseFor(files, r.order)}
		}
		img.Contactless = files
	default:
		return nil, fmt.Errorf("card import: no files for interface %s", iface)
	}
	if err := img.Validate(); err != nil {
		return nil, fmt.Errorf("card import: %w", err)
	}
	return img, nil
}

// ppseFor makes the PPSE of a contactless recording that did not select
// it (a recording that went to the application directly): one directory
// entry per recorded application, with its label and priority from its
// FCI, in the order the recording selected them.
func ppseFor(files map[string]File, order []string) []byte {
	var entries []byte
	for _, k := range order {
		f, ok := files[k]
		if !ok {
			continue
		}
		name, ok := emv.Find(f.FCI, emv.TagDFName)
		if !ok || strings.HasSuffix(strings.ToUpper(hex.EncodeToString(name)), "2E4444463031") {
			continue // not an application (a directory)
		}
		entry := emv.AppendTLV(nil, emv.TagAID, name)
		for _, t := range []emv.Tag{emv.TagApplicationLabel, emv.TagPriority, emv.TagKernelID} {
			if v, ok := emv.Find(f.FCI, t); ok {
				entry = emv.AppendTLV(entry, t, v)
			}
		}
		entries = emv.AppendTLV(entries, emv.TagApplicationTemplate, entry)
	}
	ppse := []byte("2PAY.SYS.DDF01")
	return emv.AppendTLV(nil, emv.TagFCI, append(emv.AppendTLV(nil, emv.TagDFName, ppse),
		emv.AppendTLV(nil, emv.TagFCIProprietary, emv.AppendTLV(nil, emv.TagFCIIssuerDiscretionary, entries))...))
}

// ImportEmu reads a card dump in the emv-tools emulator format: blocks
// "{ name = <hex>; fci = <hex>; gpo = <hex>; sfiN = <hex>, <hex>; ac =
// <hex>; dataXXXX = <hex>; pinblock = <hex>; };", one a DF, values in
// angle brackets. A "pinblock" (an ISO format 2 plaintext PIN block)
// becomes the image's offline PIN.
func ImportEmu(r io.Reader, opt ImportOptions) (*Image, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	rec := newRecording()
	var pin string
	p := emuParser{src: src}
	for {
		p.space()
		if p.eof() {
			break
		}
		if !p.take('{') {
			return nil, p.errorf("want {")
		}
		fields := map[string][][]byte{}
		var keys []string
		for {
			p.space()
			if p.take('}') {
				break
			}
			key := p.word()
			if key == "" {
				return nil, p.errorf("want a field name or }")
			}
			p.space()
			if !p.take('=') {
				return nil, p.errorf("want = after %s", key)
			}
			var vals [][]byte
			for {
				p.space()
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				vals = append(vals, v)
				p.space()
				if p.take(',') {
					continue
				}
				if p.take(';') {
					break
				}
				return nil, p.errorf("want , or ; after a value of %s", key)
			}
			if _, dup := fields[key]; !dup {
				keys = append(keys, key)
			}
			fields[key] = vals
		}
		p.space()
		p.take(';')
		names := fields["name"]
		if len(names) != 1 || len(names[0]) == 0 {
			return nil, errors.New("card import: .emu block without a name")
		}
		f := rec.df(names[0])
		for _, key := range keys {
			vals := fields[key]
			switch {
			case key == "name":
			case key == "fci":
				f.FCI = vals[0]
			case key == "gpo":
				f.GPO = vals[0]
			case key == "ac":
				f.GenerateAC = vals[0]
			case key == "pinblock":
				if s, ok := pinFromBlock(vals[0]); ok {
					pin = s
				}
			case strings.HasPrefix(key, "sfi"):
				sfi, err := strconv.Atoi(key[3:])
				if err != nil || sfi < 1 || sfi > 30 {
					return nil, fmt.Errorf("card import: .emu field %q", key)
				}
				for i, v := range vals {
					setRecord(f, sfi, i+1, v)
				}
			case strings.HasPrefix(key, "data"):
				setData(f, vals[0])
			}
		}
	}
	img, err := rec.image(opt)
	if err != nil {
		return nil, err
	}
	img.PIN = pin
	if pin != "" {
		img.PINTryLimit = 3
	}
	return img, img.Validate()
}

// pinFromBlock reads the PIN of an ISO 9564 format 2 plaintext PIN block.
func pinFromBlock(b []byte) (string, bool) {
	if len(b) != 8 || b[0]>>4 != 2 {
		return "", false
	}
	n := int(b[0] & 0x0F)
	if n < 4 || n > 12 {
		return "", false
	}
	return strings.ToUpper(hex.EncodeToString(b[1:]))[:n], true
}

// emuParser reads the .emu syntax.
type emuParser struct {
	src []byte
	pos int
}

func (p *emuParser) eof() bool { return p.pos >= len(p.src) }

// space skips white space and comments (# to the end of the line, and
// C comments).
func (p *emuParser) space() {
	for !p.eof() {
		c := p.src[p.pos]
		switch {
		case unicode.IsSpace(rune(c)):
			p.pos++
		case c == '#' || bytes.HasPrefix(p.src[p.pos:], []byte("//")):
			for !p.eof() && p.src[p.pos] != '\n' {
				p.pos++
			}
		case bytes.HasPrefix(p.src[p.pos:], []byte("/*")):
			end := bytes.Index(p.src[p.pos+2:], []byte("*/"))
			if end < 0 {
				p.pos = len(p.src)
				return
			}
			p.pos += end + 4
		default:
			return
		}
	}
}

func (p *emuParser) take(c byte) bool {
	if !p.eof() && p.src[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *emuParser) word() string {
	start := p.pos
	for !p.eof() {
		c := p.src[p.pos]
		if c != '_' && (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			break
		}
		p.pos++
	}
	return strings.ToLower(string(p.src[start:p.pos]))
}

// value reads <hex bytes>.
func (p *emuParser) value() ([]byte, error) {
	if !p.take('<') {
		return nil, p.errorf("want <")
	}
	end := bytes.IndexByte(p.src[p.pos:], '>')
	if end < 0 {
		return nil, p.errorf("unterminated <")
	}
	text := strings.Join(strings.Fields(string(p.src[p.pos:p.pos+end])), "")
	p.pos += end + 1
	b, err := hex.DecodeString(text)
	if err != nil {
		return nil, p.errorf("bad hex: %v", err)
	}
	return b, nil
}

func (p *emuParser) errorf(format string, args ...any) error {
	line := 1 + bytes.Count(p.src[:min(p.pos, len(p.src))], []byte("\n"))
	return fmt.Errorf("card import: .emu line %d: %s", line, fmt.Sprintf(format, args...))
}

// ImportTrace reads a plain APDU trace: command and response in turn, one
// hex string a line (spaces allowed), the response ending with SW1 SW2.
// A line may start with a direction marker (">", ">>", "->", "C:" for a
// command; "<", "<<", "<-", "R:" for a response); "#" starts a comment;
// a line "ATR: <hex>" gives the answer to reset. SELECT by name,
// GET PROCESSING OPTIONS, READ RECORD, GET DATA and the first
// GENERATE AC of each application are kept; a 61xx answer is completed
// by the GET RESPONSE after it. Answers other than 9000 are left out;
// records the trace did not read are left empty (the card answers
// "record not found"). A contactless trace that never selected the PPSE
// gets one listing its applications.
func ImportTrace(r io.Reader, opt ImportOptions) (*Image, error) {
	rec := newRecording()
	var cur *File
	var pending []byte // command waiting for its response
	var waiting []byte // command answered 61xx, waiting for GET RESPONSE
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = strings.TrimSpace(text[:i])
		}
		if text == "" {
			continue
		}
		if rest, ok := cutPrefixFold(text, "ATR"); ok {
			b, err := traceHex(strings.TrimLeft(rest, ": "))
			if err != nil {
				return nil, fmt.Errorf("card import: trace line %d: %w", line, err)
			}
			rec.atr = b
			continue
		}
		isCmd, isResp := false, false
		for _, m := range []string{">>", "->", ">", "C:"} {
			if rest, ok := cutPrefixFold(text, m); ok {
				text, isCmd = rest, true
				break
			}
		}
		if !isCmd {
			for _, m := range []string{"<<", "<-", "<", "R:"} {
				if rest, ok := cutPrefixFold(text, m); ok {
					text, isResp = rest, true
					break
				}
			}
		}
		b, err := traceHex(text)
		if err != nil {
			return nil, fmt.Errorf("card import: trace line %d: %w", line, err)
		}
		if isCmd || (!isResp && pending == nil) {
			if pending != nil {
				return nil, fmt.Errorf("card import: trace line %d: a command follows a command", line)
			}
			pending = b
			continue
		}
		if pending == nil {
			return nil, fmt.Errorf("card import: trace line %d: a response without a command", line)
		}
		cmdBytes := pending
		pending = nil
		if len(b) < 2 {
			return nil, fmt.Errorf("card import: trace line %d: response without a status word", line)
		}
		data, sw1, sw2 := b[:len(b)-2], b[len(b)-2], b[len(b)-1]
		cmd, ok := parseCommand(cmdBytes)
		if !ok {
			return nil, fmt.Errorf("card import: trace line %d: malformed command", line)
		}
		if cmd.cla == 0x00 && cmd.ins == 0xC0 && waiting != nil {
			// GET RESPONSE completes the command that answered 61xx.
			cmd, _ = parseCommand(waiting)
			waiting = nil
		} else {
			waiting = nil
		}
		if sw1 == 0x61 {
			waiting = cmdBytes
			continue
		}
		if sw1 != 0x90 || sw2 != 0x00 {
			continue
		}
		switch {
		case cmd.cla == 0x00 && cmd.ins == 0xA4 && cmd.p1 == 0x04 && cmd.hasData:
			cur = rec.df(cmd.data)
			if cmd.p2&0x03 == 0x02 {
				cur = nil // a next occurrence: the answer names its DF
				if name, ok := emv.Find(data, emv.TagDFName); ok {
					cur = rec.df(name)
				}
			}
			if cur != nil && len(cur.FCI) == 0 {
				cur.FCI = bytes.Clone(data)
			}
		case cur == nil:
		case cmd.cla&0xF0 == 0x80 && cmd.ins == 0xA8:
			cur.GPO = bytes.Clone(data)
		case cmd.cla == 0x00 && cmd.ins == 0xB2 && cmd.p2&0x07 == 0x04 && cmd.p1 > 0:
			setRecord(cur, int(cmd.p2>>3), int(cmd.p1), data)
		case cmd.cla&0xF0 == 0x80 && cmd.ins == 0xCA:
			setData(cur, data)
		case cmd.cla&0xF0 == 0x80 && cmd.ins == 0xAE && len(cur.GenerateAC) == 0:
			cur.GenerateAC = bytes.Clone(data)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return rec.image(opt)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return strings.TrimSpace(s[len(prefix):]), true
	}
	return s, false
}

func traceHex(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not hex: %v", err)
	}
	return b, nil
}
