package emv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Directory names.
const (
	pseName  = "1PAY.SYS.DDF01"
	ppseName = "2PAY.SYS.DDF01"
)

// ErrNoApplication means the card and the terminal have no application in
// common (or every common one failed to start).
var ErrNoApplication = errors.New("emv: no supported application on the card")

// ErrCardBlocked means the card answered SELECT with 6A81: blocked, or not
// an EMV card.
var ErrCardBlocked = errors.New("emv: card blocked or SELECT not supported")

// Candidate is an application that both the card and the terminal support.
type Candidate struct {
	// AID is the card's ADF name.
	AID Hex
	// Label (50) and PreferredName (9F12) are what the card calls it;
	// PreferredName only when the card's issuer code table (9F11) is one
	// the terminal supports (9F40), decoded with it, else "".
	Label         string
	PreferredName string
	// Priority is the Application Priority Indicator (87): low nibble 1 is
	// the highest priority, 0 none; bit 8 asks for cardholder confirmation.
	Priority byte
	// Scheme comes from the matching terminal AID.
	Scheme string
	// Kernel is the contactless kernel that runs the application, from
	// the PPSE entry's Kernel Identifier (9F2A) or else the AID
	// (contactless.go); zero on the contact interface.
	Kernel KernelID

	config       AIDConfig
	preferredRaw []byte // 9F12 of a directory entry, decoded once 9F11 is known
}

// DisplayName is the name to show the cardholder: the preferred name when
// the card has one, else the label, else the AID.
func (c Candidate) DisplayName() string {
	if c.PreferredName != "" {
		return c.PreferredName
	}
	if c.Label != "" {
		return c.Label
	}
	return c.AID.String()
}

// NeedsConfirmation reports whether the card asks the cardholder to confirm
// the application.
func (c Candidate) NeedsConfirmation() bool { return c.Priority&0x80 != 0 }

func (c Candidate) rank() int {
	if p := int(c.Priority & 0x0F); p != 0 {
		return p
	}
	return 16
}

// matchAID finds the terminal AID a card AID matches: exactly, or as a
// longer card AID when the terminal entry allows partial matching.
func matchAID(aids []AIDConfig, cardAID []byte, iface Interface) (AIDConfig, bool) {
	var partial *AIDConfig
	for i := range aids {
		a := &aids[i]
		if (iface == Contactless && !a.Contactless) || (iface == Contact && !a.Contact) {
			continue
		}
		if bytes.Equal(a.AID, cardAID) {
			return *a, true
		}
		if partial == nil && a.PartialMatch && len(cardAID) > len(a.AID) && bytes.HasPrefix(cardAID, a.AID) {
			partial = a
		}
	}
	if partial != nil {
		return *partial, true
	}
	return AIDConfig{}, false
}

// sortCandidates orders candidates by priority indicator; candidates
// without one keep the card's order after those with one.
func sortCandidates(c []Candidate) {
	slices.SortStableFunc(c, func(a, b Candidate) int { return a.rank() - b.rank() })
}

// addCandidate appends c unless its AID is already listed.
func addCandidate(list []Candidate, c Candidate) []Candidate {
	for _, x := range list {
		if bytes.Equal(x.AID, c.AID) {
			return list
		}
	}
	return append(list, c)
}

// candidateFromEntry reads an application template (61) of a directory.
func candidateFromEntry(entry []byte, aids []AIDConfig, iface Interface) (Candidate, bool) {
	aid, ok := Find(entry, TagAID)
	if !ok || len(aid) < 5 || len(aid) > 16 {
		return Candidate{}, false
	}
	cfg, ok := matchAID(aids, aid, iface)
	if !ok {
		return Candidate{}, false
	}
	c := Candidate{AID: bytes.Clone(aid), Scheme: cfg.Scheme, config: cfg}
	if v, ok := Find(entry, TagApplicationLabel); ok {
		c.Label = printable(v)
	}
	if v, ok := Find(entry, TagPreferredName); ok {
		c.preferredRaw = bytes.Clone(v)
	}
	if v, ok := Find(entry, TagPriority); ok && len(v) == 1 {
		c.Priority = v[0]
	}
	return c, true
}

// printable keeps the printable ASCII of a card string, trimmed.
func printable(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7F {
			sb.WriteByte(c)
		}
	}
	return strings.TrimSpace(sb.String())
}

// candidates builds the candidate list for the session's interface.
func (s *Session) candidates(ctx context.Context) ([]Candidate, error) {
	if s.iface == Contactless {
		return s.ppseCandidates(ctx)
	}
	list, err := s.pseCandidates(ctx)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		if list, err = s.listCandidates(ctx); err != nil {
			return nil, err
		}
	}
	sortCandidates(list)
	return list, nil
}

// pseCandidates reads the Payment System Environment directory (EMV
// Book 1, 12.3.2). An empty list without error means: use the list of
// AIDs.
func (s *Session) pseCandidates(ctx context.Context) ([]Candidate, error) {
	fci, sw, err := s.exchange(ctx, "SELECT PSE", SelectCommand([]byte(pseName), false))
	if err != nil {
		return nil, err
	}
	switch sw {
	case SWOK:
	case SWFunctionNotSupported:
		return nil, ErrCardBlocked
	default:
		return nil, nil
	}
	var list []Candidate
	if err := s.readDirectory(ctx, fci, 0, &list); err != nil {
		if errors.Is(err, ErrCard) {
			return nil, nil // a broken directory: fall back to the list of AIDs
		}
		return nil, err
	}
	s.namePreferred(list, fci)
	return list, nil
}

// readDirectory reads the records of a directory whose FCI is given,
// following DDF entries one level down.
func (s *Session) readDirectory(ctx context.Context, fci []byte, depth int, list *[]Candidate) error {
	sfi, ok := Find(fci, TagSFI)
	if !ok || len(sfi) != 1 || sfi[0] < 1 || sfi[0] > 30 {
		return fmt.Errorf("%w: directory FCI without SFI", ErrCard)
	}
	for rec := byte(1); rec < 255; rec++ {
		data, sw, err := s.exchange(ctx, "READ RECORD (directory)", ReadRecordCommand(sfi[0], rec))
		if err != nil {
			return err
		}
		if sw == SWRecordNotFound {
			return nil
		}
		if sw != SWOK {
			return &StatusError{Command: "READ RECORD (directory)", SW: sw}
		}
		objs, err := ParseTLV(data)
		if err != nil || len(objs) != 1 || objs[0].Tag != TagRecordTemplate {
			return fmt.Errorf("%w: directory record %d is not a 70 template", ErrCard, rec)
		}
		entries, err := objs[0].Children()
		if err != nil {
			return fmt.Errorf("%w: directory record %d: %v", ErrCard, rec, err)
		}
		for _, e := range entries {
			if e.Tag != TagApplicationTemplate {
				continue
			}
			if ddf, ok := Find(e.Value, TagDDFName); ok && depth < 1 {
				sub, sw, err := s.exchange(ctx, "SELECT DDF", SelectCommand(ddf, false))
				if err != nil {
					return err
				}
				if sw == SWOK {
					if err := s.readDirectory(ctx, sub, depth+1, list); err != nil && !errors.Is(err, ErrCard) {
						return err
					}
				}
				continue
			}
			if c, ok := candidateFromEntry(e.Value, s.cfg.AIDs, s.iface); ok {
				*list = addCandidate(*list, c)
			}
		}
	}
	return nil
}

// maxOccurrences bounds SELECT next-occurrence loops.
const maxOccurrences = 16

// listCandidates selects each terminal AID in turn (EMV Book 1, 12.3.3).
func (s *Session) listCandidates(ctx context.Context) ([]Candidate, error) {
	var list []Candidate
	first := true
	for _, a := range s.cfg.AIDs {
		if !a.Contact {
			continue
		}
		next := false
		for range maxOccurrences {
			fci, sw, err := s.exchange(ctx, "SELECT AID", SelectCommand(a.AID, next))
			if err != nil {
				return nil, err
			}
			if first && sw == SWFunctionNotSupported {
				return nil, ErrCardBlocked
			}
			first = false
			if sw != SWOK && sw != SWWarningBlocked {
				break
			}
			name, ok := Find(fci, TagDFName)
			if !ok {
				break
			}
			exact := bytes.Equal(name, a.AID)
			partial := len(name) > len(a.AID) && bytes.HasPrefix(name, a.AID)
			if (exact || (partial && a.PartialMatch)) && sw == SWOK {
				c := Candidate{AID: bytes.Clone(name), Scheme: a.Scheme, config: a}
				if v, ok := Find(fci, TagApplicationLabel); ok {
					c.Label = printable(v)
				}
				if v, ok := Find(fci, TagPreferredName); ok {
					table, _ := Find(fci, TagIssuerCodeTable)
					c.PreferredName = s.preferredName(v, table)
				}
				if v, ok := Find(fci, TagPriority); ok && len(v) == 1 {
					c.Priority = v[0]
				}
				list = addCandidate(list, c)
			}
			if exact && !a.PartialMatch {
				break
			}
			next = true
		}
	}
	return list, nil
}

// ppseCandidates reads the Proximity Payment System Environment (EMV
// Book B): the directory is in the FCI itself.
func (s *Session) ppseCandidates(ctx context.Context) ([]Candidate, error) {
	fci, sw, err := s.exchange(ctx, "SELECT PPSE", SelectCommand([]byte(ppseName), false))
	if err != nil {
		return nil, err
	}
	if sw != SWOK {
		return nil, fmt.Errorf("%w: %w", ErrInsertCard, &StatusError{Command: "SELECT PPSE", SW: sw})
	}
	dir, ok := Find(fci, TagFCIIssuerDiscretionary)
	if !ok {
		return nil, fmt.Errorf("%w: %w: PPSE without directory", ErrInsertCard, ErrCard)
	}
	entries, err := ParseTLV(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: PPSE directory: %v", ErrInsertCard, ErrCard, err)
	}
	var list []Candidate
	for _, e := range entries {
		if e.Tag != TagApplicationTemplate {
			continue
		}
		if c, ok := candidateFromEntry(e.Value, s.cfg.AIDs, Contactless); ok {
			kid, _ := Find(e.Value, TagKernelID)
			c.Kernel = kernelFor(c.AID, kid)
			list = addCandidate(list, c)
		}
	}
	s.namePreferred(list, fci)
	sortCandidates(list)
	return list, nil
}

// choose picks the application to try from the candidate list.
func (s *Session) choose(ctx context.Context, list []Candidate) (int, error) {
	if chooser, ok := s.pins.(ApplicationChooser); ok && s.iface == Contact &&
		(len(list) > 1 || list[0].NeedsConfirmation()) {
		i, err := chooser.ChooseApplication(ctx, slices.Clone(list))
		if err != nil {
			return 0, err
		}
		if i < 0 || i >= len(list) {
			return 0, fmt.Errorf("emv: application chooser returned %d of %d", i, len(list))
		}
		return i, nil
	}
	for i, c := range list {
		if !c.NeedsConfirmation() || s.iface == Contactless {
			return i, nil
		}
	}
	return 0, ErrNoApplication
}

// finalSelect selects the chosen application and returns its FCI. The
// candidate is taken off the list when the card refuses it.
func (s *Session) finalSelect(ctx context.Context, list *[]Candidate) (Candidate, []byte, error) {
	for len(*list) > 0 {
		i, err := s.choose(ctx, *list)
		if err != nil {
			return Candidate{}, nil, err
		}
		c := (*list)[i]
		*list = slices.Delete(*list, i, i+1)
		fci, sw, err := s.exchange(ctx, "SELECT application", SelectCommand(c.AID, false))
		if err != nil {
			return Candidate{}, nil, err
		}
		if sw != SWOK {
			continue
		}
		if name, ok := Find(fci, TagDFName); !ok || !bytes.Equal(name, c.AID) {
			continue
		}
		if v, ok := Find(fci, TagApplicationLabel); ok && c.Label == "" {
			c.Label = printable(v)
		}
		if v, ok := Find(fci, TagPreferredName); ok {
			table, _ := Find(fci, TagIssuerCodeTable)
			c.PreferredName = s.preferredName(v, table)
		}
		return c, fci, nil
	}
	return Candidate{}, nil, ErrNoApplication
}

// namePreferred decodes the preferred names of directory entries with
// the issuer code table of the directory's FCI.
func (s *Session) namePreferred(list []Candidate, dirFCI []byte) {
	table, _ := Find(dirFCI, TagIssuerCodeTable)
	for i := range list {
		list[i].PreferredName = s.preferredName(list[i].preferredRaw, table)
	}
}
