// Package configs holds the example configuration files; its test keeps
// them loadable.
package configs

import (
	"testing"

	"github.com/vinr/cashlessd/daemon/config"
)

func TestExamplesLoadAndValidate(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"cashlessd.toml", "simulator.toml"} {
		c, err := config.Load(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
}
