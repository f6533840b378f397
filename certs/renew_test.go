package certs

import (
	"testing"
	"time"
)

func TestRenewalKeepsTheTerminalKeyPair(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	first, err := DevIdentity{Dir: dir, Hosts: []string{"terminal.shop.lan"}, Now: now}.Ensure()
	if err != nil || !first.Issued {
		t.Fatalf("%+v %v", first, err)
	}
	// Re-issued (cashlessd certs issue, as at a renewal): a new
	// certificate, the same public key.
	again, err := DevIdentity{Dir: dir, Hosts: []string{"terminal.shop.lan"}, Now: now.Add(time.Hour)}.Issue(false)
	if err != nil || !again.Issued {
		t.Fatalf("%+v %v", again, err)
	}
	if Fingerprint(again.Leaf) == Fingerprint(first.Leaf) {
		t.Fatal("the certificate was not re-issued")
	}
	if PublicKeyFingerprint(again.Leaf) != PublicKeyFingerprint(first.Leaf) {
		t.Error("the renewal changed the terminal's key pair: pinned ECRs would stop trusting it")
	}
}
