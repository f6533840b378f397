package faults

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// field is one key and raw JSON value of a body.
type field struct{ key, raw string }

// endpoints with a valid body each; the hostile bodies are mutations.
var endpoints = []struct {
	path string
	body []field
}{
	{"/cashless/v1/sale", []field{{"amount", "1234"}, {"currency", `"USD"`}, {"reference", "REF"}, {"tipAmount", "10"}, {"printReceipt", "false"}}},
	{"/cashless/v1/preauth", []field{{"amount", "5000"}, {"currency", `"USD"`}, {"reference", "REF"}}},
	{"/cashless/v1/preauth/complete", []field{{"originalReference", `"IN-P"`}, {"captureAmount", "100"}, {"currency", `"USD"`}, {"reference", "REF"}}},
	{"/cashless/v1/refund", []field{{"originalReference", `"IN-S"`}, {"amount", "1"}, {"currency", `"USD"`}, {"reference", "REF"}}},
	{"/cashless/v1/cancel", []field{{"reference", "REF"}}},
	{"/cashless/v1/batch/close", []field{{"reference", "REF"}}},
	{"/cashless/v1/receipt/reprint", []field{{"type", `"customer"`}}},
	{"/cashless/v1/receipt/last", nil},
	{"/cashless/v1/status", nil},
	{"/simulator/v1/card", []field{{"pan", `"4242424242424242"`}, {"entryMethod", `"contactless"`}, {"presentAfterMs", "0"}}},
}

// hostileValues replace a field's value.
var hostileValues = []string{
	"null", "true", `"x"`, "-1", "0", "1e309", "12345678901234567890", "1.5", `"１２３"`, "[]", "{}",
	`"` + strings.Repeat("A", 10000) + `"`, `"\u0000"`, "\"\xff\xfe\"", `"\ud800"`, "1234567890123", `"usd"`, `"EUR"`,
	`"` + strings.Repeat("B", 65) + `"`, `"A\u0007B"`, "-0", "0x10", "01", `"1234"`, "NaN", "Infinity",
}

// render writes fields as a JSON object.
func render(fields []field) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(f.key))
		b.WriteByte(':')
		b.WriteString(f.raw)
	}
	b.WriteByte('}')
	return b.String()
}

// mutate makes a hostile body from a valid one.
func mutate(rng *rand.Rand, base []field, ref string) string {
	fields := make([]field, 0, len(base)+2)
	for _, f := range base {
		if f.raw == "REF" {
			f.raw = strconv.Quote(ref)
		}
		fields = append(fields, f)
	}
	n := 1 + rng.IntN(3)
	var out string
	for i := 0; i < n; i++ {
		switch rng.IntN(12) {
		case 0, 1, 2:
			if len(fields) > 0 {
				fields[rng.IntN(len(fields))].raw = hostileValues[rng.IntN(len(hostileValues))]
			}
		case 3:
			fields = append(fields, field{pick2(rng, "amountt", "Amount", "tip", "__proto__", "reference "), "1"})
		case 4:
			if len(fields) > 0 {
				f := fields[rng.IntN(len(fields))]
				fields = append(fields, field{f.key, hostileValues[rng.IntN(len(hostileValues))]})
			}
		case 5:
			if len(fields) > 0 {
				k := rng.IntN(len(fields))
				fields = append(fields[:k], fields[k+1:]...)
			}
		case 6:
			out = strings.Repeat("[", 5000+rng.IntN(10000)) + strings.Repeat("]", 5000)
		case 7:
			out = pick2(rng, "[]", `"str"`, "123", "null", "\ufeff{}", "{}//", "{} {}", "{,}", "{\"a\"}", `{"amount":1`, "\x00")
		}
	}
	if out != "" {
		return out
	}
	body := []byte(render(fields))
	switch rng.IntN(5) {
	case 0: // byte-level damage
		for i := 0; i < 1+rng.IntN(3) && len(body) > 0; i++ {
			k := rng.IntN(len(body))
			switch rng.IntN(3) {
			case 0:
				body = append(body[:k], body[k+1:]...)
			case 1:
				body = append(body[:k], append([]byte{byte(rng.IntN(256))}, body[k:]...)...)
			case 2:
				body[k] ^= byte(1 + rng.IntN(255))
			}
		}
	case 1: // truncated
		if len(body) > 0 {
			body = body[:rng.IntN(len(body))]
		}
	}
	return string(body)
}

func pick2(rng *rand.Rand, s ...string) string { return s[rng.IntN(len(s))] }

// RunInput sends hostile bodies to every endpoint, guesses keys until the
// limiter answers 429, and runs every fuzz target of the module.
func RunInput(ctx context.Context, opt Options, fuzzTime time.Duration, moduleDir string) (*Report, error) {
	return RunInputWith(ctx, opt, 600, true, fuzzTime, moduleDir)
}

// RunInputWith is RunInput with the number of hostile bodies and whether
// to wait out the key limiter.
func RunInputWith(ctx context.Context, opt Options, bodies int, waitLimiter bool, fuzzTime time.Duration, moduleDir string) (*Report, error) {
	h, err := NewHarness(opt, "")
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if _, err := h.startDaemon(ctx); err != nil {
		return h.Report, err
	}
	if err := h.hostile(ctx, bodies); err != nil {
		return h.Report, err
	}
	if err := h.keyGuessing(ctx, waitLimiter); err != nil {
		return h.Report, err
	}
	h.final(ctx)
	if fuzzTime > 0 {
		if err := runFuzzTargets(ctx, h.Report, fuzzTime, moduleDir, h.opt.Progress); err != nil {
			return h.Report, err
		}
	}
	return h.Report, nil
}

// hostile sends n mutated bodies: none may get a 5xx, and none that is
// refused may leave a transaction behind.
func (h *Harness) hostile(ctx context.Context, n int) error {
	if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"presentAfterMs": 0}); err != nil {
		return err
	}
	for _, x := range []struct{ path, body string }{
		{"/cashless/v1/sale", `{"amount":9000,"currency":"USD","reference":"IN-S"}`},
		{"/cashless/v1/preauth", `{"amount":9000,"currency":"USD","reference":"IN-P"}`},
	} {
		if a := h.ecr.Post(ctx, x.path, x.body); a.Status != 200 {
			return fmt.Errorf("setup: %s", a.Raw)
		}
	}
	statuses := tally{}
	refused := map[string]bool{}
	bad := 0
	for i := 0; i < n; i++ {
		ep := endpoints[h.rng.IntN(len(endpoints))]
		ref := fmt.Sprintf("IN-%04d", i)
		body := mutate(h.rng, ep.body, ref)
		a := h.ecr.Post(ctx, ep.path, body)
		if a.Err != nil {
			bad++
			h.Report.Violate(Violation{VECR, fmt.Sprintf("hostile body to %s: no answer (%v): %.200q", ep.path, a.Err, body)})
			continue
		}
		statuses[strconv.Itoa(a.Status)]++
		if a.Status >= 500 {
			bad++
			h.Report.Violate(Violation{VECR, fmt.Sprintf("hostile body to %s got %s: %.200q", ep.path, a.Outcome(), body)})
		}
		if a.Status == 400 || a.Status == 413 {
			if a.Code() != daemon.CodeInvalidRequest {
				bad++
				h.Report.Violate(Violation{VECR, fmt.Sprintf("%d without invalid_request: %s", a.Status, a.Raw)})
			}
			refused[ref] = true
		}
		if ep.path == "/simulator/v1/card" {
			_ = h.sim(ctx, "/simulator/v1/card", map[string]any{"pan": "4242424242424242", "entryMethod": "contactless", "presentAfterMs": 0, "present": true})
		}
	}
	// Bad input changes nothing: no refused reference left a transaction.
	if err := h.stopDaemon(); err != nil {
		return err
	}
	s, err := ReadSnapshot(h.dataDir, h.scratch)
	if err != nil {
		return err
	}
	for _, t := range s.Txs {
		if refused[t.Reference] {
			bad++
			h.Report.Violate(Violation{VECR, fmt.Sprintf("refused body left %s %s %q", t.Kind, t.ID, t.Reference)})
		}
	}
	if _, err := h.startDaemon(ctx); err != nil {
		return err
	}
	h.Report.Add(Row{Class: "input", Fault: "hostile JSON bodies (mutated valid bodies, wrong types, deep nesting, bad UTF-8, duplicates, unknown fields) to every endpoint", Times: n,
		Outcome: "HTTP " + statuses.String() + "; none 5xx; refused ones left nothing", Bad: bad})
	return nil
}

// keyGuessing fails the key until the limiter steps in.
func (h *Harness) keyGuessing(ctx context.Context, wait bool) error {
	wrong := *h.ecr
	wrong.Key = "ck_live_guess"
	t := tally{}
	var blocked Answer
	for i := 0; i < 12; i++ {
		a := wrong.Post(ctx, "/cashless/v1/status", "{}")
		t[a.Outcome()]++
		if a.Status == 429 {
			blocked = a
		}
	}
	right := h.ecr.Post(ctx, "/cashless/v1/status", "{}")
	bad := 0
	if blocked.Status != 429 || blocked.Code() != wire.CodeTooManyAttempts || blocked.Header.Get("Retry-After") == "" {
		bad++
		h.Report.Violate(Violation{VECR, "12 wrong keys never got 429 too_many_attempts with Retry-After: " + t.String()})
	}
	if right.Status != 200 {
		bad++
		h.Report.Violate(Violation{VECR, "the right key from an address over the failed-key limit was not served: " + right.Outcome()})
	}
	outcome := fmt.Sprintf("%s; the right key from the same address meanwhile %s", t, right.Outcome())
	if wait {
		secs, _ := strconv.Atoi(blocked.Header.Get("Retry-After"))
		time.Sleep(time.Duration(secs)*time.Second + 200*time.Millisecond)
		after := wrong.Post(ctx, "/cashless/v1/status", "{}")
		if after.Status != 401 {
			bad++
			h.Report.Violate(Violation{VECR, "after Retry-After a wrong key got " + after.Outcome() + ", want 401 again"})
		}
		outcome += fmt.Sprintf("; a wrong key after Retry-After (%s s) %s", blocked.Header.Get("Retry-After"), after.Outcome())
	}
	h.Report.Add(Row{Class: "input", Fault: "12 wrong shared keys from one client", Times: 1, Outcome: outcome, Bad: bad})
	return nil
}

// ModuleRoot finds the directory of cashlessd's go.mod from dir upwards.
func ModuleRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		raw, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.Contains(raw, []byte("module github.com/vinr/cashlessd")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("the cashlessd module is not above " + dir)
		}
	}
}

var fuzzFunc = regexp.MustCompile(`(?m)^func (Fuzz\w+)\(`)

// FuzzTargets lists the module's fuzz targets as package directory and
// function name.
func FuzzTargets(root string) ([][2]string, error) {
	var out [][2]string
	err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && (e.Name() == "testdata" || strings.HasPrefix(e.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if e.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range fuzzFunc.FindAllSubmatch(raw, -1) {
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			out = append(out, [2]string{"./" + filepath.ToSlash(rel), string(m[1])})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i][0]+out[i][1] < out[j][0]+out[j][1] })
	return out, err
}

var execsRE = regexp.MustCompile(`execs: (\d+)`)

// runFuzzTargets runs each fuzz target for d with `go test -fuzz`.
func runFuzzTargets(ctx context.Context, r *Report, d time.Duration, moduleDir string, progress interface{ Write([]byte) (int, error) }) error {
	if moduleDir == "" {
		wd, _ := os.Getwd()
		var err error
		if moduleDir, err = ModuleRoot(wd); err != nil {
			r.Add(Row{Class: "input: fuzz", Fault: "fuzz targets", Outcome: "skipped: " + err.Error()})
			return nil
		}
	}
	if _, err := exec.LookPath("go"); err != nil {
		r.Add(Row{Class: "input: fuzz", Fault: "fuzz targets", Outcome: "skipped: no go tool"})
		return nil
	}
	targets, err := FuzzTargets(moduleDir)
	if err != nil {
		return err
	}
	for _, t := range targets {
		cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-fuzz", "^"+t[1]+"$", "-fuzztime", d.String(), t[0])
		cmd.Dir = moduleDir
		out, err := cmd.CombinedOutput()
		execs := int64(0)
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if m := execsRE.FindStringSubmatch(sc.Text()); m != nil {
				n, _ := strconv.ParseInt(m[1], 10, 64)
				execs = max(execs, n)
			}
		}
		row := Row{Class: "input: fuzz", Fault: t[1] + " (" + strings.TrimPrefix(t[0], "./") + ")", Times: int(execs)}
		if err != nil {
			row.Bad = 1
			row.Outcome = "FAILED"
			for _, line := range strings.Split(string(out), "\n") {
				line = strings.TrimSpace(line)
				if i := strings.Index(line, "_test.go:"); i >= 0 && row.Outcome == "FAILED" {
					row.Outcome = "FAILED: " + line
				}
				if strings.HasPrefix(line, "Failing input written to ") {
					row.Outcome += " (" + strings.TrimPrefix(line, "Failing input written to ") + ")"
				}
			}
			r.Violate(Violation{VFuzz, fmt.Sprintf("%s %s: %v\n%s", t[0], t[1], err, failure(string(out)))})
		} else {
			row.Outcome = fmt.Sprintf("%s of fuzzing, no failure", d)
		}
		r.Add(row)
		if progress != nil {
			fmt.Fprintf(progress, "fuzz %s %s: %d execs, %s\n", t[0], t[1], execs, row.Outcome)
		}
	}
	return nil
}

// failure keeps the lines of go test's output that say what failed.
func failure(out string) string {
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "fuzz: elapsed") || strings.TrimSpace(line) == "" {
			continue
		}
		keep = append(keep, line)
	}
	return tail(strings.Join(keep, "\n"), 1500)
}
