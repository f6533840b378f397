package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// memStore keeps the shared key's hash and the credential records in
// memory, as the daemon's store keeps them in bbolt.
type memStore struct {
	memKeys
	records map[string][]byte
}

func (m *memStore) Credentials() ([][]byte, error) {
	var out [][]byte
	for _, r := range m.records {
		out = append(out, r)
	}
	return out, nil
}

func (m *memStore) PutCredential(id string, record []byte) error {
	if m.records == nil {
		m.records = map[string][]byte{}
	}
	m.records[id] = append([]byte(nil), record...)
	return nil
}

// clock is a movable time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newKeys(t *testing.T, store *memStore, c *clock) *Keys {
	t.Helper()
	k, err := New(store, false)
	if err != nil {
		t.Fatal(err)
	}
	k.SetClock(c.now)
	return k
}

func TestPairingCodesAreSingleUseAndExpire(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)}
	k := newKeys(t, &memStore{}, c)
	code, err := k.NewPairingCode(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(code.Code) != CodeLength+1 || code.Code[CodeLength/2] != '-' || !code.ExpiresAt.Equal(c.t.Add(DefaultCodeTTL)) {
		t.Fatalf("code %+v", code)
	}
	for _, r := range strings.ReplaceAll(code.Code, "-", "") {
		if !strings.ContainsRune(CodeAlphabet, r) {
			t.Fatalf("%q is outside the alphabet", r)
		}
	}
	if _, err := k.Pair("ZZZZZZZZ", "guess", false); !errors.Is(err, ErrBadCode) {
		t.Fatalf("a wrong code: %v", err)
	}
	typed := " " + strings.ToLower(code.Code) + " "
	p, err := k.Pair(typed, "Lane 1", false)
	if err != nil || !strings.HasPrefix(p.ECR.ID, "ecr_") || !strings.HasPrefix(p.Key, LivePrefix) {
		t.Fatalf("pair: %+v %v", p, err)
	}
	if strings.Join(scopeNames(p.ECR.Scopes), ",") != "payments,refunds" {
		t.Errorf("default scopes %v", p.ECR.Scopes)
	}
	if _, err := k.Pair(code.Code, "again", false); !errors.Is(err, ErrBadCode) {
		t.Fatalf("a used code paired again: %v", err)
	}
	late, _ := k.NewPairingCode(time.Minute, []Scope{ScopePayments})
	c.t = c.t.Add(time.Minute)
	if _, err := k.Pair(late.Code, "late", false); !errors.Is(err, ErrBadCode) {
		t.Fatalf("an expired code paired: %v", err)
	}
	if _, err := k.NewPairingCode(MaxCodeTTL+time.Second, nil); err == nil {
		t.Error("a code may not live longer than MaxCodeTTL")
	}
}

func TestCodesAreNotRepeated(t *testing.T) {
	t.Parallel()
	k := newKeys(t, &memStore{}, &clock{t: time.Now()})
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		c, err := k.NewPairingCode(0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.Code] {
			t.Fatalf("code %s came twice in 200", c.Code)
		}
		seen[c.Code] = true
	}
	if len(k.codes) > maxLiveCodes {
		t.Errorf("%d codes wait at once, at most %d", len(k.codes), maxLiveCodes)
	}
}

func TestCredentialsScopesRotationAndRevocationPersist(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	c := &clock{t: time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)}
	k := newKeys(t, store, c)
	shared, err := k.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	pair := func(name string, scopes ...Scope) Paired {
		code, err := k.NewPairingCode(0, scopes)
		if err != nil {
			t.Fatal(err)
		}
		p, err := k.Pair(code.Code, name, false)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := pair("A", ScopePayments)
	c.t = c.t.Add(time.Second)
	b := pair("B")
	if p, ok := k.Authenticate(shared); !ok || p.ECRID != SharedID || !p.Has(ScopeAdmin) {
		t.Fatalf("shared key: %+v %v", p, ok)
	}
	if p, ok := k.Authenticate(a.Key); !ok || p.ECRID != a.ECR.ID || p.Has(ScopeRefunds) || !p.Has(ScopePayments) {
		t.Fatalf("A: %+v %v", p, ok)
	}
	if !k.Paired() {
		t.Error("Paired is false with two ECRs")
	}

	// Rotation with grace: both keys until it ends, then the new one only.
	newKey, info, err := k.RotateECR(b.ECR.ID, time.Hour)
	if err != nil || !info.GraceUntil.Equal(c.t.Add(time.Hour)) {
		t.Fatalf("rotate: %+v %v", info, err)
	}
	for _, key := range []string{b.Key, newKey} {
		if p, ok := k.Authenticate(key); !ok || p.ECRID != b.ECR.ID {
			t.Fatalf("during the grace: %+v %v", p, ok)
		}
	}
	c.t = c.t.Add(time.Hour)
	if _, ok := k.Authenticate(b.Key); ok {
		t.Fatal("the previous key works after the grace")
	}

	// Scope change and revocation, then a restart from the store.
	if _, err := k.SetScopes(a.ECR.ID, []Scope{ScopeRefunds, ScopePayments}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Revoke(b.ECR.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := k.SetScopes(b.ECR.ID, []Scope{ScopePayments}); !errors.Is(err, ErrRevoked) {
		t.Fatalf("re-scoping a revoked ECR: %v", err)
	}
	if _, err := k.Revoke("ecr_000000000000"); !errors.Is(err, ErrNoSuchECR) {
		t.Fatalf("revoking an unknown ECR: %v", err)
	}
	again := newKeys(t, store, c)
	if _, ok := again.Authenticate(newKey); ok {
		t.Fatal("a revoked key works after a restart")
	}
	if p, ok := again.Authenticate(a.Key); !ok || !p.Has(ScopeRefunds) {
		t.Fatalf("A after a restart: %+v %v", p, ok)
	}
	if _, ok := again.Authenticate(shared); !ok {
		t.Fatal("the shared key stopped working")
	}
	list := again.ECRs()
	if len(list) != 2 || list[0].ID != a.ECR.ID || list[1].RevokedAt.IsZero() {
		t.Fatalf("list: %+v", list)
	}
	for id, rec := range store.records {
		for _, secret := range []string{a.Key, b.Key, newKey, shared} {
			if strings.Contains(string(rec), secret) {
				t.Errorf("record %s holds a key", id)
			}
		}
	}
}

func TestParseScopes(t *testing.T) {
	t.Parallel()
	s, err := ParseScopes(" refunds, payments,refunds ")
	if err != nil || strings.Join(scopeNames(s), ",") != "payments,refunds" {
		t.Fatalf("%v %v", s, err)
	}
	for _, bad := range []string{"", "payment", "payments,root"} {
		if _, err := ParseScopes(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func scopeNames(s []Scope) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}
