package faults

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/daemon/admin"
	"github.com/vinr/cashlessd/daemon/api"
	"github.com/vinr/cashlessd/daemon/auth"
)

// PairingConfig sizes the brute-force round on pairing codes.
type PairingConfig struct {
	// Guessers are the attacking LAN addresses (127.0.0.10, .11, …),
	// each guessing as fast as it is answered.
	Guessers int
	// For is how long they guess.
	For time.Duration
}

// RunPairing runs the full brute-force round: 8 addresses guessing for a
// whole code lifetime (10 minutes).
func RunPairing(ctx context.Context, opt Options) (*Report, error) {
	return RunPairingWith(ctx, opt, PairingConfig{Guessers: 8, For: auth.DefaultCodeTTL})
}

// RunPairingWith makes a pairing code on the terminal, lets cfg.Guessers
// addresses try random codes on POST /cashless/v1/pair for cfg.For while
// the ECR keeps calling status, then pairs with the real code. It checks
// that no guess succeeded, that the codes looked at stayed within the
// global limit (PairGlobalBurst, then one per PairGlobalEvery), that the
// ECR was served throughout and that the real code still works once the
// limit allows; and it states the arithmetic of a guess succeeding within
// a code's lifetime.
func RunPairingWith(ctx context.Context, opt Options, cfg PairingConfig) (*Report, error) {
	h, err := NewHarness(opt, "")
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if _, err := h.startDaemon(ctx); err != nil {
		return h.Report, err
	}
	pool, err := certs.Pool(filepath.Join(h.dataDir, "certs", certs.CAFile))
	if err != nil {
		return h.Report, err
	}
	code, err := admin.NewPairingCode(ctx, h.dataDir, admin.PairingRequest{TTLSeconds: int64((cfg.For + time.Minute).Seconds())})
	if err != nil {
		return h.Report, fmt.Errorf("making a pairing code: %w", err)
	}

	var (
		mu                              sync.Mutex
		looked, limited, paired, others int
		firstOther                      string
	)
	begin := time.Now()
	until := begin.Add(cfg.For)
	var wg sync.WaitGroup
	for g := 0; g < cfg.Guessers; g++ {
		wg.Add(1)
		go func(ip string) {
			defer wg.Done()
			c := keyless(pool, ip)
			defer c.CloseIdleConnections()
			for time.Now().Before(until) && ctx.Err() == nil {
				status, body := pairAttempt(ctx, c, h.ecr.Base, randomCode(), "guesser")
				mu.Lock()
				switch status {
				case http.StatusUnauthorized:
					looked++
				case http.StatusTooManyRequests:
					limited++
				case http.StatusOK:
					paired++
				default:
					others++
					if firstOther == "" {
						firstOther = fmt.Sprintf("HTTP %d %.120s", status, body)
					}
				}
				mu.Unlock()
				if status == http.StatusTooManyRequests {
					// A real attacker gains nothing by waiting less: every
					// refused attempt is refused before the code is read.
					time.Sleep(200 * time.Millisecond)
				}
			}
		}("127.0.0." + strconv.Itoa(10+g))
	}
	var ecr latencies
	for time.Now().Before(until) && ctx.Err() == nil {
		h.ecrStatus(ctx, &ecr)
		time.Sleep(500 * time.Millisecond)
	}
	wg.Wait()
	elapsed := time.Since(begin)

	// The global bound on codes looked at in elapsed, with one token of
	// slack for the moment the round starts and ends.
	bound := api.PairGlobalBurst + int(math.Ceil(elapsed.Seconds()/api.PairGlobalEvery.Seconds())) + 1
	bad := 0
	if paired > 0 {
		bad++
		h.Report.Violate(Violation{VLoad, fmt.Sprintf("%d random pairing codes were accepted", paired)})
	}
	if looked > bound {
		bad++
		h.Report.Violate(Violation{VLoad, fmt.Sprintf("%d pairing codes were looked at in %s, above the limit of %d", looked, elapsed.Round(time.Second), bound)})
	}
	if others > 0 {
		bad++
		h.Report.Violate(Violation{VLoad, fmt.Sprintf("%d pairing attempts got an unexpected answer, first: %s", others, firstOther)})
	}
	if ecr.failed > 0 || len(ecr.took) == 0 {
		bad++
		h.Report.Violate(Violation{VECR, "the ECR with a key was not served during the brute force: " + ecr.String()})
	}
	h.Report.Add(Row{Class: "hostile", Fault: fmt.Sprintf("brute force of a pairing code: %d LAN addresses guessing random codes for %s",
		cfg.Guessers, elapsed.Round(time.Second)), Times: looked + limited + paired + others,
		Outcome: fmt.Sprintf("%d codes looked at (all wrong; limit %d), %d refused 429 before being read, %d accepted; the ECR's status meanwhile: %s",
			looked, bound, limited, paired, ecr.String()), Bad: bad})

	// The technician's real code still pairs once the limit allows.
	bad = 0
	var status int
	var body string
	for tries := 0; tries < 60 && ctx.Err() == nil; tries++ {
		status, body = pairAttempt(ctx, keyless(pool, ecrAddr), h.ecr.Base, code.Code, "Lane 1")
		if status != http.StatusTooManyRequests {
			break
		}
		time.Sleep(api.PairGlobalEvery)
	}
	if status != http.StatusOK {
		bad++
		h.Report.Violate(Violation{VECR, fmt.Sprintf("the real pairing code did not pair after the brute force: HTTP %d %.120s", status, body)})
	}
	h.Report.Add(Row{Class: "hostile", Fault: "the technician's real pairing code, after the brute force", Times: 1,
		Outcome: fmt.Sprintf("HTTP %d", status), Bad: bad})

	space := math.Pow(float64(len(auth.CodeAlphabet)), auth.CodeLength)
	life := auth.DefaultCodeTTL
	most := float64(api.PairGlobalBurst) + life.Seconds()/api.PairGlobalEvery.Seconds()
	// The sustained rate, past the first burst, and what it adds up to
	// over a lifetime.
	measured := float64(max(looked-api.PairGlobalBurst, 0)) / elapsed.Seconds()
	perLife := float64(min(looked, api.PairGlobalBurst)) + measured*life.Seconds()
	h.Report.Note("Pairing codes: %d symbols of a %d-symbol alphabet = %.0f codes (%.0f bits). The API looks at most %d codes at once, then one per %s, "+
		"from all addresses together (and %d, then one per %s, per address): in a code's %s lifetime at most %.0f codes are tried, so a guess "+
		"succeeds with probability at most %.0f / %.3g = %.2g (one in %.2g). Measured here: %d codes looked at in %s from %d addresses, "+
		"%.3f codes/s after the first burst, so %.0f codes and a chance of %.2g per lifetime. Even a code that never expired would take %.0f years to reach a 50%% chance at the limit.",
		auth.CodeLength, len(auth.CodeAlphabet), space, math.Log2(space), api.PairGlobalBurst, api.PairGlobalEvery,
		api.PairClientBurst, api.PairClientEvery, life, most, most, space, most/space, space/most,
		looked, elapsed.Round(time.Second), cfg.Guessers, measured, perLife, perLife/space,
		space/2*api.PairGlobalEvery.Seconds()/(365.25*24*3600))
	return h.Report, nil
}

// pairAttempt sends one pairing request and returns the status and body.
func pairAttempt(ctx context.Context, c *http.Client, base, code, name string) (int, string) {
	defer c.CloseIdleConnections()
	raw, _ := json.Marshal(map[string]string{"code": code, "name": name})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/cashless/v1/pair", strings.NewReader(string(raw)))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	return res.StatusCode, string(out)
}

// randomCode is a code a guesser tries: uniform over the code space.
func randomCode() string {
	b := make([]byte, auth.CodeLength)
	n := big.NewInt(int64(len(auth.CodeAlphabet)))
	for i := range b {
		v, _ := rand.Int(rand.Reader, n)
		b[i] = auth.CodeAlphabet[v.Int64()]
	}
	return string(b)
}
