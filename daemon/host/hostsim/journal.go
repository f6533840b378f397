package hostsim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
)

// The ledger file is append-only: one JSON object per line, each line
// written and synced once, so a booking costs the same however long the
// history. A line is either a whole ledger (what earlier versions wrote
// as the only content of the file, and what a file may start with) or a
// change: the sequence after it, the approvals it added or changed (by
// position), the reversals and settlements it added, or the approval it
// forgot. Reading replays the lines in order. A last line without its
// newline was cut short by a crash before its sync: the booking it
// describes was never answered, so it is ignored (and cut off before the
// next append).

// change is one line of the ledger file. Its keys differ from Ledger's,
// so a line that is a whole ledger is told apart by its keys.
type change struct {
	// Sequence is the ledger's sequence after the change.
	Sequence uint64 `json:"seq"`
	// Set lists approvals by position: a position inside the ledger
	// replaces that approval, the position just past its end appends.
	Set         []setApproval `json:"set,omitempty"`
	Reversals   []Reversal    `json:"rev,omitempty"`
	Settlements []Settlement  `json:"stl,omitempty"`
	// Forget removes the approval at this position (ForgetApproval).
	Forget *int `json:"forget,omitempty"`
}

// setApproval is one approval of a change, at its position.
type setApproval struct {
	At       int      `json:"at"`
	Approval Approval `json:"approval"`
}

// line is what a line of the file may hold: a whole ledger or a change.
type line struct {
	Ledger
	change
}

// apply replays c onto l.
func (l *Ledger) apply(c *change) error {
	for _, s := range c.Set {
		switch {
		case s.At >= 0 && s.At < len(l.Approvals):
			l.Approvals[s.At] = s.Approval
		case s.At == len(l.Approvals):
			l.Approvals = append(l.Approvals, s.Approval)
		default:
			return fmt.Errorf("approval at %d of %d", s.At, len(l.Approvals))
		}
	}
	if c.Forget != nil {
		i := *c.Forget
		if i < 0 || i >= len(l.Approvals) {
			return fmt.Errorf("forgotten approval at %d of %d", i, len(l.Approvals))
		}
		l.Approvals = slices.Delete(l.Approvals, i, i+1)
	}
	l.Reversals = append(l.Reversals, c.Reversals...)
	l.Settlements = append(l.Settlements, c.Settlements...)
	l.Sequence = c.Sequence
	return nil
}

// ReadLedger reads a ledger file written by a Server.
func ReadLedger(path string) (Ledger, error) {
	l, _, err := readLedgerFile(path)
	return l, err
}

// readLedgerFile replays the file at path and returns the ledger and the
// length of its intact part (the lines that end in a newline).
func readLedgerFile(path string) (Ledger, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return Ledger{}, 0, err
	}
	defer f.Close()
	var (
		l    Ledger
		good int64
		n    int
	)
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		raw, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break // a last line without its newline was never synced whole
		}
		if err != nil {
			return Ledger{}, 0, err
		}
		n++
		good += int64(len(raw))
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		if err := readLine(&l, raw); err != nil {
			return Ledger{}, 0, fmt.Errorf("hostsim: reading ledger %s, line %d: %w", path, n, err)
		}
	}
	return l, good, nil
}

// readLine applies one line of the file to l.
func readLine(l *Ledger, raw []byte) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return err
	}
	var x line
	if err := json.Unmarshal(raw, &x); err != nil {
		return err
	}
	if _, whole := keys["sequence"]; whole {
		*l = x.Ledger
		return nil
	}
	return l.apply(&x.change)
}

// loadLedger reads the ledger at path; a missing file is an empty
// ledger. A last line cut short by a crash is cut off the file.
func loadLedger(path string) (Ledger, error) {
	if path == "" {
		return Ledger{}, nil
	}
	l, good, err := readLedgerFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Ledger{}, nil
	}
	if err != nil {
		return Ledger{}, err
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > good {
		if err := os.Truncate(path, good); err != nil {
			return Ledger{}, err
		}
	}
	return l, nil
}

// appendChange appends c to the file at path as one line and syncs it
// once (the directory too when the file is new). On error the file is cut
// back to where it was, so a later append starts on a line of its own.
func appendChange(path string, c *change) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		_ = f.Truncate(fi.Size())
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if fi.Size() == 0 {
		if d, err := os.Open(dir); err == nil {
			_ = d.Sync()
			_ = d.Close()
		}
	}
	return nil
}

// journal records what one booking changes in the ledger: the lengths
// and sequence before it and the approvals it may have changed, with
// their values before. It turns the booking into one line of the file,
// or undoes it when that line cannot be written.
type journal struct {
	approvals, reversals, settlements int
	sequence                          uint64
	before                            map[int]Approval
}

// begin starts recording a booking. The caller holds bookMu.
func (s *Server) begin() {
	s.journal = &journal{
		approvals: len(s.ledger.Approvals), reversals: len(s.ledger.Reversals),
		settlements: len(s.ledger.Settlements), sequence: s.ledger.Sequence,
		before: map[int]Approval{},
	}
}

// touch notes that the booking may change the approval at i: find and
// every other way a step reaches an approval already booked call it
// before handing the approval out.
func (s *Server) touch(i int) {
	j := s.journal
	if j == nil || i >= j.approvals {
		return
	}
	if _, ok := j.before[i]; !ok {
		j.before[i] = cloneApproval(s.ledger.Approvals[i])
	}
}

// commit writes what the booking changed as one line and ends the
// recording; when the line cannot be written the ledger is put back as
// it was before the booking.
func (s *Server) commit(path string) error {
	j := s.journal
	s.journal = nil
	c := change{Sequence: s.ledger.Sequence,
		Reversals:   s.ledger.Reversals[j.reversals:],
		Settlements: s.ledger.Settlements[j.settlements:]}
	touched := make([]int, 0, len(j.before))
	for i := range j.before {
		touched = append(touched, i)
	}
	slices.Sort(touched)
	for _, i := range touched {
		if !reflect.DeepEqual(j.before[i], s.ledger.Approvals[i]) {
			c.Set = append(c.Set, setApproval{At: i, Approval: s.ledger.Approvals[i]})
		}
	}
	for i := j.approvals; i < len(s.ledger.Approvals); i++ {
		c.Set = append(c.Set, setApproval{At: i, Approval: s.ledger.Approvals[i]})
	}
	err := appendChange(path, &c)
	if err != nil {
		for i, a := range j.before {
			s.ledger.Approvals[i] = a
		}
		s.ledger.Approvals = s.ledger.Approvals[:j.approvals]
		s.ledger.Reversals = s.ledger.Reversals[:j.reversals]
		s.ledger.Settlements = s.ledger.Settlements[:j.settlements]
		s.ledger.Sequence = j.sequence
	}
	return err
}

// abandon ends the recording of a booking that changed nothing.
func (s *Server) abandon() { s.journal = nil }
