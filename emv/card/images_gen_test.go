package card

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update rewrites the built-in images from the specs below:
//
//	go test ./emv/card -run TestBuiltinImagesUpToDate -update
var update = flag.Bool("update", false, "rewrite images/*.json from the specs in images_gen_test.go")

// TestBuiltinImagesUpToDate checks that images/*.json are what the specs
// generate (and rewrites them with -update).
func TestBuiltinImagesUpToDate(t *testing.T) {
	t.Parallel()
	want := map[string]bool{}
	for _, s := range builtinSpecs() {
		img, err := Generate(s)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.MarshalIndent(img, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, '\n')
		path := filepath.Join("images", s.File+".json")
		want[s.File] = true
		if *update {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if !bytes.Equal(got, b) {
			t.Errorf("%s is out of date: go test ./emv/card -run TestBuiltinImagesUpToDate -update", path)
		}
	}
	for _, n := range BuiltinNames() {
		if !want[n] && !*update {
			t.Errorf("images/%s.json has no spec", n)
		}
	}
}
