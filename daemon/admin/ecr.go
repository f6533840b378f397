package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/audit"
	"github.com/vinr/cashlessd/daemon/auth"
)

// ECRManager makes pairing codes and manages the paired ECRs' credentials
// (*auth.Keys).
type ECRManager interface {
	NewPairingCode(ttl time.Duration, scopes []auth.Scope) (auth.PairingCode, error)
	ECRs() []auth.ECRInfo
	Revoke(id string) (auth.ECRInfo, error)
	SetScopes(id string, scopes []auth.Scope) (auth.ECRInfo, error)
	SetSignedRequests(id string, required bool) (auth.ECRInfo, error)
	RotateECR(id string, grace time.Duration) (string, auth.ECRInfo, error)
}

// PairingDisplay shows a pairing code on the terminal (*daemon.Engine).
type PairingDisplay interface {
	ShowPairingCode(ctx context.Context, p daemon.PairingCode) daemon.PairingShown
}

// ECRSource is what the pairing and ECR requests work on.
type ECRSource struct {
	ECRs ECRManager
	// Display shows the code on the terminal; nil shows it nowhere but
	// in the answer.
	Display PairingDisplay
	// TerminalID, Address (the API's host:port) and Fingerprint (hex
	// SHA-256 of its certificate) go into the code's QR payload.
	TerminalID, Address string
	Fingerprint         func() string
	// Audit records each change; OnChange is called after one (the LAN
	// announcement's paired flag).
	Audit    *audit.Log
	OnChange func()
}

// PairingAnswer is a new pairing code and where it was shown.
type PairingAnswer struct {
	Code              string       `json:"code"`
	ExpiresAt         time.Time    `json:"expiresAt"`
	Scopes            []auth.Scope `json:"scopes"`
	QR                string       `json:"qr"`
	CertificateSHA256 string       `json:"certificateSha256"`
	TerminalID        string       `json:"terminalId"`
	Address           string       `json:"address"`
	daemon.PairingShown
}

// PairingRequest asks for a pairing code.
type PairingRequest struct {
	// TTLSeconds is the code's lifetime (0: 10 minutes).
	TTLSeconds int64        `json:"ttlSeconds"`
	Scopes     []auth.Scope `json:"scopes,omitempty"`
}

// ECRChange changes one paired ECR.
type ECRChange struct {
	Scopes []auth.Scope `json:"scopes,omitempty"`
	// GraceSeconds is how long the previous key keeps working after a
	// rotation.
	GraceSeconds int64 `json:"graceSeconds,omitempty"`
	Signed       *bool `json:"signedRequests,omitempty"`
}

// ECRAnswer is one ECR after a change; Key is set once, after a rotation.
type ECRAnswer struct {
	auth.ECRInfo
	Key string `json:"key,omitempty"`
}

// QRPayload is what a pairing code's QR code says: a cashless:// URI an
// ECR's pairing screen (or `cashless pair`) reads.
func QRPayload(address, code, fingerprint, terminalID string) string {
	q := url.Values{}
	q.Set("addr", address)
	q.Set("code", code)
	q.Set("fp", fingerprint)
	q.Set("tid", terminalID)
	return "cashless://pair?" + q.Encode()
}

// WithECRs serves "POST /pair", "GET /ecrs" and "POST /ecrs/{id}/{revoke,
// scope,rotate,signing}".
func WithECRs(src ECRSource) Option {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("POST /pair", func(w http.ResponseWriter, r *http.Request) {
			var req PairingRequest
			if err := decodeBody(r, &req); err != nil {
				writeError(w, http.StatusBadRequest, err)
				return
			}
			pc, err := src.ECRs.NewPairingCode(time.Duration(req.TTLSeconds)*time.Second, req.Scopes)
			if err != nil {
				writeError(w, http.StatusBadRequest, err)
				return
			}
			fp := ""
			if src.Fingerprint != nil {
				fp = src.Fingerprint()
			}
			ans := PairingAnswer{Code: pc.Code, ExpiresAt: pc.ExpiresAt, Scopes: pc.Scopes, CertificateSHA256: fp,
				TerminalID: src.TerminalID, Address: src.Address, QR: QRPayload(src.Address, pc.Code, fp, src.TerminalID)}
			if src.Display != nil {
				ans.PairingShown = src.Display.ShowPairingCode(r.Context(), daemon.PairingCode{Code: pc.Code,
					ExpiresAt: pc.ExpiresAt, QR: ans.QR, Fingerprint: fp})
			}
			src.Audit.Record("pairing_code_made", "").Str("expiresAt", pc.ExpiresAt.UTC().Format(time.RFC3339)).
				Strs("scopes", scopeStrings(pc.Scopes)).Send()
			writeJSON(w, ans)
		})
		mux.HandleFunc("GET /ecrs", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, src.ECRs.ECRs())
		})
		mux.HandleFunc("POST /ecrs/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
			id, action := r.PathValue("id"), r.PathValue("action")
			var req ECRChange
			if err := decodeBody(r, &req); err != nil {
				writeError(w, http.StatusBadRequest, err)
				return
			}
			var (
				ans ECRAnswer
				err error
			)
			switch action {
			case "revoke":
				ans.ECRInfo, err = src.ECRs.Revoke(id)
			case "scope":
				ans.ECRInfo, err = src.ECRs.SetScopes(id, req.Scopes)
			case "rotate":
				ans.Key, ans.ECRInfo, err = src.ECRs.RotateECR(id, time.Duration(req.GraceSeconds)*time.Second)
			case "signing":
				if req.Signed == nil {
					err = errors.New("say signedRequests true or false")
					break
				}
				ans.ECRInfo, err = src.ECRs.SetSignedRequests(id, *req.Signed)
			default:
				writeError(w, http.StatusNotFound, fmt.Errorf("no ECR action %q", action))
				return
			}
			switch {
			case errors.Is(err, auth.ErrNoSuchECR):
				writeError(w, http.StatusNotFound, err)
				return
			case err != nil:
				writeError(w, http.StatusBadRequest, err)
				return
			}
			e := src.Audit.Record("ecr_"+action, id).Strs("scopes", scopeStrings(ans.Scopes))
			if !ans.GraceUntil.IsZero() {
				e = e.Str("graceUntil", ans.GraceUntil.UTC().Format(time.RFC3339))
			}
			e.Send()
			if src.OnChange != nil {
				src.OnChange()
			}
			writeJSON(w, ans)
		})
	}
}

func scopeStrings(s []auth.Scope) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// NewPairingCode asks the daemon running on dataDir for a pairing code.
func NewPairingCode(ctx context.Context, dataDir string, req PairingRequest) (PairingAnswer, error) {
	var ans PairingAnswer
	return ans, call(ctx, dataDir, http.MethodPost, "/pair", req, &ans)
}

// ListECRs asks the daemon running on dataDir for its paired ECRs.
func ListECRs(ctx context.Context, dataDir string) ([]auth.ECRInfo, error) {
	var out []auth.ECRInfo
	return out, call(ctx, dataDir, http.MethodGet, "/ecrs", nil, &out)
}

// ChangeECR asks the daemon running on dataDir to revoke, re-scope,
// rotate or change the signing of one ECR (action).
func ChangeECR(ctx context.Context, dataDir, id, action string, change ECRChange) (ECRAnswer, error) {
	var ans ECRAnswer
	return ans, call(ctx, dataDir, http.MethodPost, "/ecrs/"+url.PathEscape(id)+"/"+action, change, &ans)
}

// call sends one JSON request to the admin socket and reads the answer.
func call(ctx context.Context, dataDir, method, path string, body, out any) error {
	var rd *jsonBody
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = &jsonBody{raw: raw}
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://admin"+path, rd.reader())
	if err != nil {
		return err
	}
	resp, err := do(dataDir, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		if resp.StatusCode == http.StatusNotFound && e.Error == "" {
			return errors.New("the running daemon does not manage ECRs (an older version)")
		}
		return fmt.Errorf("daemon refused: %s", e.Error)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// jsonBody is a request body that may be absent.
type jsonBody struct{ raw []byte }

func (b *jsonBody) reader() io.Reader {
	if b == nil {
		return http.NoBody
	}
	return bytes.NewReader(b.raw)
}

// decodeBody reads a JSON body; an empty one leaves v as it is.
func decodeBody(r *http.Request, v any) error {
	err := json.NewDecoder(r.Body).Decode(v)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
