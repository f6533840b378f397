package printer

import (
	"bytes"
	"testing"
)

func TestCommandBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"ESC @", cmdInit(nil), []byte{0x1b, 0x40}},
		{"ESC t CP437", cmdCodePage(nil, CP437), []byte{0x1b, 0x74, 0}},
		{"ESC t WPC1252", cmdCodePage(nil, WPC1252), []byte{0x1b, 0x74, 16}},
		{"ESC t CP858", cmdCodePage(nil, CP858), []byte{0x1b, 0x74, 19}},
		{"ESC t default", cmdCodePage(nil, ""), []byte{0x1b, 0x74, 19}},
		{"ESC a left", cmdAlign(nil, 0), []byte{0x1b, 0x61, 0}},
		{"ESC a centre", cmdAlign(nil, 1), []byte{0x1b, 0x61, 1}},
		{"ESC a right", cmdAlign(nil, 2), []byte{0x1b, 0x61, 2}},
		{"ESC E on", cmdBold(nil, true), []byte{0x1b, 0x45, 1}},
		{"ESC E off", cmdBold(nil, false), []byte{0x1b, 0x45, 0}},
		{"GS ! double", cmdSize(nil, true), []byte{0x1d, 0x21, 0x11}},
		{"GS ! normal", cmdSize(nil, false), []byte{0x1d, 0x21, 0x00}},
		{"GS V partial", cmdCut(nil, false, 0), []byte{0x1d, 0x56, 66, 0}},
		{"GS V partial feed", cmdCut(nil, false, 24), []byte{0x1d, 0x56, 66, 24}},
		{"GS V full", cmdCut(nil, true, 3), []byte{0x1d, 0x56, 65, 3}},
		{"DLE EOT 1", StatusQuery(1), []byte{0x10, 0x04, 1}},
		{"DLE EOT 4", StatusQuery(4), []byte{0x10, 0x04, 4}},
		{"GS ( k QR", cmdQR(nil, []byte("AB"), 6, QRLevelM), []byte{
			0x1d, 0x28, 0x6b, 4, 0, 49, 65, 50, 0, // model 2
			0x1d, 0x28, 0x6b, 3, 0, 49, 67, 6, // module 6 dots
			0x1d, 0x28, 0x6b, 3, 0, 49, 69, 49, // level M
			0x1d, 0x28, 0x6b, 5, 0, 49, 80, 48, 'A', 'B', // store
			0x1d, 0x28, 0x6b, 3, 0, 49, 81, 48, // print
		}},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s: % x, want % x", tt.name, tt.got, tt.want)
		}
	}
}

func TestQRLevels(t *testing.T) {
	t.Parallel()
	for l, want := range map[QRLevel]byte{QRLevelL: 48, QRLevelM: 49, QRLevelQ: 50, QRLevelH: 51, 0: 49} {
		if got := l.gsParam(); got != want {
			t.Errorf("level %q: %d, want %d", l, got, want)
		}
	}
}

func TestQRStoreLength(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte{'x'}, 300) // pL pH = 303 = 0x012f
	got := cmdQR(nil, data, 4, QRLevelL)
	store := []byte{0x1d, 0x28, 0x6b, 0x2f, 0x01, 49, 80, 48}
	if !bytes.Contains(got, store) {
		t.Fatalf("no store header % x in % x", store, got[:40])
	}
}
