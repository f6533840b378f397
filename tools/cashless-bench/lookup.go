package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vinr/cashlessd/daemon/store"
)

// attemptLookups times the store read behind a lookup by reference
// (every attempt under a random stored reference, from the reference
// index), in ns per lookup, with the page cache warmed by a first pass.
func attemptLookups(dir string, refs []string, n int) (float64, error) {
	db, err := store.Open(dir, time.Second)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	pass := func() (float64, error) {
		rng := rand.New(rand.NewPCG(3, 4))
		start := time.Now()
		for i := 0; i < n; i++ {
			list, err := db.ReferenceAttempts(refs[rng.IntN(len(refs))])
			if err != nil {
				return 0, err
			}
			if len(list) != 1 {
				return 0, fmt.Errorf("a stored reference has %d attempts", len(list))
			}
		}
		return float64(time.Since(start).Nanoseconds()) / float64(n), nil
	}
	if _, err := pass(); err != nil {
		return 0, err
	}
	return pass()
}

// benchLookup adds the lookup-by-reference figures: absolute (warm) for
// the small and the large history, and their ratio.
func benchLookup(r *report, small, large string, smallRefs, largeRefs []string, smallN, largeN int) error {
	const n = 50_000
	s, err := attemptLookups(small, smallRefs, n)
	if err != nil {
		return err
	}
	l, err := attemptLookups(large, largeRefs, n)
	if err != nil {
		return err
	}
	r.figure(fmt.Sprintf("lookup by reference (store read), %d stored, warm", smallN), fmt.Sprintf("%.1f µs", s/1000), "-", true)
	r.figure(fmt.Sprintf("lookup by reference (store read), %d stored, warm", largeN), fmt.Sprintf("%.1f µs", l/1000), "-", true)
	r.compare(fmt.Sprintf("lookup by reference, %d vs %d stored", largeN, smallN), "ns", l, s, "ratio ≤ 1.5", l/s <= 1.5)
	return nil
}
