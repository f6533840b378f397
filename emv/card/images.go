package card

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/vinr/cashlessd/pan"
)

// builtin holds the simulator's test cards (see images/README.md).
//
//go:embed images/*.json
var builtin embed.FS

// BuiltinNames lists the built-in card images by file name without
// ".json": "visa-approved", "mastercard", ...
func BuiltinNames() []string {
	entries, _ := fs.ReadDir(builtin, "images")
	var out []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// Builtin returns a built-in card image by name (see BuiltinNames).
func Builtin(name string) (*Image, error) {
	b, err := builtin.ReadFile(path.Join("images", name+".json"))
	if err != nil {
		return nil, fmt.Errorf("card: no built-in image %q", name)
	}
	return Parse(b)
}

// BuiltinByPAN returns the built-in card image with a card number.
func BuiltinByPAN(number string) (*Image, error) {
	for _, n := range BuiltinNames() {
		img, err := Builtin(n)
		if err != nil {
			return nil, err
		}
		if img.PAN() == number {
			return img, nil
		}
	}
	return nil, fmt.Errorf("card: no built-in image for %s", pan.Mask(number))
}
