package faults

import (
	"math/rand/v2"
	"testing"
)

// TestMutateNeverPanics runs the hostile-body generator over every
// endpoint many times.
func TestMutateNeverPanics(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		ep := endpoints[i%len(endpoints)]
		_ = mutate(rng, ep.body, "IN-1")
	}
}
