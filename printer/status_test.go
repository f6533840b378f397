package printer

import (
	"errors"
	"testing"

	"github.com/vinr/cashlessd/daemon"
)

// TestConditionReplies checks the replies against the bytes an Epson
// printer sends (ESC/POS DLE EOT, replies of the form 0xx1xx10).
func TestConditionReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		c          Condition
		r1, r2, r4 byte
	}{
		{"ready", Condition{}, 0x12, 0x12, 0x12},
		{"offline", Condition{Offline: true}, 0x1a, 0x12, 0x12},
		{"cover open", Condition{CoverOpen: true}, 0x1a, 0x16, 0x12},
		{"paper out", Condition{PaperOut: true}, 0x1a, 0x32, 0x7e},
		{"near end", Condition{PaperNearEnd: true}, 0x12, 0x12, 0x1e},
	}
	for _, tt := range tests {
		for n, want := range map[byte]byte{1: tt.r1, 2: tt.r2, 4: tt.r4} {
			got, ok := tt.c.Reply(n)
			if !ok || got != want {
				t.Errorf("%s DLE EOT %d: %#x, want %#x", tt.name, n, got, want)
			}
			if !IsStatusReply(got) {
				t.Errorf("%s DLE EOT %d: %#x is not a status reply", tt.name, n, got)
			}
		}
	}
	if _, ok := (Condition{}).Reply(9); ok {
		t.Error("reply to DLE EOT 9")
	}
	if IsStatusReply(xon) || IsStatusReply(xoff) {
		t.Error("XON/XOFF taken for status replies")
	}
}

func TestConditionRoundTrip(t *testing.T) {
	t.Parallel()
	for i := range 16 {
		c := Condition{Offline: i&1 != 0, CoverOpen: i&2 != 0, PaperOut: i&4 != 0, PaperNearEnd: i&8 != 0}
		r1, _ := c.Reply(1)
		r2, _ := c.Reply(2)
		r4, _ := c.Reply(4)
		got := ParseCondition(r1, r2, r4)
		if got.CoverOpen != c.CoverOpen || got.PaperOut != c.PaperOut ||
			got.Offline != (c.Offline || c.CoverOpen || c.PaperOut) ||
			got.PaperNearEnd != (c.PaperNearEnd || c.PaperOut) {
			t.Errorf("%+v read back as %+v", c, got)
		}
	}
}

func TestConditionStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c     Condition
		state daemon.PrinterState
		print bool
	}{
		{Condition{}, daemon.PrinterReady, true},
		{Condition{PaperNearEnd: true}, daemon.PrinterPaperLow, true},
		{Condition{Offline: true}, daemon.PrinterOffline, false},
		{Condition{Offline: true, PaperOut: true, PaperNearEnd: true}, daemon.PrinterPaperOut, false},
		{Condition{Offline: true, CoverOpen: true, PaperOut: true}, daemon.PrinterCoverOpen, false},
	}
	for _, tt := range tests {
		if got := tt.c.Status().State; got != tt.state {
			t.Errorf("%+v: %s, want %s", tt.c, got, tt.state)
		}
		if tt.c.CanPrint() != tt.print {
			t.Errorf("%+v: CanPrint %v", tt.c, !tt.print)
		}
	}
}

func TestStateError(t *testing.T) {
	t.Parallel()
	err := error(&StateError{State: daemon.PrinterPaperOut})
	if err.Error() != "printer out of paper" || !errors.Is(err, ErrPaperOut) || errors.Is(err, ErrCoverOpen) {
		t.Errorf("paper out: %v", err)
	}
	cause := errors.New("open /dev/x: no such file or directory")
	err = unavailable("", cause)
	if err.Error() != "printer unavailable: open /dev/x: no such file or directory" ||
		!errors.Is(err, ErrUnavailable) || !errors.Is(err, cause) {
		t.Errorf("unavailable: %v", err)
	}
	var se *StateError
	if !errors.As(err, &se) || se.Status().State != daemon.PrinterUnavailable {
		t.Errorf("As: %v", err)
	}
}
