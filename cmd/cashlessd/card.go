package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
)

// cardImport turns a recording of a real card (an emv-tools .emu dump or
// a plain APDU trace) into a card image for the simulator. The image holds
// the card's data as recorded, full card number included, like the
// built-in images: it is written 0600 and nothing of it is printed.
func (m *Main) cardImport(args []string) error {
	fs := flag.NewFlagSet("card import", flag.ContinueOnError)
	in := fs.String("in", "", "the recording: an emv-tools .emu dump or an APDU trace")
	format := fs.String("format", "", "emu or trace (default: from the file name, .emu or else trace)")
	out := fs.String("out", "", "the card image to write (default: standard output)")
	name := fs.String("name", "", "the image's name (default: the recording's file name)")
	iface := fs.String("interface", "", "contact or contactless (default: contactless when the recording selects the PPSE)")
	atr := fs.String("atr", "", "the answer to reset, hex")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *in == "" {
		return usageError{"card import: --in FILE is required\nusage: cashlessd " + synopsis("card import")}
	}
	opt := card.ImportOptions{Name: *name}
	if opt.Name == "" {
		opt.Name = strings.TrimSuffix(filepath.Base(*in), filepath.Ext(*in))
	}
	switch *iface {
	case "":
	case "contact", "chip":
		opt.Interface = emv.Contact
	case "contactless":
		opt.Interface = emv.Contactless
	default:
		return usageError{fmt.Sprintf("card import: --interface %q: want contact or contactless", *iface)}
	}
	if *atr != "" {
		var h emv.Hex
		if err := h.UnmarshalText([]byte(*atr)); err != nil {
			return usageError{"card import: --atr: " + err.Error()}
		}
		opt.ATR = h
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	var img *card.Image
	switch kind := *format; {
	case kind == "emu" || (kind == "" && strings.EqualFold(filepath.Ext(*in), ".emu")):
		img, err = card.ImportEmu(f, opt)
	case kind == "trace" || kind == "":
		img, err = card.ImportTrace(f, opt)
	default:
		return usageError{fmt.Sprintf("card import: --format %q: want emu or trace", kind)}
	}
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(img, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if *out == "" {
		_, err = m.Stdout.Write(b)
		return err
	}
	if err := os.WriteFile(*out, b, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "card import: wrote %s (%s)\n", *out, img.Name)
	return nil
}
