package sim

import (
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

func TestTestAmountsAreReadOffTheDisplay(t *testing.T) {
	t.Parallel()
	for shown, want := range map[string]int{"USD 900.40": 40, "JPY 90017": 17, "USD 900.00": 0, "USD 900.99": 99} {
		if got, ok := testAmount(shown); !ok || got != want {
			t.Errorf("%q: %d %v, want %d", shown, got, ok, want)
		}
	}
	for _, shown := range []string{"USD 9.00", "USD 901.00", "USD 100.51", "USD 1,900.51", ""} {
		if _, ok := testAmount(shown); ok {
			t.Errorf("%q is not a test amount", shown)
		}
	}
}

func TestExplicitSettingsWinOverTheAmount(t *testing.T) {
	t.Parallel()
	w := New()
	c, cancel := w.snapshot().forAmount("USD 900.55")
	if cancel || c.pan != PINCardPAN || c.entry != daemon.EntryChip || c.pin != WrongPIN {
		t.Fatalf("wrong PIN amount: %+v", c)
	}
	if _, cancel := w.snapshot().forAmount("USD 900.17"); !cancel {
		t.Fatal("cancel amount does not cancel")
	}
	pin, after, present := "1234", time.Duration(0), true
	if err := w.SetCard(daemon.SimCard{PIN: &pin, PresentAfter: &after, Present: &present}); err != nil {
		t.Fatal(err)
	}
	if c, _ := w.snapshot().forAmount("USD 900.55"); c.pin != "1234" || c.pan != PINCardPAN {
		t.Fatalf("explicit PIN: %+v", c)
	}
	if c, _ := w.snapshot().forAmount("USD 900.30"); c.presentAfter != 0 {
		t.Fatalf("explicit presentAfter: %+v", c)
	}
	if _, cancel := w.snapshot().forAmount("USD 900.17"); cancel {
		t.Fatal("explicit present: still cancels")
	}
}
