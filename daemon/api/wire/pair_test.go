package wire

import (
	"encoding/hex"
	"testing"
	"time"
)

// The README's worked example of a signed request ("Signed requests"):
// the same inputs must give the same signature.
func TestSignatureTestVector(t *testing.T) {
	t.Parallel()
	const (
		key   = "ck_live_0123456789abcdef0123456789abcdef01234567"
		nonce = "3f9c2a7e5b1d4c8a9e0f6b2d7a4c1e95"
		body  = `{"amount":2500,"currency":"USD","reference":"POS-ORDER-0821"}`
	)
	ts := "1781172911"
	if got := time.Unix(1781172911, 0).UTC().Format(time.RFC3339); got != "2026-06-11T10:15:11Z" {
		t.Fatalf("the example's time is %s", got)
	}
	if got := hex.EncodeToString(SigningKey(key)); got != "1b0b1bdacfc18383048733d88aaa948df6bb9d174b5603b75df49cca6bb05a64" {
		t.Errorf("signing key %s", got)
	}
	want := "CASHLESS-HMAC-SHA256\nPOST\n/cashless/v1/sale\n1781172911\n3f9c2a7e5b1d4c8a9e0f6b2d7a4c1e95\n" +
		"9b90f67a3601c7d5ab10c36e5faf798700f183a948ebd836e87f48fd03261989"
	if got := CanonicalString("POST", PathSale, ts, nonce, []byte(body)); got != want {
		t.Errorf("canonical string:\n%s", got)
	}
	if got := Sign(SigningKey(key), "POST", PathSale, ts, nonce, []byte(body)); got != "788cfb64555400d1147d3def0bf75cafd280dcea7f1d286c915b4f1e93f42888" {
		t.Errorf("signature %s", got)
	}
	// Swapping two fields' values (Fiuu's values-only signature would not
	// see it) changes the signature.
	swapped := `{"amount":2500,"currency":"POS-ORDER-0821","reference":"USD"}`
	if Sign(SigningKey(key), "POST", PathSale, ts, nonce, []byte(swapped)) == Sign(SigningKey(key), "POST", PathSale, ts, nonce, []byte(body)) {
		t.Error("swapped values sign the same")
	}
}
