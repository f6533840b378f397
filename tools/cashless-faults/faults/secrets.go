package faults

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/vinr/cashlessd/emv/card"
	"github.com/vinr/cashlessd/emv/reader/dukpt"
	"github.com/vinr/cashlessd/emv/reader/virtual"
)

// Secret is one thing that must never be written down, in every form it
// could take in a file: ASCII, BCD, hex, base64.
type Secret struct {
	What  string
	Forms [][]byte
}

func forms(what string, raw []byte, text string) Secret {
	s := Secret{What: what}
	if text != "" {
		s.Forms = append(s.Forms, []byte(text))
	}
	if len(raw) > 0 {
		// Raw bytes that are all printable would match ordinary text (the
		// BCD of 4242… is "BBBB…"): then only the other forms count.
		if !printable(raw) {
			s.Forms = append(s.Forms, raw)
		}
		s.Forms = append(s.Forms, []byte(hex.EncodeToString(raw)), []byte(strings.ToUpper(hex.EncodeToString(raw))),
			[]byte(base64.StdEncoding.EncodeToString(raw)))
	}
	return s
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// bcd packs digits two per byte, F-padded.
func bcd(digits string) []byte {
	if len(digits)%2 == 1 {
		digits += "F"
	}
	b, _ := hex.DecodeString(digits)
	return b
}

// CardSecrets are the full PAN, the track 2 data (of the card's chip
// image and of the simulator's magstripe-only card for the number) and,
// for PIN cards, the clear ISO format 0 PIN block and the DUKPT-encrypted
// PIN blocks the simulator's PIN pad makes for its first pinUses PINs
// after a start.
func CardSecrets(pan string, pinUses int) []Secret {
	out := []Secret{forms("full PAN of "+pan[:6]+"…", bcd(pan), pan)}
	img, err := card.ForPAN(pan)
	if err != nil {
		return out
	}
	stripe, err := card.MagstripeOnly(pan)
	if err != nil {
		return out
	}
	seen := map[string]bool{}
	for _, im := range []*card.Image{img, stripe} {
		t2, ok := im.Track2()
		if t2 = strings.Trim(t2, ";?"); !ok || seen[t2] {
			continue
		}
		seen[t2] = true
		if _, rest, found := strings.Cut(t2, "="); found && len(rest) >= 7 {
			out = append(out, forms("track 2 of "+pan[:6]+"…", nil, t2), forms("track 2 after the separator of "+pan[:6]+"…", nil, "="+rest),
				forms("track 2 equivalent of "+pan[:6]+"…", bcd(pan+"D"+rest), pan+"D"+rest))
		}
	}
	pin := img.PIN
	if pin == "" {
		pin = "1234"
	}
	clearBlock, err := dukpt.FormatPIN0(pin, pan)
	if err != nil {
		return out
	}
	out = append(out, forms("clear PIN block of "+pan[:6]+"…", clearBlock, ""))
	bdk, _ := hex.DecodeString(virtual.TestBDK)
	ksn0, _ := hex.DecodeString(virtual.TestKSN)
	ik, err := dukpt.InitialKey(bdk, ksn0)
	if err != nil {
		return out
	}
	ksn := ksn0
	for i := 0; i < pinUses; i++ {
		if ksn, err = dukpt.NextKSN(ksn); err != nil {
			break
		}
		tk, err := dukpt.TransactionKey(ik, ksn)
		if err != nil {
			break
		}
		epb, err := dukpt.EncryptPINBlock(dukpt.PINVariant(tk), clearBlock)
		if err != nil {
			break
		}
		out = append(out, forms(fmt.Sprintf("encrypted PIN block of %s… (KSN counter %d)", pan[:6], dukpt.Counter(ksn)), epb, ""))
	}
	return out
}

// KeySecrets are the PIN pad's base derivation key and initial key.
func KeySecrets() []Secret {
	bdk, _ := hex.DecodeString(virtual.TestBDK)
	ksn0, _ := hex.DecodeString(virtual.TestKSN)
	ik, _ := dukpt.InitialKey(bdk, ksn0)
	return []Secret{forms("DUKPT base derivation key", bdk, ""), forms("DUKPT initial key", ik, "")}
}

// Hit is a secret found in a file.
type Hit struct{ File, What string }

// ScanFiles looks for every form of every secret in every file under the
// roots, and returns the hits with the number of files and bytes read.
func ScanFiles(roots []string, secrets []Secret) ([]Hit, int, int64, error) {
	var hits []Hit
	files, size := 0, int64(0)
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if e.IsDir() || !e.Type().IsRegular() {
				return nil
			}
			raw, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files++
			size += int64(len(raw))
			for _, s := range secrets {
				for _, f := range s.Forms {
					if len(f) >= 6 && bytes.Contains(raw, f) {
						hits = append(hits, Hit{p, s.What})
						break
					}
				}
			}
			return nil
		})
		if err != nil {
			return hits, files, size, err
		}
	}
	return hits, files, size, nil
}

// secretPANs are the cards the secrets suite pays with: PIN and no-PIN,
// chip, contactless and swipe, approvals and declines.
var secretPANs = []struct {
	pan, entry string
}{
	{"4242424242424242", "chip"}, {"4242424242424242", "contactless"}, {"4242424242424242", "swipe"},
	{"5555555555554444", "chip"}, {"5555555555554444", "contactless"}, {"5200828282828210", "chip"},
	{"6759649826438453", "chip"}, {"4000002500003155", "chip"}, {"378282246310005", "contactless"},
	{"4000000000000077", "chip"}, {"4000000000000002", "chip"}, {"4000000000009995", "swipe"},
	{"4000000000000127", "chip"}, {"6011111111111117", "chip"}, {"4111111111111111", "swipe"},
}

// RunSecrets pays with every test card (PIN pad included), rotates the
// shared key, kills the daemon in flight once, then scans the data
// directory (database, printer output), the daemon's logs at debug level
// and the host's ledger for full PANs, track data, PIN blocks and keys;
// then scans everything the other suites wrote under work for the PANs.
func RunSecrets(ctx context.Context, opt Options, work string) (*Report, error) {
	opt.LogLevel = "debug"
	h, err := NewHarness(opt, "")
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if _, err := h.startDaemon(ctx); err != nil {
		return h.Report, err
	}
	r := h.Report
	// The live key, made while the daemon runs (over its admin socket).
	out, err := h.opt.Launcher.command("key", "rotate", "--data-dir", h.dataDir).Output()
	if err != nil {
		return r, fmt.Errorf("key rotate: %w", err)
	}
	liveKey := strings.TrimSpace(string(out))
	live := *h.ecr
	live.Key = liveKey
	if a := live.Post(ctx, "/cashless/v1/status", "{}"); a.Status != 200 {
		return r, fmt.Errorf("the rotated key does not work: %s", a.Raw)
	}
	pays := 0
	for i, c := range secretPANs {
		if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"pan": c.pan, "entryMethod": c.entry, "presentAfterMs": 0}); err != nil {
			return r, err
		}
		ref := fmt.Sprintf("SEC-%02d", i)
		a := live.Post(ctx, "/cashless/v1/sale", map[string]any{"amount": 6000 + i, "currency": "USD", "reference": ref, "printReceipt": true})
		pays++
		if a.Status == 200 {
			live.Post(ctx, "/cashless/v1/refund", map[string]any{"originalReference": ref, "amount": 100, "currency": "USD", "reference": ref + "-R", "printReceipt": true})
			pays++
		}
	}
	_ = h.sim(ctx, "/simulator/v1/card", map[string]any{"pan": "5555555555554444", "entryMethod": "chip", "presentAfterMs": 0})
	live.Post(ctx, "/cashless/v1/preauth", map[string]any{"amount": 9000, "currency": "USD", "reference": "SEC-P"})
	live.Post(ctx, "/cashless/v1/preauth/complete", map[string]any{"originalReference": "SEC-P", "captureAmount": 8000, "currency": "USD", "reference": "SEC-C"})
	live.Post(ctx, "/cashless/v1/receipt/reprint", map[string]any{"type": "both"})
	live.Post(ctx, "/cashless/v1/receipt/last", "{}")
	// A kill in flight: recovery and its logs must not leak either.
	h.proxy.SetRules(&Rule{Dir: Down, MTIs: []string{"0210"}, Action: Hold, Delay: time.Second, Once: true})
	wait := h.proxy.Await(h.proxy.Mark(), func(e Event) bool { return e.What == "held" })
	go live.Post(ctx, "/cashless/v1/sale", map[string]any{"amount": 7777, "currency": "USD", "reference": "SEC-KILL"})
	select {
	case <-wait:
	case <-time.After(10 * time.Second):
	}
	_ = h.d.Signal(syscall.SIGKILL)
	<-h.d.Done()
	h.proxy.SetRules()
	if _, err := h.startDaemon(ctx); err != nil {
		return r, err
	}
	live.Base = h.ecr.Base
	live.Post(ctx, "/cashless/v1/batch/close", map[string]any{"reference": "SEC-EOD"})
	h.final(ctx)

	pinUses := 64
	wire := h.proxy.Since(0)
	var secrets []Secret
	seen := map[string]bool{}
	for _, c := range secretPANs {
		if !seen[c.pan] {
			seen[c.pan] = true
			secrets = append(secrets, CardSecrets(c.pan, pinUses)...)
		}
	}
	secrets = append(secrets, KeySecrets()...)
	secrets = append(secrets, forms("the live shared key", nil, liveKey))
	// Positive control: what crossed the host link (PANs, PIN blocks) is
	// among the patterns scanned for, so a leak would be found.
	pinBlocks, pansOnWire, tracksOnWire, missing := 0, 0, 0, 0
	for _, e := range wire {
		if e.Dir != Up || e.What != "forwarded" {
			continue
		}
		if e.Track2 != "" {
			tracksOnWire++
			if !matches(secrets, []byte(e.Track2)) {
				missing++
				r.Violate(Violation{VSecret, "a track 2 on the host link is not among the scan patterns"})
			}
		}
		if e.PAN != "" {
			pansOnWire++
			if !matches(secrets, []byte(e.PAN)) {
				missing++
				r.Violate(Violation{VSecret, "a PAN on the host link is not among the scan patterns"})
			}
		}
		if len(e.PINBlock) > 0 {
			pinBlocks++
			if !matches(secrets, e.PINBlock) {
				missing++
				r.Violate(Violation{VSecret, fmt.Sprintf("a PIN block on the host link (%x) is not among the scan patterns", e.PINBlock)})
			}
		}
	}
	if tracksOnWire == 0 {
		r.Violate(Violation{VSecret, "no track 2 crossed the host link: a swiped sale went without field 35, or the track check checks nothing"})
	}
	r.Note("Secrets scan positive control: %d PANs, %d tracks 2 (field 35) and %d encrypted PIN blocks crossed the host link; %d were not among the scanned patterns.", pansOnWire, tracksOnWire, pinBlocks, missing)
	hits, files, size, err := ScanFiles([]string{h.dataDir, h.logs, filepath.Dir(h.ledger)}, secrets)
	if err != nil {
		return r, err
	}
	for _, x := range hits {
		r.Violate(Violation{VSecret, x.What + " in " + x.File})
	}
	kinds := map[string]int{}
	for _, s := range secrets {
		kinds[strings.SplitN(s.What, " of ", 2)[0]]++
	}
	r.Add(Row{Class: "secrets", Fault: fmt.Sprintf("%d payments with %d cards (chip, contactless, swipe; online, offline and no PIN), key rotation, a kill in flight; data dir, debug logs, printer output, host ledger", pays, len(seen)),
		Times: files, Outcome: fmt.Sprintf("%d files, %.1f MiB scanned for %d secrets (%s) in raw, BCD, hex and base64 form: %d hits", files, float64(size)/mib, len(secrets), summary(kinds), len(hits)), Bad: len(hits)})

	// Everything the other suites wrote: PANs and track data.
	var cardOnly []Secret
	for _, s := range secrets {
		if strings.HasPrefix(s.What, "full PAN") || strings.HasPrefix(s.What, "track 2") {
			cardOnly = append(cardOnly, s)
		}
	}
	for _, pan := range approvingPANs {
		if !seen[pan] {
			cardOnly = append(cardOnly, CardSecrets(pan, 0)...)
		}
	}
	others, files2, size2, err := ScanFiles([]string{work}, cardOnly)
	if err != nil {
		return r, err
	}
	for _, x := range others {
		r.Violate(Violation{VSecret, x.What + " in " + x.File})
	}
	r.Add(Row{Class: "secrets", Fault: "everything every suite of this run wrote (data dirs, logs, printer output, ledgers)", Times: files2,
		Outcome: fmt.Sprintf("%d files, %.1f MiB scanned for %d PAN and track 2 forms: %d hits", files2, float64(size2)/mib, len(cardOnly), len(others)), Bad: len(others)})
	return r, nil
}

func summary(kinds map[string]int) string {
	keys := make([]string, 0, len(kinds))
	for k := range kinds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", kinds[k], k)
	}
	return strings.Join(parts, ", ")
}

// matches reports whether b is one of the secrets' forms.
func matches(secrets []Secret, b []byte) bool {
	for _, s := range secrets {
		for _, f := range s.Forms {
			if bytes.Equal(f, b) {
				return true
			}
		}
	}
	return false
}
