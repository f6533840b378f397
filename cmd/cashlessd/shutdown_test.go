package main

import (
	"strings"
	"testing"
	"time"
)

// saleAsync runs a sale in the background and delivers its answer.
func (d *daemonUnderTest) saleAsync(ref string, amount int64) <-chan response {
	ch := make(chan response, 1)
	go func() { ch <- d.sale(ref, amount) }()
	return ch
}

func TestShutdownLetsTheRunningSaleFinish(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"presentAfterMs": 300})
	first := d.saleAsync("SIGTERM-1", 1000)
	d.waitBusy("waiting_for_card")
	d.stop()
	r := <-first
	r.expect(t, 200, "")
	if !strings.Contains(d.logs.String(), "shutting down") {
		t.Error("shutdown not logged")
	}
}

// A sale whose card never comes outlives the shutdown grace: the daemon
// cancels it, still answers the ECR (transaction_cancelled, nothing
// charged) and exits; the reference stays usable.
func TestShutdownGraceCancelsAWaitingSaleAndAnswersIt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDaemonWith(t, func(m *Main) { m.ShutdownGrace = 300 * time.Millisecond }, dir)
	d.card(map[string]any{"present": false})
	first := d.saleAsync("GRACE-1", 1000)
	d.waitBusy("waiting_for_card")
	d.stop()
	r := <-first
	r.expect(t, 409, "transaction_cancelled")
	if r.str("status") != "cancelled" || !strings.Contains(r.obj("error")["message"].(string), "shut down") {
		t.Fatalf("%s", r.raw)
	}

	d = startDaemon(t, dir)
	if st := d.post("/cashless/v1/status", map[string]any{}); st.obj("openBatch")["transactionCount"] != float64(0) {
		t.Fatalf("the cancelled sale joined the batch: %s", st.raw)
	}
	d.card(map[string]any{"presentAfterMs": 0})
	d.sale("GRACE-1", 1000).expect(t, 200, "")
}
