package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

// HealthReport is the running daemon's view of itself, the answer of the
// read-only "GET /health" request: what its drivers have observed of its
// devices, its host link's recent outcomes, whether a payment can succeed,
// where its API listens and whether a shared key is set. It never carries
// a key or its hash.
type HealthReport struct {
	Status       string               `json:"status"` // ready or busy
	CanTransact  bool                 `json:"canTransact"`
	Reasons      []daemon.Reason      `json:"reasons,omitempty"`
	Devices      daemon.Devices       `json:"devices"`
	HostOutcomes *daemon.HostOutcomes `json:"hostOutcomes,omitempty"`
	// Cloud is the link to the cloud relay (state off when none is
	// configured).
	Cloud daemon.CloudHealth `json:"cloud"`
	// Listen is the API's address, as the listener bound it.
	Listen string `json:"listen"`
	// KeySet: a live shared key's hash is stored.
	KeySet    bool      `json:"keySet"`
	Simulator bool      `json:"simulator"`
	At        time.Time `json:"at"`
}

// StatusSource is the engine as the health request sees it.
type StatusSource interface {
	Status(ctx context.Context) (daemon.StatusInfo, error)
}

// KeyState tells whether a live shared key is set.
type KeyState interface {
	HasKey() bool
}

// HealthSource is what the health request reports on.
type HealthSource struct {
	Engine    StatusSource
	Keys      KeyState
	Listen    string
	Simulator bool
}

// Option adds a request to the admin socket.
type Option func(*http.ServeMux)

// WithHealth serves "GET /health" from h.
func WithHealth(h HealthSource) Option {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			rep, err := h.report(r.Context())
			if err != nil {
				w.WriteHeader(http.StatusInternalServerError)
				_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
				return
			}
			_ = json.NewEncoder(w).Encode(rep)
		})
	}
}

func (h HealthSource) report(ctx context.Context) (HealthReport, error) {
	st, err := h.Engine.Status(ctx)
	if err != nil {
		return HealthReport{}, err
	}
	rep := HealthReport{Status: "ready", CanTransact: st.Health.CanTransact, Reasons: st.Health.Reasons,
		Devices: st.Health.Devices, HostOutcomes: st.Health.HostOutcomes, Cloud: st.Health.Cloud, Listen: h.Listen,
		Simulator: h.Simulator, At: time.Now().UTC()}
	if st.Busy {
		rep.Status = "busy"
	}
	if h.Keys != nil {
		rep.KeySet = h.Keys.HasKey()
	}
	return rep, nil
}

// ErrNoHealth means the daemon answers on the socket but has no health
// request (an older version).
var ErrNoHealth = errors.New("the running daemon does not answer the health request")

// Health asks the daemon running on dataDir for its health report. It
// returns ErrNotRunning when no daemon answers.
func Health(ctx context.Context, dataDir string) (HealthReport, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://admin/health", nil)
	if err != nil {
		return HealthReport{}, err
	}
	resp, err := do(dataDir, req)
	if err != nil {
		return HealthReport{}, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return HealthReport{}, ErrNoHealth
	default:
		var body struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return HealthReport{}, fmt.Errorf("daemon answered %s: %s", resp.Status, body.Error)
	}
	var rep HealthReport
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		return HealthReport{}, err
	}
	return rep, nil
}
