package api

import (
	"context"
	"github.com/vinr/cashlessd/daemon/api/wire"
	"testing"

	"github.com/vinr/cashlessd/daemon"
)

func (f *fakeEngine) Void(_ context.Context, r daemon.VoidRequest) (*daemon.Result, error) {
	return f.transaction(r)
}

func (f *fakeEngine) BatchTotals(_ context.Context, print bool) (*daemon.XReport, error) {
	if err := f.got(print); err != nil {
		return nil, err
	}
	return &daemon.XReport{Batch: &daemon.Batch{Status: daemon.BatchOpen, Currency: "USD"}, At: at, PrintAsked: print}, nil
}

// A void request is checked like the other transaction calls: both
// references are required and printable.
func TestVoidRequestIsChecked(t *testing.T) {
	t.Parallel()
	ref := func(s string) *string { return &s }
	for _, c := range []struct {
		orig, ref *string
		ok        bool
	}{
		{ref("SALE-1"), ref("VOID-1"), true},
		{nil, ref("VOID-1"), false},
		{ref("SALE-1"), nil, false},
		{ref(""), ref("VOID-1"), false},
		{ref("SALE-1"), ref("VOID\n1"), false},
	} {
		req, reference, err := voidRequest(&wire.VoidRequest{OriginalReference: c.orig, Reference: c.ref})
		if (err == nil) != c.ok {
			t.Errorf("%v %v: err %v, want ok=%v", c.orig, c.ref, err, c.ok)
		}
		if c.ok && (req.OriginalReference != *c.orig || reference != *c.ref) {
			t.Errorf("request %+v, reference %q", req, reference)
		}
	}
}
