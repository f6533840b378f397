package faults

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

// deviceCase is one device fault: it sets the fault up, runs what the
// fault hits and returns the outcome the ECR saw and any broken
// expectation. The harness then clears the fault and checks that a plain
// sale approves without a restart.
type deviceCase struct {
	class, fault string
	run          func(ctx context.Context, h *Harness, ref string) (string, []string)
}

// expect checks an answer's HTTP status and error code.
func expect(a Answer, status int, code string) []string {
	if a.Err != nil {
		return []string{fmt.Sprintf("no answer: %v", a.Err)}
	}
	if a.Status != status || a.Code() != code {
		return []string{fmt.Sprintf("got %s, want %d %s: %s", a.Outcome(), status, code, a.Raw)}
	}
	return nil
}

func (h *Harness) sim(ctx context.Context, path string, body any) error {
	a := h.ecr.Post(ctx, path, body)
	if a.Err != nil || a.Status != 200 {
		return fmt.Errorf("%s: %s %v", path, a.Raw, a.Err)
	}
	return nil
}

func (h *Harness) saleBody(ref string, amount int64, print bool) map[string]any {
	b := map[string]any{"amount": amount, "currency": "USD", "reference": ref}
	if print {
		b["printReceipt"] = true
	}
	return b
}

// waitStage polls status until the active transaction is at stage.
func (h *Harness) waitStage(ctx context.Context, stage string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		a := h.ecr.Post(ctx, "/cashless/v1/status", "{}")
		if at := a.Obj("activeTransaction"); at != nil && at["stage"] == stage {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

// hostHeld reports whether the host holds an approval for the answer's
// transaction, after the reversal queue drained.
func (h *Harness) hostHeld(ctx context.Context, a Answer) (bool, []string) {
	if n, err := h.waitNoReversals(ctx, 15*time.Second); err != nil || n != 0 {
		return false, []string{fmt.Sprintf("%d reversals still queued after 15 s (%v)", n, err)}
	}
	l, err := h.readLedger()
	if err != nil {
		return false, []string{err.Error()}
	}
	return held(l, a.Str("transactionId")), nil
}

// deviceCases are the faults the devices suite injects.
var deviceCases = []deviceCase{
	{"reader", "unplugged while waiting for the card, then replugged", func(ctx context.Context, h *Harness, ref string) (string, []string) {
		if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"pan": "4242424242424242", "entryMethod": "chip", "presentAfterMs": 1500}); err != nil {
			return "", []string{err.Error()}
		}
		ch := make(chan Answer, 1)
		go func() { ch <- h.ecr.Post(ctx, "/cashless/v1/sale", h.saleBody(ref, 1234, false)) }()
		if !h.waitStage(ctx, string(daemon.StageWaitingForCard), 5*time.Second) {
			return "", []string{"never waited for the card"}
		}
		if err := h.sim(ctx, "/simulator/v1/reader", map[string]any{"unplugged": true}); err != nil {
			return "", []string{err.Error()}
		}
		a := <-ch
		bad := expect(a, 503, daemon.CodeReaderError)
		if held, b := h.hostHeld(ctx, a); held || len(b) > 0 {
			bad = append(bad, append(b, "the host holds the failed sale")...)
		}
		bad = append(bad, h.replug(ctx)...)
		return a.Outcome() + ", nothing charged", bad
	}},
	{"reader", "unplugged during authorisation (chip), then replugged", func(ctx context.Context, h *Harness, ref string) (string, []string) {
		if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"pan": "4000000000000077", "entryMethod": "chip", "presentAfterMs": 0}); err != nil {
			return "", []string{err.Error()}
		}
		h.proxy.SetRules(&Rule{Dir: Down, MTIs: []string{"0210"}, Action: Hold, Delay: 500 * time.Millisecond, Once: true})
		defer h.proxy.SetRules()
		wait := h.proxy.Await(h.proxy.Mark(), func(e Event) bool { return e.What == "held" })
		ch := make(chan Answer, 1)
		go func() { ch <- h.ecr.Post(ctx, "/cashless/v1/sale", h.saleBody(ref, 2345, false)) }()
		select {
		case <-wait:
		case <-time.After(10 * time.Second):
			return "", []string{"the sale never reached the host"}
		}
		if err := h.sim(ctx, "/simulator/v1/reader", map[string]any{"unplugged": true}); err != nil {
			return "", []string{err.Error()}
		}
		a := <-ch
		bad := expect(a, 503, daemon.CodeReaderError)
		if held, b := h.hostHeld(ctx, a); held || len(b) > 0 {
			bad = append(bad, append(b, "the host still holds the sale the card never finished")...)
		}
		bad = append(bad, h.replug(ctx)...)
		return a.Outcome() + ", host approval reversed", bad
	}},
	{"reader", "line noise within the link's retries (1-3 garbled frames, 1-3 dropped bytes)", func(ctx context.Context, h *Harness, ref string) (string, []string) {
		n := 1 + h.rng.IntN(3)
		if err := h.sim(ctx, "/simulator/v1/reader", map[string]any{"garbleFrames": n, "dropBytes": 1 + h.rng.IntN(3)}); err != nil {
			return "", []string{err.Error()}
		}
		if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"pan": "5555555555554444", "entryMethod": pick(h, "chip", "contactless"), "presentAfterMs": 0}); err != nil {
			return "", []string{err.Error()}
		}
		a := h.ecr.Post(ctx, "/cashless/v1/sale", h.saleBody(ref, 3456, false))
		return a.Outcome(), expect(a, 200, "")
	}},
	{"reader", "heavy line noise (100 garbled frames, 100 dropped bytes)", func(ctx context.Context, h *Harness, ref string) (string, []string) {
		if err := h.sim(ctx, "/simulator/v1/reader", map[string]any{"garbleFrames": 100, "dropBytes": 100}); err != nil {
			return "", []string{err.Error()}
		}
		if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"pan": "4242424242424242", "entryMethod": "chip", "presentAfterMs": 0}); err != nil {
			return "", []string{err.Error()}
		}
		begin := time.Now()
		a := h.ecr.Post(ctx, "/cashless/v1/sale", h.saleBody(ref, 4567, false))
		took := time.Since(begin).Round(100 * time.Millisecond)
		var bad []string
		// The link retransmits through noise; what it cannot get through
		// is a reader_error, and then nothing may be charged.
		held, b := h.hostHeld(ctx, a)
		bad = append(bad, b...)
		switch {
		case a.Status == 200 && !held:
			bad = append(bad, "approved but the host does not hold it")
		case a.Status == 200:
		case a.Status == 503 && a.Code() == daemon.CodeReaderError && held:
			bad = append(bad, "reader_error but the host holds the sale")
		case a.Status == 503 && a.Code() == daemon.CodeReaderError:
		default:
			bad = append(bad, "got "+a.Outcome()+", want 200 or 503 reader_error: "+string(a.Raw))
		}
		// The rest of the noise passes with the following attempts.
		for i := 0; i < 20; i++ {
			x := h.ecr.Post(ctx, "/cashless/v1/sale", h.saleBody(fmt.Sprintf("%s-N%d", ref, i), 100, false))
			if x.Status == 200 || x.Code() != daemon.CodeReaderError {
				break
			}
		}
		return fmt.Sprintf("%s after %s (link retransmitted through the noise)", a.Outcome(), took), bad
	}},
	{"printer", "paper out during the transaction", func(ctx context.Context, h *Harness, ref string) (string, []string) {
		if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"pan": "4242424242424242", "entryMethod": "chip", "presentAfterMs": 300}); err != nil {
			return "", []string{err.Error()}
		}
		ch := make(chan Answer, 1)
		go func() { ch <- h.ecr.Post(ctx, "/cashless/v1/sale", h.saleBody(ref, 5678, true)) }()
		h.waitStage(ctx, string(daemon.StageWaitingForCard), 5*time.Second)
		if err := h.sim(ctx, "/simulator/v1/printer", map[string]any{"paper": false}); err != nil {
			return "", []string{err.Error()}
		}
		a := <-ch
		bad := expect(a, 200, "")
		if a.Body["receiptPrinted"] != false || a.Str("printerError") == "" {
			bad = append(bad, "approved sale should say receiptPrinted:false with a printerError: "+string(a.Raw))
		}
		re := h.ecr.Post(ctx, "/cashless/v1/receipt/reprint", map[string]any{"type": "customer"})
		bad = append(bad, expect(re, 503, daemon.CodePrinterError)...)
		if err := h.sim(ctx, "/simulator/v1/printer", map[string]any{"paper": true}); err != nil {
			bad = append(bad, err.Error())
		}
		bad = append(bad, expect(h.ecr.Post(ctx, "/cashless/v1/receipt/reprint", map[string]any{"type": "customer"}), 200, "")...)
		return fmt.Sprintf("sale %s receiptPrinted:false; reprint %s; reprint after reload 200", a.Outcome(), re.Outcome()), bad
	}},
	{"printer", "paper out between the merchant and customer copy (chip and signature card)", func(ctx context.Context, h *Harness, ref string) (string, []string) {
		if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"pan": "4000000000000077", "entryMethod": "chip", "presentAfterMs": 0}); err != nil {
			return "", []string{err.Error()}
		}
		dir := filepath.Join(h.dataDir, "printer")
		before := countJobs(dir)
		ch := make(chan Answer, 1)
		go func() { ch <- h.ecr.Post(ctx, "/cashless/v1/sale", h.saleBody(ref, 6789, true)) }()
		deadline := time.Now().Add(10 * time.Second)
		for countJobs(dir) == before && time.Now().Before(deadline) {
			time.Sleep(200 * time.Microsecond)
		}
		_ = h.sim(ctx, "/simulator/v1/printer", map[string]any{"paper": false})
		a := <-ch
		bad := expect(a, 200, "")
		jobs := countJobs(dir) - before
		_ = h.sim(ctx, "/simulator/v1/printer", map[string]any{"paper": true})
		switch {
		case a.Body["receiptPrinted"] == false && jobs == 1:
			return "approved; merchant copy printed, customer copy refused: receiptPrinted:false", bad
		case a.Body["receiptPrinted"] == true && jobs == 2:
			return "approved; both copies printed before the paper ran out", bad
		case a.Body["receiptPrinted"] == false && jobs == 2:
			return "approved; paper out reported right after the customer copy: receiptPrinted:false (may be incomplete)", bad
		}
		return fmt.Sprintf("approved; %d copies, receiptPrinted %v", jobs, a.Body["receiptPrinted"]),
			append(bad, fmt.Sprintf("%d jobs printed but receiptPrinted is %v", jobs, a.Body["receiptPrinted"]))
	}},
	{"host", "slow: answer held past the host timeout", func(ctx context.Context, h *Harness, ref string) (string, []string) {
		return h.hostFault(ctx, ref, &Rule{Dir: Down, MTIs: []string{"0210"}, Action: Hold, Delay: h.opt.HostTimeout + 2*time.Second, Once: true}, true)
	}},
	{"host", "slow on the way in: request delivered after the host timeout", func(ctx context.Context, h *Harness, ref string) (string, []string) {
		return h.hostFault(ctx, ref, &Rule{Dir: Up, MTIs: []string{"0200"}, Action: Hold, Delay: h.opt.HostTimeout + 2*time.Second, Once: true, Deliver: true}, true)
	}},
	{"host", "down: connection refused", func(ctx context.Context, h *Harness, ref string) (string, []string) {
		if err := h.proxy.SetDown(true); err != nil {
			return "", []string{err.Error()}
		}
		out, bad := h.hostFault(ctx, ref, nil, false)
		if err := h.proxy.SetDown(false); err != nil {
			bad = append(bad, err.Error())
		}
		return out, bad
	}},
	{"host", "answers garbage instead of the authorisation response", func(ctx context.Context, h *Harness, ref string) (string, []string) {
		return h.hostFault(ctx, ref, &Rule{Dir: Down, MTIs: []string{"0210"}, Action: Garbage, Once: true}, true)
	}},
	{"host", "closes the connection in the middle of the answer", func(ctx context.Context, h *Harness, ref string) (string, []string) {
		return h.hostFault(ctx, ref, &Rule{Dir: Down, MTIs: []string{"0210"}, Action: CloseMid, Once: true}, true)
	}},
	{"host", "closes the connection after reading the request, before booking", func(ctx context.Context, h *Harness, ref string) (string, []string) {
		return h.hostFault(ctx, ref, &Rule{Dir: Up, MTIs: []string{"0200"}, Action: CloseConn, Once: true}, false)
	}},
}

// hostFault runs a sale through a host fault: the ECR must get 503
// communication_error with status failed, and the host must hold nothing
// once the reversal queue drained.
func (h *Harness) hostFault(ctx context.Context, ref string, rule *Rule, booked bool) (string, []string) {
	if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"pan": "4242424242424242", "entryMethod": pick(h, "chip", "contactless"), "presentAfterMs": 0}); err != nil {
		return "", []string{err.Error()}
	}
	if rule != nil {
		h.proxy.SetRules(rule)
		defer h.proxy.SetRules()
	}
	mark := h.proxy.Mark()
	begin := time.Now()
	a := h.ecr.Post(ctx, "/cashless/v1/sale", h.saleBody(ref, 7890, false))
	took := time.Since(begin)
	bad := expect(a, 503, daemon.CodeCommunicationError)
	if a.Str("status") != "failed" {
		bad = append(bad, "status should be failed: "+string(a.Raw))
	}
	held, b := h.hostHeld(ctx, a)
	hostGot := false
	for _, e := range h.proxy.Since(mark) {
		if e.Dir == Up && e.MTI == "0200" && e.What == "forwarded" {
			hostGot = true
		}
	}
	bad = append(bad, b...)
	if held {
		bad = append(bad, "the host still holds the failed sale "+a.Str("transactionId"))
	}
	what := "host never booked it"
	if hostGot {
		what = "host booked it, reversed"
	}
	if booked != hostGot {
		what += " (unexpected)"
	}
	return fmt.Sprintf("%s after %s, %s", a.Outcome(), took.Round(100*time.Millisecond), what), bad
}

func (h *Harness) replug(ctx context.Context) []string {
	if err := h.sim(ctx, "/simulator/v1/reader", map[string]any{"unplugged": false}); err != nil {
		return []string{err.Error()}
	}
	return nil
}

func countJobs(dir string) int {
	m, _ := filepath.Glob(filepath.Join(dir, "*.bin"))
	return len(m)
}

// RunDevices injects every device fault rounds times into one daemon that
// is never restarted, checks each ends in the documented error and that a
// following sale approves, then reconciles the books.
func RunDevices(ctx context.Context, opt Options, rounds int) (*Report, error) {
	opt.HostTimeout = 2 * time.Second
	h, err := NewHarness(opt, "")
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if _, err := h.startDaemon(ctx); err != nil {
		return h.Report, err
	}
	for i := 0; i < rounds; i++ {
		for j, c := range deviceCases {
			ref := fmt.Sprintf("DEV-%d-%d", i, j)
			out, bad := c.run(ctx, h, ref)
			// Recovery: a plain sale approves without a restart.
			if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"pan": "4242424242424242", "entryMethod": "contactless", "presentAfterMs": 0}); err != nil {
				bad = append(bad, err.Error())
			}
			next := h.ecr.Post(ctx, "/cashless/v1/sale", h.saleBody(ref+"-NEXT", 1111, false))
			if next.Status != 200 {
				bad = append(bad, "the following sale got "+next.Outcome()+": "+string(next.Raw))
			} else {
				out += "; next sale 200"
			}
			for _, b := range bad {
				h.Report.ViolateAt(Violation{VDeviceRecovery, c.fault + ": " + b}, ref)
			}
			h.Report.Add(Row{Class: "device: " + c.class, Fault: c.fault, Times: 1, Outcome: out, Bad: len(bad)})
			h.progress("%s %s: %s %s", ref, c.fault, out, strings.Join(bad, "; "))
		}
	}
	h.final(ctx)
	return h.Report, nil
}
