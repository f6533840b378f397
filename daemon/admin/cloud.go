package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/relaylink"
)

// CloudBinder binds and unbinds the terminal on the cloud relay (the
// daemon's cloud link).
type CloudBinder interface {
	// Bind binds with a one-time key, or by express binding when key is "".
	Bind(ctx context.Context, key string) (relaylink.BindAnswer, error)
	Unbind(ctx context.Context) (relaylink.BindAnswer, error)
}

// cloudBindRequest is the body of "POST /cloud/bind".
type cloudBindRequest struct {
	Key string `json:"key"`
}

// cloudAnswer is the body of the cloud requests' answers: the relay's
// answer, or why it could not be asked.
type cloudAnswer struct {
	relaylink.BindAnswer
	Failure string `json:"failure,omitempty"`
}

// WithCloud serves "POST /cloud/bind" and "POST /cloud/unbind" from b, and
// logs each binding change on log (never the key). A nil b answers that no
// relay is configured.
func WithCloud(b CloudBinder, log zerolog.Logger) Option {
	return func(mux *http.ServeMux) {
		answer := func(w http.ResponseWriter, what string, ans relaylink.BindAnswer, err error) {
			w.Header().Set("Content-Type", "application/json")
			if err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_ = json.NewEncoder(w).Encode(cloudAnswer{Failure: err.Error()})
				return
			}
			audit := log.Level(zerolog.InfoLevel)
			audit.Info().Str("event", "cloud_"+what).Bool("bound", ans.Bound).Str("merchantId", ans.MerchantID).
				Str("error", ans.Error).Str("via", ViaAdminSocket).Msg("cloud " + what + " asked")
			_ = json.NewEncoder(w).Encode(cloudAnswer{BindAnswer: ans})
		}
		mux.HandleFunc("POST /cloud/bind", func(w http.ResponseWriter, r *http.Request) {
			var req cloudBindRequest
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
				answer(w, "bind", relaylink.BindAnswer{}, errors.New("unreadable request"))
				return
			}
			if b == nil {
				answer(w, "bind", relaylink.BindAnswer{}, ErrNoCloud)
				return
			}
			ans, err := b.Bind(r.Context(), strings.TrimSpace(req.Key))
			answer(w, "bind", ans, err)
		})
		mux.HandleFunc("POST /cloud/unbind", func(w http.ResponseWriter, r *http.Request) {
			if b == nil {
				answer(w, "unbind", relaylink.BindAnswer{}, ErrNoCloud)
				return
			}
			ans, err := b.Unbind(r.Context())
			answer(w, "unbind", ans, err)
		})
	}
}

// ErrNoCloud means the running daemon has no cloud relay configured.
var ErrNoCloud = errors.New("no cloud relay is configured (cloud.url, or serve --cloud URL)")

// CloudBind asks the daemon running on dataDir to bind the terminal on the
// cloud relay with a one-time key ("" for an express bind). It returns
// ErrNotRunning when no daemon answers; a relay that refused is an answer
// with Bound false and its Error, not an error.
func CloudBind(ctx context.Context, dataDir, key string) (relaylink.BindAnswer, error) {
	body, err := json.Marshal(cloudBindRequest{Key: key})
	if err != nil {
		return relaylink.BindAnswer{}, err
	}
	return cloudRequest(ctx, dataDir, "bind", string(body))
}

// CloudUnbind asks the daemon running on dataDir to drop the terminal's
// binding on the cloud relay.
func CloudUnbind(ctx context.Context, dataDir string) (relaylink.BindAnswer, error) {
	return cloudRequest(ctx, dataDir, "unbind", "")
}

func cloudRequest(ctx context.Context, dataDir, what, body string) (relaylink.BindAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://admin/cloud/"+what, strings.NewReader(body))
	if err != nil {
		return relaylink.BindAnswer{}, err
	}
	resp, err := do(dataDir, req)
	if err != nil {
		return relaylink.BindAnswer{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
		return relaylink.BindAnswer{}, errors.New("the running daemon does not serve cloud requests (an older version)")
	}
	var ans cloudAnswer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return relaylink.BindAnswer{}, err
	}
	if ans.Failure != "" {
		return relaylink.BindAnswer{}, fmt.Errorf("cloud %s: %s", what, ans.Failure)
	}
	return ans.BindAnswer, nil
}
