package sim

import (
	"testing"

	"github.com/vinr/cashlessd/emv/card"
)

func TestImagesAreKept(t *testing.T) {
	t.Parallel()
	w := New()
	first, err := w.image(w.snapshot())
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.image(w.snapshot())
	if err != nil || again != first {
		t.Errorf("the image of the same card was looked up again (%p, %p, %v)", first, again, err)
	}
}

// BenchmarkCardImage compares looking the default card's image up at
// every prompt (as before) with the kept image.
func BenchmarkCardImage(b *testing.B) {
	w := New()
	c := w.snapshot()
	b.Run("looked up each time", func(b *testing.B) {
		for range b.N {
			if _, err := card.ForPAN(c.pan); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("kept", func(b *testing.B) {
		for range b.N {
			if _, err := w.image(c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
