package emv_test

import (
	"context"
	"testing"

	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
)

// sale runs one sale from card insertion to the card's final answer and
// returns what crossed the card interface.
func runSale(b *testing.B, k *emv.Kernel, img *card.Image, iface emv.Interface, amount int64) (apdus, bytes int) {
	c, err := card.New(img, iface)
	if err != nil {
		b.Fatal(err)
	}
	tr := &counter{t: c}
	var s *emv.Session
	if iface == emv.Contact {
		s = k.Contact(tr, &pinPad{card: c}, sale(amount))
	} else {
		s = k.Contactless(tr, &pinPad{card: c}, sale(amount))
	}
	out, err := s.Read(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	final, err := s.Complete(context.Background(), approve(img, out))
	if err != nil || !final.Approved() {
		b.Fatal(final.Decision, err)
	}
	return tr.apdus, tr.bytes
}

// BenchmarkContactSale is one chip sale on the T=0 Visa card: PSE,
// directory, SELECT, GPO, three records, velocity GET DATA, first GENERATE
// AC, EXTERNAL AUTHENTICATE, second GENERATE AC, each answer fetched with
// GET RESPONSE or resent after 6Cxx as T=0 needs.
func BenchmarkContactSale(b *testing.B) { benchSale(b, "visa-approved", emv.Contact) }

// BenchmarkContactSaleT1 is the same on the Mastercard, which answers
// directly (no 61xx/6Cxx round trips) and takes issuer authentication in
// the second GENERATE AC.
func BenchmarkContactSaleT1(b *testing.B) { benchSale(b, "mastercard", emv.Contact) }

// BenchmarkContactlessSale is one qVSDC tap: PPSE, SELECT, GPO with the
// cryptogram, one record.
func BenchmarkContactlessSale(b *testing.B) { benchSale(b, "visa-approved", emv.Contactless) }

func benchSale(b *testing.B, name string, iface emv.Interface) {
	img, err := card.Builtin(name)
	if err != nil {
		b.Fatal(err)
	}
	k := newKernel(b)
	var apdus, n int
	for b.Loop() {
		apdus, n = runSale(b, k, img, iface, 1500)
	}
	b.ReportMetric(float64(apdus), "apdus/op")
	b.ReportMetric(float64(n), "cardbytes/op")
}
