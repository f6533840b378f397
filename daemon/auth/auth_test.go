package auth

import (
	"strings"
	"testing"
)

type memKeys struct{ h []byte }

func (m *memKeys) KeyHash() ([]byte, error)  { return m.h, nil }
func (m *memKeys) SetKeyHash(h []byte) error { m.h = h; return nil }

func TestRotateInvalidatesThePreviousKey(t *testing.T) {
	t.Parallel()
	store := &memKeys{}
	k, _ := New(store, false)
	if k.HasKey() || k.Verify("") || k.Verify(SimulatorKey) {
		t.Fatal("no key is set: nothing may verify")
	}
	first, err := k.Rotate()
	if err != nil || !strings.HasPrefix(first, LivePrefix) || len(first) != len(LivePrefix)+40 {
		t.Fatalf("%v %q", err, first)
	}
	if !k.Verify(first) || k.Verify(first+"x") || k.Verify(SimulatorKey) {
		t.Fatal("verify")
	}
	second, _ := k.Rotate()
	if k.Verify(first) || !k.Verify(second) {
		t.Fatal("rotation")
	}
	if strings.Contains(string(store.h), second) {
		t.Fatal("key stored in clear")
	}
	reloaded, _ := New(store, false)
	if !reloaded.Verify(second) {
		t.Fatal("reload")
	}
}

func TestSimulatorKeyOnlyInSimulatorMode(t *testing.T) {
	t.Parallel()
	k, _ := New(&memKeys{}, true)
	if !k.Verify(SimulatorKey) || k.Verify("ck_test_other") {
		t.Fatal("simulator key")
	}
}

func BenchmarkVerify(b *testing.B) {
	k, _ := New(&memKeys{}, false)
	key, _ := k.Rotate()
	for b.Loop() {
		k.Verify(key)
	}
}
