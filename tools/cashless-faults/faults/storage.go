package faults

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/store"
)

// MountTmpfs mounts a tmpfs of size bytes at dir. It needs root (or
// CAP_SYS_ADMIN); the error says why it could not.
func MountTmpfs(dir string, size int64) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("not root: cannot mount a tmpfs")
	}
	return unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size))
}

// RemountReadOnly remounts the file system mounted at dir read-only (or
// read-write again). Linux refuses while a file on it is open for
// writing, so stop the daemon first.
func RemountReadOnly(dir string, readOnly bool) error {
	flags := uintptr(unix.MS_REMOUNT)
	if readOnly {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Mount("", dir, "", flags, ""); err != nil {
		return fmt.Errorf("remounting %s (read-only %v): %w", dir, readOnly, err)
	}
	return nil
}

// Unmount unmounts dir (lazily, so a lingering descriptor cannot keep it).
func Unmount(dir string) error { return unix.Unmount(dir, unix.MNT_DETACH) }

// FillDisk writes a file in dir until the file system is full and returns
// its path. Removing the file frees the space.
func FillDisk(dir string) (string, error) {
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	for _, size := range []int{1 << 16, 4096, 512, 1} {
		chunk := make([]byte, size)
		for {
			if _, err := f.Write(chunk); err != nil {
				if errors.Is(err, syscall.ENOSPC) {
					break
				}
				return path, err
			}
		}
	}
	_ = f.Sync()
	return path, nil
}

// RunStorage runs the storage faults: a full disk while the daemon runs
// and a read-only one at start-up (each on a small tmpfs; skipped with a
// note when it cannot be mounted), and a corrupt database at start-up.
func RunStorage(ctx context.Context, opt Options) (*Report, error) {
	r := NewReport()
	if err := fullDisk(ctx, opt, r); err != nil {
		return r, err
	}
	if err := readOnlyDisk(ctx, opt, r); err != nil {
		return r, err
	}
	if err := corruptDatabase(ctx, opt, r); err != nil {
		return r, err
	}
	return r, nil
}

// fullDisk fills the data directory's file system and checks that every
// kind of new work is refused with storage_unavailable before the card or
// the host is touched, that status still answers, and that the terminal
// works again once space is freed, without a restart.
func fullDisk(ctx context.Context, opt Options, r *Report) error {
	h, mnt, done, err := onTmpfs(ctx, opt, r, "full", "disk full (tmpfs)")
	if h == nil || err != nil {
		return err
	}
	defer done()
	bad := func(f string, a ...any) { r.Violate(Violation{VStorage, "disk full: " + fmt.Sprintf(f, a...)}) }
	if err := h.originals(ctx, "FULL"); err != nil {
		return err
	}
	if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"presentAfterMs": 2000}); err != nil {
		return err
	}
	filler, err := FillDisk(mnt)
	if err != nil {
		return err
	}
	var st unix.Statfs_t
	_ = unix.Statfs(mnt, &st)
	refused, total := h.expectRefused(ctx, r, "FULL", "disk full (8 MiB tmpfs, 0 bytes free)", bad)
	// A batch close on a full disk may reach the host (settlement comes
	// before the local close); it must fail cleanly and succeed on retry.
	closeA := h.ecr.Post(ctx, "/cashless/v1/batch/close", map[string]any{"reference": "FULL-B1"})

	if err := os.Remove(filler); err != nil {
		return err
	}
	if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"presentAfterMs": 0}); err != nil {
		return err
	}
	after := h.ecr.Post(ctx, "/cashless/v1/sale", map[string]any{"amount": 1234, "currency": "USD", "reference": "FULL-S1"})
	if after.Status != 200 {
		bad("after freeing space the sale got %s: %s", after.Outcome(), after.Raw)
	}
	closeB := h.ecr.Post(ctx, "/cashless/v1/batch/close", map[string]any{"reference": "FULL-B1"})
	closeOK := closeB.Status == 200
	if !closeOK {
		bad("batch close after freeing space: %s", closeB.Raw)
	}
	r.Add(Row{Class: "storage", Fault: "disk full: batch close, retried after freeing space", Times: 1,
		Outcome: fmt.Sprintf("on full disk %s; after %s", closeA.Outcome(), closeB.Outcome()), Bad: map[bool]int{true: 0, false: 1}[closeOK]})
	r.Add(Row{Class: "storage", Fault: "disk full, then space freed: the same sale reference again (no restart)", Times: 1,
		Outcome: after.Outcome(), Bad: map[bool]int{true: 0, false: 1}[after.Status == 200]})
	h.final(ctx)
	r.Note("Disk full: %d of %d new transactions refused with storage_unavailable; the host saw no financial message and booked nothing; %d free blocks at the time.", refused, total, st.Bavail)
	return nil
}

// onTmpfs starts a harness whose data directory is on a fresh 8 MiB
// tmpfs. When none can be mounted it adds a skipped row for fault and
// returns a nil harness. done stops the harness and unmounts.
func onTmpfs(ctx context.Context, opt Options, r *Report, name, fault string) (h *Harness, mnt string, done func(), err error) {
	mnt = filepath.Join(opt.Dir, "tmpfs-"+name)
	if err := MountTmpfs(mnt, 8<<20); err != nil {
		r.Add(Row{Class: "storage", Fault: fault, Times: 0, Outcome: "skipped: " + err.Error()})
		return nil, "", nil, nil
	}
	o := opt
	o.Dir = filepath.Join(opt.Dir, name)
	o.DataDir = filepath.Join(mnt, "terminal")
	if h, err = NewHarness(o, ""); err != nil {
		_ = Unmount(mnt)
		return nil, "", nil, err
	}
	h.Report = r
	done = func() {
		h.Close()
		_ = Unmount(mnt)
	}
	if _, err := h.startDaemon(ctx); err != nil {
		done()
		return nil, "", nil, err
	}
	return h, mnt, done, nil
}

// originals approves the sale prefix+"-S0" and the pre-auth prefix+"-P0"
// (originals for a refund and a completion, and an open batch) with an
// instant card.
func (h *Harness) originals(ctx context.Context, prefix string) error {
	if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"pan": "4242424242424242", "presentAfterMs": 0}); err != nil {
		return err
	}
	for _, x := range []struct {
		path string
		body map[string]any
	}{
		{"/cashless/v1/sale", map[string]any{"amount": 5000, "currency": "USD", "reference": prefix + "-S0"}},
		{"/cashless/v1/preauth", map[string]any{"amount": 5000, "currency": "USD", "reference": prefix + "-P0"}},
	} {
		if a := h.ecr.Post(ctx, x.path, x.body); a.Status != 200 {
			return fmt.Errorf("setup %s: %s", x.path, a.Raw)
		}
	}
	return nil
}

// expectRefused sends every kind of new work (originals prefix+"-S0" and
// prefix+"-P0" must exist) and checks each is refused with 503
// storage_unavailable before the card (presented after 2 s) or the host
// is touched, and that status still answers. It returns how many of how
// many were refused.
func (h *Harness) expectRefused(ctx context.Context, r *Report, prefix, fault string, bad func(string, ...any)) (int, int) {
	ledgerBefore, _ := h.readLedger()
	mark := h.proxy.Mark()
	calls := []struct {
		name, path string
		body       map[string]any
	}{
		{"sale", "/cashless/v1/sale", map[string]any{"amount": 1234, "currency": "USD", "reference": prefix + "-S1"}},
		{"preauth", "/cashless/v1/preauth", map[string]any{"amount": 1234, "currency": "USD", "reference": prefix + "-P1"}},
		{"refund", "/cashless/v1/refund", map[string]any{"originalReference": prefix + "-S0", "amount": 100, "currency": "USD", "reference": prefix + "-R1"}},
		{"completion", "/cashless/v1/preauth/complete", map[string]any{"originalReference": prefix + "-P0", "captureAmount": 100, "currency": "USD", "reference": prefix + "-C1"}},
	}
	refused := 0
	for _, c := range calls {
		begin := time.Now()
		a := h.ecr.Post(ctx, c.path, c.body)
		took := time.Since(begin)
		ok := a.Status == 503 && a.Code() == daemon.CodeStorageUnavailable
		if ok {
			refused++
		} else {
			bad("%s got %s, want 503 storage_unavailable: %s", c.name, a.Outcome(), a.Raw)
		}
		if (c.name == "sale" || c.name == "preauth") && took >= 1500*time.Millisecond {
			bad("%s took %s: the card (presented after 2 s) was waited for", c.name, took)
		}
		r.Add(Row{Class: "storage", Fault: fault + ": " + c.name, Times: 1, Outcome: a.Outcome(), Bad: map[bool]int{true: 0, false: 1}[ok]})
	}
	for _, e := range h.proxy.Since(mark) {
		if e.Dir == Up && e.MTI != "0800" {
			bad("the host got %s", e.MTI)
		}
	}
	if l, _ := h.readLedger(); len(l.Approvals) != len(ledgerBefore.Approvals) {
		bad("the host booked %d approvals", len(l.Approvals)-len(ledgerBefore.Approvals))
	}
	status := h.ecr.Post(ctx, "/cashless/v1/status", "{}")
	if status.Status != 200 {
		bad("status: %s", status.Outcome())
	}
	r.Add(Row{Class: "storage", Fault: fault + ": status", Times: 1, Outcome: status.Outcome(), Bad: map[bool]int{true: 0, false: 1}[status.Status == 200]})
	return refused, len(calls)
}

// readOnlyDisk restarts the daemon on a data directory whose file system
// was remounted read-only (as the kernel does with failing flash) and
// checks that it still starts and answers status and replays, refuses
// every kind of new work with storage_unavailable before the card or the
// host is touched, and works again once the file system is writable and
// the daemon restarted.
func readOnlyDisk(ctx context.Context, opt Options, r *Report) error {
	h, mnt, done, err := onTmpfs(ctx, opt, r, "ro", "read-only disk (tmpfs)")
	if h == nil || err != nil {
		return err
	}
	defer done()
	bad := func(f string, a ...any) { r.Violate(Violation{VStorage, "read-only disk: " + fmt.Sprintf(f, a...)}) }
	if err := h.originals(ctx, "RO"); err != nil {
		return err
	}
	sale := map[string]any{"amount": 5000, "currency": "USD", "reference": "RO-S0"}
	if err := h.stopDaemon(); err != nil {
		return err
	}
	if err := RemountReadOnly(mnt, true); err != nil {
		return err
	}
	if _, err := h.startDaemon(ctx); err != nil {
		bad("the daemon did not start on a read-only data directory: %v", err)
		r.Add(Row{Class: "storage", Fault: "read-only disk: start-up", Times: 1, Outcome: "refused to start", Bad: 1})
		return nil
	}
	if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"presentAfterMs": 2000}); err != nil {
		return err
	}
	refused, total := h.expectRefused(ctx, r, "RO", "read-only disk (tmpfs remounted read-only)", bad)
	replay := h.ecr.Post(ctx, "/cashless/v1/sale", sale)
	replayed := replay.Status == 200 && replay.Header.Get("Idempotent-Replayed") == "true"
	if !replayed {
		bad("replay of an approved sale: %s", replay.Outcome())
	}
	r.Add(Row{Class: "storage", Fault: "read-only disk: replay of a sale approved before", Times: 1, Outcome: replay.Outcome(), Bad: map[bool]int{true: 0, false: 1}[replayed]})
	closeRO := h.ecr.Post(ctx, "/cashless/v1/batch/close", map[string]any{"reference": "RO-B1"})
	closeRefused := closeRO.Status == 503 && closeRO.Code() == daemon.CodeStorageUnavailable
	if !closeRefused {
		bad("batch close: %s", closeRO.Outcome())
	}
	r.Add(Row{Class: "storage", Fault: "read-only disk: batch close", Times: 1, Outcome: closeRO.Outcome(), Bad: map[bool]int{true: 0, false: 1}[closeRefused]})

	if err := h.stopDaemon(); err != nil {
		return err
	}
	if err := RemountReadOnly(mnt, false); err != nil {
		return err
	}
	if _, err := h.startDaemon(ctx); err != nil {
		return err
	}
	if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"presentAfterMs": 0}); err != nil {
		return err
	}
	after := h.ecr.Post(ctx, "/cashless/v1/sale", map[string]any{"amount": 1234, "currency": "USD", "reference": "RO-S1"})
	if after.Status != 200 {
		bad("after remounting read-write and restarting, the sale got %s", after.Outcome())
	}
	r.Add(Row{Class: "storage", Fault: "read-only disk, then writable and restarted: the same sale reference again", Times: 1,
		Outcome: after.Outcome(), Bad: map[bool]int{true: 0, false: 1}[after.Status == 200]})
	h.final(ctx)
	r.Note("Read-only disk: %d of %d new transactions refused with storage_unavailable; the host saw no financial message and booked nothing.", refused, total)
	return nil
}

// corruptions damage a valid database file in place.
var corruptions = []struct {
	name string
	hurt func(b []byte) []byte
}{
	{"random bytes instead of a database (64 KiB)", func(b []byte) []byte {
		out := make([]byte, 64<<10)
		_, _ = rand.Read(out)
		return out
	}},
	{"truncated to 3000 bytes", func(b []byte) []byte { return bytes.Clone(b[:3000]) }},
	{"both meta pages overwritten", func(b []byte) []byte {
		out := bytes.Clone(b)
		page := pageSize(b)
		for i := 16; i < 2*page; i++ {
			out[i] = byte(i * 7)
		}
		return out
	}},
	{"one meta page zeroed (a torn meta write; bbolt falls back to the other)", func(b []byte) []byte {
		out := bytes.Clone(b)
		page := pageSize(b)
		clear(out[page : 2*page])
		return out
	}},
	{"the root bucket page overwritten with random bytes", func(b []byte) []byte {
		out := bytes.Clone(b)
		page := pageSize(b)
		root := le64(metaOf(b)[32:40])
		if int(root+1)*page <= len(out) {
			_, _ = rand.Read(out[int(root)*page : int(root+1)*page])
		}
		return out
	}},
	{"every data page overwritten with random bytes", func(b []byte) []byte {
		out := bytes.Clone(b)
		page := pageSize(b)
		_, _ = rand.Read(out[2*page:])
		return out
	}},
}

// metaOf returns the meta page with the higher transaction ID.
func metaOf(b []byte) []byte {
	page := pageSize(b)
	m0, m1 := b[:page], b[page:2*page]
	if le64(m1[64:72]) > le64(m0[64:72]) {
		return m1
	}
	return m0
}

func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// pageSize reads bbolt's page size from the first meta page.
func pageSize(b []byte) int {
	if len(b) < 28 {
		return 4096
	}
	n := int(uint32(b[24]) | uint32(b[25])<<8 | uint32(b[26])<<16 | uint32(b[27])<<24)
	if n < 512 || n > 65536 {
		return 4096
	}
	return n
}

// corruptDatabase starts the daemon on damaged copies of a real database:
// it must stop with a clear message, without a panic, and leave the file
// byte for byte as it was.
func corruptDatabase(ctx context.Context, opt Options, r *Report) error {
	o := opt
	o.Dir = filepath.Join(opt.Dir, "corrupt")
	h, err := NewHarness(o, "")
	if err != nil {
		return err
	}
	defer h.Close()
	if _, err := h.startDaemon(ctx); err != nil {
		return err
	}
	if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"presentAfterMs": 0}); err != nil {
		return err
	}
	for i := 0; i < 20; i++ {
		if a := h.ecr.Post(ctx, "/cashless/v1/sale", map[string]any{"amount": 100 + i, "currency": "USD", "reference": fmt.Sprintf("DB-%d", i)}); a.Status != 200 {
			return fmt.Errorf("setup sale: %s", a.Raw)
		}
	}
	if err := h.stopDaemon(); err != nil {
		return err
	}
	h.d = nil
	good, err := os.ReadFile(filepath.Join(h.dataDir, store.FileName))
	if err != nil {
		return err
	}
	for i, c := range corruptions {
		dir := filepath.Join(o.Dir, fmt.Sprintf("case-%d", i))
		if err := copyDir(filepath.Join(h.dataDir, "certs"), filepath.Join(dir, "certs")); err != nil {
			return err
		}
		damaged := c.hurt(good)
		path := filepath.Join(dir, store.FileName)
		if err := os.WriteFile(path, damaged, 0o600); err != nil {
			return err
		}
		sum := sha256.Sum256(damaged)
		d, err := opt.Launcher.StartDaemon(dir, h.cfg, filepath.Join(dir, "cashlessd.log"))
		if err != nil {
			return err
		}
		var outcome string
		var problems []string
		select {
		case <-d.Done():
			log := strings.TrimSpace(d.Log())
			last := log[strings.LastIndex(log, "\n")+1:]
			outcome = "refused to start: " + strings.TrimPrefix(last, "cashlessd: ")
			if i := strings.Index(log, "panic: "); i >= 0 {
				line := log[i:]
				if j := strings.IndexByte(line, '\n'); j > 0 {
					line = line[:j]
				}
				outcome = "PANICKED at start-up (" + line + ")"
				last = line
			}
			if d.ExitErr() == nil {
				problems = append(problems, "exit status 0")
			}
			if strings.Contains(log, "panic:") || strings.Contains(log, "goroutine ") {
				problems = append(problems, "panicked instead of a clear message")
			}
			if !strings.Contains(last, "database") {
				problems = append(problems, "the message does not name the database: "+last)
			}
		case <-d.Ready():
			if !strings.Contains(c.name, "falls back") {
				problems = append(problems, "started on a damaged database")
			}
			// Opened: the damage was not where bbolt looks at open. It must
			// at least not serve wrong data; see what status says.
			e, _ := d.ECR()
			st := Answer{Err: errors.New("no client")}
			if e != nil {
				st = e.Post(ctx, "/cashless/v1/status", "{}")
				e.Close()
			}
			outcome = "started; status " + st.Outcome()
			_ = d.Signal(syscall.SIGTERM)
			d.Wait(40 * time.Second)
			if strings.Contains(d.Log(), "panic:") {
				problems = append(problems, "panicked")
			}
		case <-time.After(30 * time.Second):
			d.Kill()
			problems = append(problems, "neither started nor stopped within 30 s")
		}
		d.Kill()
		recoverable := strings.Contains(c.name, "falls back")
		after, err := os.ReadFile(path)
		switch {
		case recoverable && strings.HasPrefix(outcome, "started"):
			// bbolt keeps two meta pages for this: the daemon runs on the
			// intact one, and the database must then check clean.
			if _, err := ReadSnapshot(dir, ""); err != nil {
				problems = append(problems, "started, but the database does not check clean: "+err.Error())
			} else {
				outcome += " on the intact meta page; bbolt check clean"
			}
		case recoverable:
			problems = append(problems, "a database bbolt can recover was refused")
		case err != nil || sha256.Sum256(after) != sum:
			problems = append(problems, "the file was changed")
		default:
			outcome += "; file unchanged"
		}
		outcome = strings.ReplaceAll(outcome, dir+string(filepath.Separator), "DATA_DIR/")
		for _, p := range problems {
			r.Violate(Violation{VStorage, c.name + ": " + p})
		}
		r.Add(Row{Class: "storage", Fault: "corrupt database at start-up: " + c.name, Times: 1, Outcome: outcome, Bad: len(problems)})
	}
	return nil
}

func copyDir(from, to string) error {
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		in, err := os.Open(filepath.Join(from, e.Name()))
		if err != nil {
			return err
		}
		out, err := os.OpenFile(filepath.Join(to, e.Name()), os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			_, err = io.Copy(out, in)
			_ = out.Close()
		}
		_ = in.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
