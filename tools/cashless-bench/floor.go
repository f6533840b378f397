package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vinr/cashlessd/internal/rawpty"
)

// saleShape is what one sale moved on the devices' wires, as measured at
// the simulated devices during the sales run: reader round trips (command
// frames the terminal sent) and their bytes each way, host messages and
// their bytes each way.
type saleShape struct {
	ReaderTrips float64 // reader round trips per sale
	ReaderOut   int     // bytes per round trip, terminal → reader
	ReaderIn    int     // bytes per round trip, reader → terminal
	HostTrips   float64 // host messages per sale
	HostOut     int     // bytes per host message
	HostIn      int     // bytes per host answer
	CommitValue int     // bytes each of the two commits writes
	Sales       int     // sales to run the floor for
}

// floorCost is the floor child's own CPU per sale, by part.
type floorCost struct {
	Commits, Reader, Host time.Duration
}

// total is the floor per sale.
func (f floorCost) total() time.Duration { return f.Commits + f.Reader + f.Host }

// measureSaleFloor runs the sale floor in a child process (this program,
// -sale-floor) against a pseudo-terminal peer and a TCP peer in this
// process, and returns the child's CPU per sale by part: two bbolt
// commits, the reader round trips and one host round trip of the sizes
// a sale moved.
func measureSaleFloor(ctx context.Context, dir string, shape saleShape) (floorCost, error) {
	master, slave, err := rawpty.Open()
	if err != nil {
		return floorCost{}, err
	}
	defer master.Close()
	defer slave.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return floorCost{}, err
	}
	defer ln.Close()
	go answerPeer(master, shape.ReaderOut, shape.ReaderIn)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go answerPeer(c, shape.HostOut, shape.HostIn)
		}
	}()
	args, _ := json.Marshal(struct {
		saleShape
		Reader, Host, Dir string
	}{shape, slave.Name(), ln.Addr().String(), dir})
	self, err := os.Executable()
	if err != nil {
		return floorCost{}, err
	}
	out, err := exec.CommandContext(ctx, self, "-sale-floor", string(args)).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return floorCost{}, fmt.Errorf("sale floor: %w: %s", err, exit.Stderr)
		}
		return floorCost{}, err
	}
	var c floorCost
	if err := json.Unmarshal(out, &c); err != nil {
		return floorCost{}, fmt.Errorf("sale floor answered %q: %w", out, err)
	}
	return c, nil
}

// answerPeer answers every in bytes read from rw with out bytes.
func answerPeer(rw io.ReadWriter, in, out int) {
	req, resp := make([]byte, in), make([]byte, out)
	for {
		if _, err := io.ReadFull(rw, req); err != nil {
			return
		}
		if _, err := rw.Write(resp); err != nil {
			return
		}
	}
}

// runSaleFloor is the child: it does what a sale cannot avoid, shape.Sales
// times, and prints its CPU per sale by part (getrusage, this process
// only).
func runSaleFloor(arg string, stdout io.Writer) error {
	var a struct {
		saleShape
		Reader, Host, Dir string
	}
	if err := json.Unmarshal([]byte(arg), &a); err != nil {
		return err
	}
	n := a.Sales
	var cost floorCost
	dir, err := os.MkdirTemp(a.Dir, "floor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := bolt.Open(filepath.Join(dir, "floor.db"), 0o600, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	value := []byte(strings.Repeat("x", a.CommitValue))
	begin := cpuSelf()
	for i := 0; i < 2*n; i++ {
		if err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("t"))
			if err != nil {
				return err
			}
			return b.Put([]byte(strconv.Itoa(i)), value)
		}); err != nil {
			return err
		}
	}
	cost.Commits = (cpuSelf() - begin) / time.Duration(n)

	tty, err := os.OpenFile(a.Reader, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return err
	}
	defer tty.Close()
	trips := int(a.ReaderTrips*float64(n) + 0.5)
	if cost.Reader, err = roundTrips(tty, trips, a.ReaderOut, a.ReaderIn); err != nil {
		return fmt.Errorf("reader round trips: %w", err)
	}
	cost.Reader /= time.Duration(n)

	c, err := net.Dial("tcp", a.Host)
	if err != nil {
		return err
	}
	defer c.Close()
	trips = int(a.HostTrips*float64(n) + 0.5)
	if cost.Host, err = roundTrips(bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), trips, a.HostOut, a.HostIn); err != nil {
		return fmt.Errorf("host round trips: %w", err)
	}
	cost.Host /= time.Duration(n)
	return json.NewEncoder(stdout).Encode(cost)
}

// roundTrips writes out bytes and reads in bytes back, n times, and
// returns the CPU this process spent on it.
func roundTrips(rw io.ReadWriter, n, out, in int) (time.Duration, error) {
	req, resp := make([]byte, out), make([]byte, in)
	flush := func() error { return nil }
	if f, ok := rw.(interface{ Flush() error }); ok {
		flush = f.Flush
	}
	begin := cpuSelf()
	for i := 0; i < n; i++ {
		if _, err := rw.Write(req); err != nil {
			return 0, err
		}
		if err := flush(); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(rw, resp); err != nil {
			return 0, err
		}
	}
	return cpuSelf() - begin, nil
}

// cpuSelf is the CPU time (user and system) this process has used.
func cpuSelf() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
