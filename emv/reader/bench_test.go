package reader_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/vinr/cashlessd/emv/reader"
	"github.com/vinr/cashlessd/emv/reader/virtual"
)

// sizedCard answers every command with as many data bytes as its last
// byte (Le) asks for, and 9000.
type sizedCard struct{}

func (sizedCard) ATR() []byte { return []byte{0x3B, 0x00} }

func (sizedCard) Transmit(_ context.Context, apdu []byte) ([]byte, error) {
	resp := make([]byte, int(apdu[len(apdu)-1])+2)
	for i := range resp {
		resp[i] = byte(i * 7)
	}
	resp[len(resp)-2], resp[len(resp)-1] = 0x90, 0x00
	return resp, nil
}

// apduOf is a command APDU of n bytes asking for le response data bytes.
func apduOf(rng *rand.Rand, n int, le byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	b[0], b[1] = 0x00, 0xB2
	b[n-1] = le
	return b
}

// A contact EMV transaction with the sizes such exchanges typically have:
// SELECT PSE, READ RECORD of the directory, SELECT AID, GET PROCESSING
// OPTIONS, four READ RECORDs, two GET DATAs, two GENERATE ACs.
func contactTransaction(rng *rand.Rand) [][]byte {
	return [][]byte{
		apduOf(rng, 20, 30), // SELECT 1PAY.SYS.DDF01 -> FCI
		apduOf(rng, 5, 45),  // READ RECORD: directory entry
		apduOf(rng, 13, 60), // SELECT AID -> FCI with PDOL, label
		apduOf(rng, 19, 20), // GET PROCESSING OPTIONS -> AIP, AFL
		apduOf(rng, 5, 180), // READ RECORD: track 2 equivalent, PAN, CDOLs
		apduOf(rng, 5, 150), // READ RECORD: issuer certificate parts
		apduOf(rng, 5, 100), // READ RECORD
		apduOf(rng, 5, 60),  // READ RECORD
		apduOf(rng, 5, 5),   // GET DATA ATC
		apduOf(rng, 5, 4),   // GET DATA PIN try counter
		apduOf(rng, 72, 40), // GENERATE AC 1 (CDOL1 of 66 bytes) -> ARQC
		apduOf(rng, 37, 40), // GENERATE AC 2 (CDOL2 of 31 bytes) -> TC
	}
}

// BenchmarkAPDU exchanges APDUs with a virtual reader over a real
// pseudo-terminal and reports the bytes on the wire (both ways, framing
// included) per APDU payload byte (command plus response APDU) and the
// round trips per APDU.
func BenchmarkAPDU(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name   string
		script [][]byte
	}{
		{"read-record-180", [][]byte{apduOf(rng, 5, 180)}},
		{"select-aid", [][]byte{apduOf(rng, 13, 60)}},
		{"generate-ac", [][]byte{apduOf(rng, 72, 40)}},
		{"get-data", [][]byte{apduOf(rng, 5, 5)}},
		{"contact-transaction", contactTransaction(rng)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			vr, err := virtual.Start(b.Context(), virtual.Config{Path: filepath.Join(b.TempDir(), "reader")})
			if err != nil {
				b.Fatal(err)
			}
			defer vr.Close()
			r, err := reader.Open(b.Context(), reader.Config{Device: vr.Path()})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			vr.Insert(sizedCard{})
			if _, err := r.PowerOn(b.Context(), reader.Contact); err != nil {
				b.Fatal(err)
			}
			vr.ResetStats()
			b.ResetTimer()
			for b.Loop() {
				for _, apdu := range c.script {
					if _, err := r.Transmit(b.Context(), apdu); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			s := vr.Stats()
			b.ReportMetric(float64(s.BytesIn+s.BytesOut)/float64(s.APDUPayloadBytes), "wire-bytes/payload-byte")
			b.ReportMetric(float64(s.APDUFrames)/float64(s.APDUs), "round-trips/APDU")
			b.ReportMetric(float64(s.APDUPayloadBytes)/float64(s.APDUs), "payload-bytes/APDU")
		})
	}
}
