package main

import (
	"strings"
	"testing"
	"time"
)

// TestPreauthLifecycle runs a pre-auth's steps through the CLI against a
// real cashlessd: increment (approved and declined), list, release, a
// completion refused after the release, and a hold that expires when the
// simulated clock passes its validity.
func TestPreauthLifecycle(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	d.card(t, `{"pan":"5555555555554444","presentAfterMs":0}`)
	d.cli(t, "preauth", "--amount", "10000", "--currency", "USD", "--reference", "HOTEL-1").want(t, 0)
	d.cli(t, "preauth", "--amount", "2000", "--currency", "USD", "--reference", "HOTEL-2").want(t, 0)
	inc := []string{"preauth", "increment", "--original", "HOTEL-1", "--amount", "2500", "--reference", "HOTEL-1-INC"}
	r := d.cli(t, inc...).want(t, 0, "APPROVED  increment  +USD 25.00  held USD 125.00", "pre-auth HOTEL-1", "expires ")
	if !strings.Contains(r.stdout, "tpay_") {
		t.Errorf("increment: %q", r.stdout)
	}
	d.cli(t, inc...).want(t, 0, "replayed")
	d.cli(t, "preauth", "increment", "--original", "HOTEL-1", "--amount", "2600", "--reference", "HOTEL-1-INC").
		want(t, exitRefused, "ERROR 409 duplicate_reference")
	d.cli(t, "preauth", "increment", "--original", "HOTEL-1", "--amount", "90000", "--reference", "HOTEL-1-INC-2").
		want(t, exitNotApproved, "DECLINED insufficient_funds", "the hold is unchanged")
	d.cli(t, "preauth", "increment", "--original", "HOTEL-1", "--reference", "HOTEL-1-INC-3").
		want(t, exitUsage)
	r = d.cli(t, "preauth", "list").want(t, 0, "OPEN  HOTEL-1  held USD 125.00  (authorised USD 100.00)  mastercard ************4444", "OPEN  HOTEL-2")
	if strings.Index(r.stdout, "HOTEL-1") > strings.Index(r.stdout, "HOTEL-2") {
		t.Errorf("list not oldest first: %q", r.stdout)
	}
	d.cli(t, "--json", "preauth", "list").want(t, 0, `"heldAmount":12500`, `"capturedAmount":0`)

	d.cli(t, "preauth", "release", "--original", "HOTEL-1", "--reference", "HOTEL-1-REL").
		want(t, 0, "APPROVED  release  released USD 125.00", "pre-auth HOTEL-1")
	d.cli(t, "preauth", "release", "--original", "HOTEL-1", "--reference", "HOTEL-1-REL").want(t, 0, "replayed")
	d.cli(t, "complete", "--original", "HOTEL-1", "--amount", "100", "--currency", "USD", "--reference", "HOTEL-1-FINAL").
		want(t, exitRefused, "ERROR 422 preauth_released")
	d.cli(t, "preauth", "list").want(t, 0, "OPEN  HOTEL-2")

	// Eight days later HOTEL-2 has expired and was released.
	d.post(t, "/simulator/v1/clock", `{"advanceSeconds":691200}`)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(d.cli(t, "preauth", "list").stdout, "no pre-auth holds funds") {
		if time.Now().After(deadline) {
			t.Fatal("the expired hold is still listed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.cli(t, "complete", "--original", "HOTEL-2", "--amount", "100", "--currency", "USD", "--reference", "HOTEL-2-FINAL").
		want(t, exitRefused, "ERROR 422 preauth_expired")
}
