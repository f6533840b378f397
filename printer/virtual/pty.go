package virtual

import (
	"fmt"
	"os"

	"github.com/vinr/cashlessd/internal/rawpty"
)

// openPTY opens the printer's pseudo-terminal pair in raw mode.
func openPTY() (master, slave *os.File, err error) {
	m, s, err := rawpty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("virtual printer: %w", err)
	}
	return m, s, nil
}
