package api

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// failedKeyLimiter slows down key guessing: each client address (its TCP
// peer address) may fail authentication a burst of times, then once per
// refill interval; wrong keys over the limit are answered 429. Only
// failures count and only failures are refused: a request with the right
// key is served whatever its address did before, so nobody can lock out
// the ECR by failing in its name. (Keys carry 160 random bits: the limit
// keeps the logs and the CPU quiet, guessing is hopeless anyway.)
type failedKeyLimiter struct {
	mu      sync.Mutex
	every   time.Duration
	burst   int
	clients map[string]*clientLimit
	now     func() time.Time
}

type clientLimit struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxClients bounds the table; idle entries are dropped beyond it.
const maxClients = 1024

func newFailedKeyLimiter(every time.Duration, burst int) *failedKeyLimiter {
	return &failedKeyLimiter{every: every, burst: burst, clients: map[string]*clientLimit{}, now: time.Now}
}

// blocked reports whether the client must wait, and for how long.
func (l *failedKeyLimiter) blocked(client string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[client]
	if c == nil {
		return 0, false
	}
	now := l.now()
	if c.lim.TokensAt(now) >= 1 {
		return 0, false
	}
	need := 1 - c.lim.TokensAt(now)
	return time.Duration(math.Ceil(need * float64(l.every))), true
}

// failed records one failed attempt.
func (l *failedKeyLimiter) failed(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	c := l.clients[client]
	if c == nil {
		if len(l.clients) >= maxClients {
			l.prune(now)
		}
		c = &clientLimit{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.clients[client] = c
	}
	c.seen = now
	c.lim.AllowN(now, 1)
}

// prune drops clients whose bucket has refilled; if none has, the oldest.
func (l *failedKeyLimiter) prune(now time.Time) {
	full := time.Duration(l.burst) * l.every
	var oldest string
	for k, c := range l.clients {
		if now.Sub(c.seen) > full {
			delete(l.clients, k)
		} else if oldest == "" || c.seen.Before(l.clients[oldest].seen) {
			oldest = k
		}
	}
	if len(l.clients) >= maxClients && oldest != "" {
		delete(l.clients, oldest)
	}
}
