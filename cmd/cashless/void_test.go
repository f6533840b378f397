package main

import "testing"

func TestVoidAndTotals(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	d.card(t, `{"pan":"4242424242424242","presentAfterMs":0}`)
	d.cli(t, "sale", "--amount", "2500", "--currency", "USD", "--reference", "POS-1").want(t, 0)
	d.cli(t, "sale", "--amount", "700", "--currency", "USD", "--reference", "POS-2").want(t, 0)
	d.cli(t, "totals").want(t, 0, "OPEN", "2 transactions", "net USD 32.00", "sales            2  gross USD 32.00")
	d.cli(t, "void", "--original", "POS-1", "--reference", "VOID-1").
		want(t, 0, "VOIDED  USD 25.00", "of POS-1", "reference VOID-1")
	d.cli(t, "void", "--original", "POS-1", "--reference", "VOID-1").want(t, 0, "replayed")
	d.cli(t, "void", "--original", "POS-1", "--reference", "VOID-2").want(t, exitRefused, "ERROR 422 void_not_allowed")
	d.cli(t, "totals", "--print").want(t, 0, "1 transactions", "net USD 7.00", "X-report printed")
	d.cli(t, "batch-close", "--reference", "EOD-1").want(t, 0, "CLOSED")
	d.cli(t, "void", "--original", "POS-2", "--reference", "VOID-3").want(t, exitRefused, "ERROR 422 void_not_allowed", "refund")
	d.cli(t, "void", "--original", "POS-2").want(t, exitUsage, "missing --reference")
}
