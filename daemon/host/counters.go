package host

import (
	"fmt"
	"sync"

	"github.com/vinr/cashlessd/daemon"
)

// Counters hands out numbers that survive a restart. The daemon backs it
// with its bbolt store; a counter never handed out is zero.
type Counters interface {
	// Next advances the named counter by one and returns the new value.
	Next(name string) (uint32, error)
	// Current returns the named counter's value without advancing it.
	Current(name string) (uint32, error)
}

// Counter names the client uses.
const (
	// CounterSTAN numbers every message the terminal originates (field 11).
	CounterSTAN = "host.stan"
	// CounterBatch counts batches handed to settlement; the open batch
	// (field 60) is its value plus one. A settlement of a batch whose
	// daemon.Batch.HostBatch is set goes under that number and leaves the
	// counter alone (the daemon's store advanced it when the batch began
	// settling); without one, the client advances it when the host
	// accepts the settlement.
	CounterBatch = daemon.CounterBatch
)

// CounterWrap is the largest value of the client's counters: STANs and
// batch numbers have six digits.
const CounterWrap = 999999

// STANBlock is how many STANs a persisted counter reserves per commit: one
// commit per hundred messages rather than per message.
const STANBlock = 100

// CounterBlocks are the block sizes of the counters that reserve numbers
// in blocks (a persisted Counters implementation's set-up): the STAN.
func CounterBlocks() map[string]uint32 { return map[string]uint32{CounterSTAN: STANBlock} }

// sixDigits folds a counter value into 000001…999999, as STANs and batch
// numbers wrap.
func sixDigits(n uint32) string {
	return fmt.Sprintf("%06d", (uint64(n)+999998)%999999+1)
}

// MemoryCounters are counters kept only in memory, from given starting
// values: for a one-off exchange, such as a technician's echo, beside a
// daemon whose persisted counters must not be written.
type MemoryCounters struct {
	mu sync.Mutex
	n  map[string]uint32
}

// NewMemoryCounters starts the named counters at the given values; the
// first Next returns the value plus one.
func NewMemoryCounters(start map[string]uint32) *MemoryCounters {
	n := make(map[string]uint32, len(start))
	for k, v := range start {
		n[k] = v
	}
	return &MemoryCounters{n: n}
}

// Next advances the named counter by one and returns the new value.
func (c *MemoryCounters) Next(name string) (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[name]++
	return c.n[name], nil
}

// Current returns the named counter's value.
func (c *MemoryCounters) Current(name string) (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name], nil
}
