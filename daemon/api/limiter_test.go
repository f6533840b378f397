package api

import (
	"testing"
	"time"
)

func TestFailedKeyLimiter(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := newFailedKeyLimiter(6*time.Second, 3)
	l.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if _, b := l.blocked("10.0.0.1"); b {
			t.Fatalf("blocked after %d failures", i)
		}
		l.failed("10.0.0.1")
	}
	wait, b := l.blocked("10.0.0.1")
	if !b || wait <= 0 || wait > 6*time.Second {
		t.Fatalf("%v %v", wait, b)
	}
	if _, b := l.blocked("10.0.0.2"); b {
		t.Fatal("another client is blocked")
	}
	now = now.Add(6 * time.Second)
	if _, b := l.blocked("10.0.0.1"); b {
		t.Fatal("still blocked after the refill")
	}
}

func TestFailedKeyLimiterStaysBounded(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := newFailedKeyLimiter(time.Second, 2)
	l.now = func() time.Time { return now }
	for i := 0; i < 3*maxClients; i++ {
		l.failed(time.Duration(i).String())
		now = now.Add(time.Millisecond)
	}
	if len(l.clients) > maxClients {
		t.Fatalf("%d clients", len(l.clients))
	}
}
