// Package card is a virtual EMV card that answers command APDUs from a
// card image: a JSON file holding what a card returns (FCI, GPO response,
// records, data objects), so that a real card recorded once can be
// replayed, and so that the simulator's test cards behave like real ones.
//
// An image looks like this (hex everywhere, spaces allowed):
//
//	{
//	  "name": "Visa approved",
//	  "atr": "3B6800000073C84013009000",
//	  "pin": "1234", "pinTryLimit": 3,
//	  "t0": true,
//	  "files": {                          // contact interface
//	    "315041592E5359532E4444463031": {"fci": "6F..", "records": {"1": ["70.."]}},
//	    "A0000000031010": {
//	      "fci": "6F..",
//	      "gpo": "80..",                  // optional: else built from data 82, 94
//	      "records": {"1": ["70.."], "2": ["70..", "70.."]},
//	      "generateAc": "80..",           // optional: else computed
//	      "data": {"82": "3C00", "94": "08010100", "9F36": "0010", "9F13": "000F"}
//	    }
//	  },
//	  "contactless": { ... same shape, used when the card is tapped ... }
//	}
//
// The card keeps its counters (ATC, last online ATC, PIN tries) across
// transactions, like a real one. When an image gives no fixed GENERATE AC
// response the card computes its own: the ATC, and as cryptogram an
// HMAC-SHA-256 over the command data under a per-card key, cut to 8 bytes.
// That is not EMV cryptography (no 3DES/AES session keys), but it is
// honest: the cryptogram depends on every byte of the CDOL data, and the
// issuer side ([IssuerAuthenticationData]) can compute the matching ARPC.
package card

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/vinr/cashlessd/emv"
)

// Image is a card image.
type Image struct {
	// Name describes the card.
	Name string `json:"name"`
	// ATR is the answer to reset the reader reports.
	ATR emv.Hex `json:"atr"`
	// PIN is the offline PIN, when the card has one; PINTryLimit its
	// number of tries (3 when zero).
	PIN         string `json:"pin,omitempty"`
	PINTryLimit int    `json:"pinTryLimit,omitempty"`
	// Key is the card's cryptogram key; when empty one is derived from the
	// PAN.
	Key emv.Hex `json:"key,omitempty"`
	// T0 makes the contact interface behave as a T=0 card: commands with
	// data answer 61xx (fetch with GET RESPONSE), and READ RECORD or GET
	// DATA with a wrong Le answer 6Cxx.
	T0 bool `json:"t0,omitempty"`
	// Files are the DFs seen on the contact interface, Contactless those
	// seen when the card is tapped; keys are DF names in hex.
	Files       map[string]File `json:"files,omitempty"`
	Contactless map[string]File `json:"contactless,omitempty"`
}

// File is one DF (a directory or an application) of a card image.
type File struct {
	// FCI is the answer to SELECT.
	FCI emv.Hex `json:"fci"`
	// GPO is a fixed answer to GET PROCESSING OPTIONS. When it carries a
	// cryptogram (a recorded qVSDC answer) the card takes it as its first
	// one.
	GPO emv.Hex `json:"gpo,omitempty"`
	// Records are by SFI (decimal), record 1 first. Records of SFI 1 to
	// 10 are BER-TLV (a 70 template); those of SFI 11 to 30 are the
	// issuer's own format (transaction logs, proprietary files) and are
	// kept as raw bytes: a terminal reads them only when the AFL names
	// them, for offline data authentication, never as TLV.
	Records map[string][]emv.Hex `json:"records,omitempty"`
	// GenerateAC is a fixed answer to the first GENERATE AC: the real
	// card's recorded answer. The card remembers its cryptogram as the
	// ARQC the issuer answers, so issuer authentication and the second
	// GENERATE AC go as they would with the real card.
	GenerateAC emv.Hex `json:"generateAc,omitempty"`
	// Data holds data objects by tag in hex: for GET DATA, and the values
	// the card builds its answers from (82 AIP, 94 AFL, 9F36 initial ATC,
	// 9F13 last online ATC, 9F10 issuer application data, 9F6C CTQ, 9F6E).
	Data map[string]emv.Hex `json:"data,omitempty"`
	// GPOCryptogram makes GET PROCESSING OPTIONS answer with the
	// cryptogram (Visa qVSDC contactless).
	GPOCryptogram bool `json:"gpoCryptogram,omitempty"`
	// Format1 makes GENERATE AC answer in format 1 (80) instead of 77.
	Format1 bool `json:"format1,omitempty"`
	// ICCKey is the card's RSA key for DDA (INTERNAL AUTHENTICATE) and
	// CDA (GENERATE AC with P1 bit 5): a test key, certified by the
	// image's ICC public key certificate (9F46). Without one the card
	// answers INTERNAL AUTHENTICATE with 6D00 and never signs.
	ICCKey *RSAKey `json:"iccKey,omitempty"`
}

// Load reads a card image file.
func Load(path string) (*Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// Parse reads and checks a card image.
func Parse(b []byte) (*Image, error) {
	var img Image
	if err := json.Unmarshal(b, &img); err != nil {
		return nil, fmt.Errorf("card image: %w", err)
	}
	if err := img.Validate(); err != nil {
		return nil, err
	}
	return &img, nil
}

// Validate checks that the image is usable: hex DF names, FCIs and
// records that parse as BER-TLV, tags that are tags, a numeric PIN.
func (img *Image) Validate() error {
	var errs []error
	if len(img.Files) == 0 && len(img.Contactless) == 0 {
		errs = append(errs, errors.New("no files"))
	}
	if img.PIN != "" {
		if len(img.PIN) < 4 || len(img.PIN) > 12 || strings.Trim(img.PIN, "0123456789") != "" {
			errs = append(errs, errors.New("pin must be 4 to 12 digits"))
		}
	}
	if img.PINTryLimit < 0 || img.PINTryLimit > 15 {
		errs = append(errs, errors.New("pinTryLimit must be 0 to 15"))
	}
	for iface, files := range map[string]map[string]File{"files": img.Files, "contactless": img.Contactless} {
		for name, f := range files {
			where := iface + "." + name
			if _, err := hex.DecodeString(name); err != nil || name == "" {
				errs = append(errs, fmt.Errorf("%s: DF name is not hex", where))
			}
			if _, err := emv.ParseTLV(f.FCI); err != nil || len(f.FCI) == 0 {
				errs = append(errs, fmt.Errorf("%s: fci: %v", where, err))
			}
			for sfi, recs := range f.Records {
				n, err := strconv.Atoi(sfi)
				if err != nil || n < 1 || n > 30 {
					errs = append(errs, fmt.Errorf("%s: SFI %q", where, sfi))
				}
				if n > 10 {
					continue // proprietary files (transaction logs): raw bytes
				}
				for i, r := range recs {
					if _, err := emv.ParseTLV(r); err != nil {
						errs = append(errs, fmt.Errorf("%s: SFI %s record %d: %v", where, sfi, i+1, err))
					}
				}
			}
			for tag := range f.Data {
				if _, err := parseTagHex(tag); err != nil {
					errs = append(errs, fmt.Errorf("%s: data tag %q: %v", where, tag, err))
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("card image %q: %w", img.Name, err)
	}
	return nil
}

// parseTagHex reads a tag written in hex.
func parseTagHex(s string) (emv.Tag, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return 0, err
	}
	t, n, err := emv.ParseTag(b)
	if err != nil {
		return 0, err
	}
	if n != len(b) {
		return 0, errors.New("trailing bytes after the tag")
	}
	return t, nil
}

// PAN returns the card number in the image's records ("" when none), for
// choosing an image by card number.
func (img *Image) PAN() string {
	for _, r := range img.records() {
		if v, ok := emv.Find(r, emv.TagPAN); ok {
			return strings.TrimRight(strings.ToUpper(hex.EncodeToString(v)), "F")
		}
		if v, ok := emv.Find(r, emv.TagTrack2); ok {
			if t, err := emv.ParseTrack2Equivalent(v); err == nil {
				return t.PAN
			}
		}
	}
	return ""
}

// records returns every TLV record (SFI 1 to 10) of the image in a fixed order: contact
// files before contactless ones, by DF name, SFI and record number.
func (img *Image) records() [][]byte {
	var out [][]byte
	for _, files := range []map[string]File{img.Files, img.Contactless} {
		names := make([]string, 0, len(files))
		for n := range files {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			f := files[n]
			for _, sfi := range sortedSFIs(f.Records) {
				if n, _ := strconv.Atoi(sfi); n > 10 {
					continue // raw proprietary records
				}
				for _, r := range f.Records[sfi] {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

func sortedSFIs(recs map[string][]emv.Hex) []string {
	out := make([]string, 0, len(recs))
	for k := range recs {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	return out
}

// CardKey is the key the card computes cryptograms with: Key when the
// image has one, else SHA-256 of a fixed label and the PAN.
func (img *Image) CardKey() []byte {
	if len(img.Key) > 0 {
		return slices.Clone(img.Key)
	}
	sum := sha256.Sum256([]byte("cashlessd virtual card key\x00" + img.PAN()))
	return sum[:]
}

// Track2 returns the magnetic stripe track 2 of the card (from the chip's
// track 2 equivalent), as a reader would read it when the card is swiped,
// with sentinels. A stripe holds at most MaxTrack2 characters between the
// sentinels: longer discretionary data in the chip's copy is cut to fit.
// ok is false when the image has none.
func (img *Image) Track2() (string, bool) {
	for _, r := range img.records() {
		if v, ok := emv.Find(r, emv.TagTrack2); ok {
			if t, err := emv.ParseTrack2Equivalent(v); err == nil {
				s := t.ASCII()
				if len(s) > MaxTrack2 {
					s = s[:MaxTrack2]
				}
				return ";" + s + "?", true
			}
		}
	}
	return "", false
}

// MaxTrack2 is how many characters track 2 of a magnetic stripe holds
// between its sentinels (ISO/IEC 7813: 40 with the start and end
// sentinels and the LRC).
const MaxTrack2 = 37
