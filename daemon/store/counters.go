package store

import "sync"

// Counters hands out numbers from persisted counters. A counter with a
// block size reserves that many numbers per commit, so a busy counter (the
// ISO 8583 STAN) costs one commit per block rather than per message; after
// a restart numbering continues after the last reserved block, skipping at
// most one block.
type Counters struct {
	db     *DB
	max    uint32
	blocks map[string]uint32

	mu   sync.Mutex
	next map[string]uint32 // next number to hand out
	end  map[string]uint32 // last number of the reserved block
}

// NewCounters makes counters over db that wrap after max; blocks names the
// counters that reserve numbers in blocks, and the block sizes.
func NewCounters(db *DB, max uint32, blocks map[string]uint32) *Counters {
	return &Counters{db: db, max: max, blocks: blocks, next: map[string]uint32{}, end: map[string]uint32{}}
}

// Next returns the counter's next number.
func (c *Counters) Next(name string) (uint32, error) {
	block := c.blocks[name]
	if block <= 1 {
		return c.db.Next(name, c.max)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n, end := c.next[name], c.end[name]
	if n == 0 || n > end {
		last, err := c.db.Advance(name, block, c.max)
		if err != nil {
			return 0, err
		}
		n, end = last-block+1, last
	}
	c.next[name], c.end[name] = n+1, end
	return n, nil
}

// Current returns the counter's last persisted value.
func (c *Counters) Current(name string) (uint32, error) { return c.db.Counter(name) }
