package natsnode

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/relaylink"
)

// Directory answers who a terminal key is. The relay's binding service
// implements it.
type Directory interface {
	// TerminalByKey returns the terminal ID bound to a public key, or ""
	// when the key is not bound.
	TerminalByKey(ctx context.Context, publicKey string) (string, error)
	// EnrollSimulator binds a simulator terminal that presented the
	// simulator credential, if it was never bound; it returns the terminal
	// ID now bound to the key ("" when it was not enrolled).
	EnrollSimulator(ctx context.Context, terminalID, publicKey string) (string, error)
	// EnrollPrebound binds a terminal that connects under a terminal ID a
	// merchant prebound (express binding on connect); it returns the
	// terminal ID now bound to the key ("" when it was not prebound).
	EnrollPrebound(ctx context.Context, terminalID, publicKey string) (string, error)
}

// Authenticator is the embedded server's client authentication: the relay's
// own connections by token, terminals by NKey (see link for what each may
// do). It also remembers which connection holds which key, so Kick can
// close it after its binding changed.
type Authenticator struct {
	relayToken string
	dir        Directory
	simulator  bool
	log        zerolog.Logger

	mu      sync.Mutex
	server  *server.Server
	clients map[string]map[uint64]struct{}
}

// NewAuthenticator makes the authenticator. relayToken is the secret the
// relay's own connections present; simulator accepts the simulator
// credential.
func NewAuthenticator(relayToken string, dir Directory, simulator bool, log zerolog.Logger) *Authenticator {
	return &Authenticator{relayToken: relayToken, dir: dir, simulator: simulator, log: log,
		clients: map[string]map[uint64]struct{}{}}
}

// Attach gives the authenticator the server whose clients Kick closes.
func (a *Authenticator) Attach(s *server.Server) {
	a.mu.Lock()
	a.server = s
	a.mu.Unlock()
}

// Check implements server.Authentication.
func (a *Authenticator) Check(c server.ClientAuthentication) bool {
	o := c.GetOpts()
	if o.Token != "" && o.Nkey == "" {
		if subtle.ConstantTimeCompare([]byte(o.Token), []byte(a.relayToken)) == 1 {
			c.RegisterUser(&server.User{Username: "relay"})
			return true
		}
		return false
	}
	if o.Nkey == "" || !nkeys.IsValidPublicUserKey(o.Nkey) || !a.verify(o.Nkey, o.Sig, c.GetNonce()) {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, err := a.dir.TerminalByKey(ctx, o.Nkey)
	if err != nil {
		a.log.Warn().Err(err).Msg("terminal authentication: directory unavailable")
		return false
	}
	if id == "" && a.simulator && subtle.ConstantTimeCompare([]byte(o.Token), []byte(relaylink.SimulatorToken)) == 1 &&
		relaylink.ValidTerminalID(o.Name) == nil {
		if id, err = a.dir.EnrollSimulator(ctx, o.Name, o.Nkey); err != nil {
			a.log.Warn().Err(err).Str("terminalId", o.Name).Msg("simulator enrolment failed")
			return false
		}
	}
	if id == "" && relaylink.ValidTerminalID(o.Name) == nil {
		if id, err = a.dir.EnrollPrebound(ctx, o.Name, o.Nkey); err != nil {
			a.log.Warn().Err(err).Str("terminalId", o.Name).Msg("express binding on connect failed")
			id = ""
		}
	}
	var perms *server.Permissions
	switch {
	case id != "":
		perms = &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{relaylink.Own(id), relaylink.Bind, relaylink.ExpressBind}},
			Subscribe: &server.SubjectPermission{Allow: []string{relaylink.Request(id), relaylink.Control(id), relaylink.Inbox(id) + ".>"}},
			Response:  &server.ResponsePermission{MaxMsgs: 1, Expires: 5 * time.Minute},
		}
	case relaylink.ValidTerminalID(o.Name) == nil:
		perms = &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{relaylink.Bind, relaylink.ExpressBind}},
			Subscribe: &server.SubjectPermission{Allow: []string{relaylink.Inbox(o.Name) + ".>"}},
		}
	default:
		// No terminal ID to confine its inbox to: it can do nothing.
		perms = &server.Permissions{
			Publish:   &server.SubjectPermission{Deny: []string{">"}},
			Subscribe: &server.SubjectPermission{Deny: []string{">"}},
		}
	}
	c.RegisterUser(&server.User{Username: o.Nkey, Permissions: perms})
	a.remember(o.Nkey, c.GetID())
	return true
}

func (a *Authenticator) verify(publicKey, sig string, nonce []byte) bool {
	kp, err := nkeys.FromPublicKey(publicKey)
	if err != nil || len(nonce) == 0 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		if raw, err = base64.StdEncoding.DecodeString(sig); err != nil {
			return false
		}
	}
	return kp.Verify(nonce, raw) == nil
}

func (a *Authenticator) remember(publicKey string, id uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := a.clients[publicKey]
	if ids == nil || a.server == nil {
		ids = map[uint64]struct{}{}
		a.clients[publicKey] = ids
	} else {
		// Forget the key's connections that are gone (reconnects).
		for old := range ids {
			if a.server.GetClient(old) == nil {
				delete(ids, old)
			}
		}
	}
	ids[id] = struct{}{}
}

// Kick closes this node's connections made with a public key, so that the
// terminal reconnects with the permissions of its new binding.
func (a *Authenticator) Kick(publicKey string) {
	a.mu.Lock()
	ids := a.clients[publicKey]
	delete(a.clients, publicKey)
	s := a.server
	a.mu.Unlock()
	if s == nil {
		return
	}
	for id := range ids {
		_ = s.DisconnectClientByID(id)
	}
}
