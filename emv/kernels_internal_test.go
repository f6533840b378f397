package emv

import "testing"

func TestKernelFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		aid, kernelID string
		want          KernelID
	}{
		{"A0000000041010", "", KernelMastercard},
		{"A0000000043060", "", KernelMastercard},
		{"A0000000031010", "", KernelVisa},
		{"A0000000032010", "", KernelVisa},
		{"A00000002501", "", KernelAmex},
		{"A0000000651010", "", KernelGeneric},
		{"A000000333010101", "", KernelGeneric},
		{"A0000000041010", "02", KernelMastercard},
		{"A0000000031010", "03", KernelVisa},
		{"A0000000031010", "02", KernelMastercard}, // the entry's kernel ID wins
		{"A0000000041010", "07", KernelGeneric},    // UnionPay's kernel: generic here
		{"A0000000041010", "C2", KernelMastercard}, // extended form: short ID in the low six bits
		{"A0000000041010", "00", KernelMastercard}, // no ID: by the AID
	} {
		if got := kernelFor(MustHex(tc.aid), MustHex(tc.kernelID)); got != tc.want {
			t.Errorf("%s kernel ID %q: %s, want %s", tc.aid, tc.kernelID, got, tc.want)
		}
	}
}
