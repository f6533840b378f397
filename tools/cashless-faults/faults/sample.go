package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// writeSyscalls are the system calls bbolt commits with: pwrite64 for the
// pages and fdatasync to make them durable (os.File.WriteAt and
// File.Sync's datasync on Linux).
var writeSyscalls = map[string]map[int]string{
	"amd64": {18: "pwrite64", 75: "fdatasync", 74: "fsync"},
	"arm64": {68: "pwrite64", 83: "fdatasync", 82: "fsync"},
}

// SyscallSample says which of a process's threads were inside a write
// system call when it was sampled.
type SyscallSample struct {
	Writing string // "" or the system call's name
	Threads int
}

// sampleSyscalls reads /proc/PID/task/*/syscall (the harness is the
// daemon's parent, so it may). On other systems it reports nothing.
func sampleSyscalls(pid int) SyscallSample {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
	return sampleTasks(tasks)
}

// sampleTasks reads the syscall files given; a thread that is running
// (not blocked in a system call) cannot be read and is skipped.
func sampleTasks(tasks []string) SyscallSample {
	var s SyscallSample
	table := writeSyscalls[runtime.GOARCH]
	if runtime.GOOS != "linux" || table == nil {
		return s
	}
	for _, f := range tasks {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s.Threads++
		fields := strings.Fields(string(raw))
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.Atoi(fields[0])
		if err != nil {
			continue
		}
		if name, ok := table[n]; ok && s.Writing == "" {
			s.Writing = name
		}
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
