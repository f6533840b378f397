package emv_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
)

// replay answers commands with recorded responses, whatever is asked.
type replay struct{ responses [][]byte }

func (r *replay) Transmit(_ context.Context, _ []byte) ([]byte, error) {
	if len(r.responses) == 0 {
		return nil, errors.New("card removed")
	}
	resp := r.responses[0]
	r.responses = r.responses[1:]
	return resp, nil
}

// recorder keeps the responses of a real session as a fuzz seed: each
// response as one length byte and the bytes.
type recorder struct {
	t    emv.Transport
	seed []byte
}

func (r *recorder) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	resp, err := r.t.Transmit(ctx, apdu)
	if err == nil && len(resp) < 256 {
		r.seed = append(append(r.seed, byte(len(resp))), resp...)
	}
	return resp, err
}

func splitResponses(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n := int(b[0])
		b = b[1:]
		n = min(n, len(b))
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// FuzzKernel feeds the kernel card responses it did not expect: it must
// return an error or an outcome, never panic or loop.
func FuzzKernel(f *testing.F) {
	for _, seed := range []struct {
		name  string
		iface emv.Interface
	}{{"visa-approved", emv.Contact}, {"mastercard", emv.Contact}, {"visa-approved", emv.Contactless}, {"mastercard", emv.Contactless}} {
		img, err := card.Builtin(seed.name)
		if err != nil {
			f.Fatal(err)
		}
		c, _ := card.New(img, seed.iface)
		rec := &recorder{t: c}
		k := newKernel(f)
		s := k.Contact(rec, &pinPad{card: c}, sale(1500))
		if seed.iface == emv.Contactless {
			s = k.Contactless(rec, &pinPad{card: c}, sale(1500))
		}
		out, err := s.Read(context.Background())
		if err != nil {
			f.Fatal(err)
		}
		if _, err := s.Complete(context.Background(), approve(img, out)); err != nil {
			f.Fatal(err)
		}
		f.Add(rec.seed, seed.iface == emv.Contactless)
	}
	f.Fuzz(func(t *testing.T, data []byte, contactless bool) {
		tr := &replay{responses: splitResponses(data)}
		k := newKernel(t)
		pins := &pinPad{card: tr, offline: []string{"1234"}}
		s := k.Contact(tr, pins, sale(7500))
		if contactless {
			s = k.Contactless(tr, pins, sale(7500))
		}
		out, err := s.Read(context.Background())
		if err != nil {
			return
		}
		_ = out.String()
		issuer := emv.AppendTLV(nil, emv.TagIssuerAuthData, emv.MustHex("01020304050607083030"))
		issuer = append(issuer, emv.AppendTLV(nil, emv.TagIssuerScript1, emv.AppendTLV(nil, emv.TagIssuerScriptCommand, emv.MustHex("841E000000")))...)
		s.Complete(context.Background(), emv.HostResponse{Approved: true, ResponseCode: "00", IssuerData: issuer})
	})
}
