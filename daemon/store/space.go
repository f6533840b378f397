package store

import (
	"fmt"
	"syscall"
)

// minFreeSpace is the free space the data directory's file system must
// have for new work to start. A pending record is small and often fits
// in pages the database file already has, so its commit can succeed on a
// full disk; the booking after the host's approval may then need more
// room and fail, and the approval be reversed. New work is refused
// before the card is waited for instead.
const minFreeSpace = 1 << 20

// roomForWork reports (syscall.ENOSPC) a data directory without
// minFreeSpace free.
func (s *DB) roomForWork() error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.dir, &st); err != nil {
		return nil // not knowing is no reason to refuse: the commit will tell
	}
	if free := uint64(st.Bavail) * uint64(st.Bsize); free < minFreeSpace {
		return fmt.Errorf("%w: %d bytes free in the data directory, new work needs %d", syscall.ENOSPC, free, minFreeSpace)
	}
	return nil
}
