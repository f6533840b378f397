package relay

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/vinr/cashlessd/cloud/store"
	"github.com/vinr/cashlessd/relaylink"
)

// BindKeyLifetime is how long a bind key can be used.
const BindKeyLifetime = 72 * time.Hour

// keyAlphabet has no 0/O, 1/I/L: a person types the key on a terminal.
const keyAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// NewBindKey makes a one-time bind key for a merchant.
func (r *Relay) NewBindKey(ctx context.Context, merchantID, posID string) (store.BindKey, error) {
	raw := make([]byte, 12)
	if _, err := rand.Read(raw); err != nil {
		return store.BindKey{}, err
	}
	key := make([]byte, len(raw))
	for i, b := range raw {
		key[i] = keyAlphabet[int(b)%len(keyAlphabet)]
	}
	k := store.BindKey{Key: string(key), MerchantID: merchantID, PosID: posID,
		ExpiresAt: r.clock.Now().Add(BindKeyLifetime).UTC()}
	return k, r.store.CreateBindKey(ctx, k)
}

func (r *Relay) answerBind(m *nats.Msg, a relaylink.BindAnswer) {
	b, _ := json.Marshal(a)
	if m.Reply != "" {
		_ = m.Respond(b)
	}
}

func refuse(code, msg string) relaylink.BindAnswer {
	return relaylink.BindAnswer{Error: code, Message: msg}
}

func (r *Relay) readBind(m *nats.Msg) (relaylink.BindRequest, *relaylink.BindAnswer) {
	var req relaylink.BindRequest
	if err := json.Unmarshal(m.Data, &req); err != nil {
		a := refuse("invalid_request", "the bind request is not JSON")
		return req, &a
	}
	if err := relaylink.ValidTerminalID(req.TerminalID); err != nil {
		a := refuse("invalid_request", err.Error())
		return req, &a
	}
	if !nkeys.IsValidPublicUserKey(req.PublicKey) {
		a := refuse("invalid_request", "publicKey is not an NKey user public key")
		return req, &a
	}
	return req, nil
}

func (r *Relay) onBind(m *nats.Msg) {
	req, bad := r.readBind(m)
	if bad != nil {
		r.answerBind(m, *bad)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := r.clock.Now()
	var refusal *relaylink.BindAnswer
	key, err := r.store.UseBindKey(ctx, req.Key, req.TerminalID, func(k store.BindKey) error {
		var a relaylink.BindAnswer
		switch {
		case k.UsedBy != "":
			a = refuse("key_used", "this bind key was already used; get a new one")
		case !now.Before(k.ExpiresAt):
			a = refuse("key_expired", "this bind key expired; get a new one")
		default:
			if b, err := r.store.Binding(ctx, req.TerminalID); err == nil && !b.Unbound && b.MerchantID != k.MerchantID {
				a = refuse("bound_elsewhere", "this terminal is bound to another merchant; unbind it first")
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			} else {
				return nil
			}
		}
		refusal = &a
		return errors.New(a.Error)
	})
	switch {
	case refusal != nil:
		r.audit(ctx, "bind", req.TerminalID, "refused", refusal.Error)
		r.answerBind(m, *refusal)
		return
	case errors.Is(err, store.ErrNotFound):
		r.audit(ctx, "bind", req.TerminalID, "refused", "key_unknown")
		r.answerBind(m, refuse("key_unknown", "no such bind key"))
		return
	case errors.Is(err, store.ErrConflict):
		r.answerBind(m, refuse("key_used", "this bind key was already used; get a new one"))
		return
	case err != nil:
		r.log.Error().Err(err).Msg("bind")
		r.answerBind(m, refuse("unavailable", "the relay cannot bind right now; try again"))
		return
	}
	r.bind(ctx, m, req, key.MerchantID, "key")
}

func (r *Relay) onExpressBind(m *nats.Msg) {
	req, bad := r.readBind(m)
	if bad != nil {
		r.answerBind(m, *bad)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if b, err := r.store.Binding(ctx, req.TerminalID); err == nil && !b.Unbound && b.PublicKey == req.PublicKey {
		// Already bound with this key (e.g. on connect): nothing changes.
		r.answerBind(m, relaylink.BindAnswer{Bound: true, MerchantID: b.MerchantID})
		return
	}
	merchant, err := r.store.PrebindMerchant(ctx, req.TerminalID)
	if errors.Is(err, store.ErrNotFound) {
		r.audit(ctx, "bind", req.TerminalID, "refused", "not_prebound")
		r.answerBind(m, refuse("not_prebound", "no merchant prebound this terminal"))
		return
	}
	if err != nil {
		r.answerBind(m, refuse("unavailable", "the relay cannot bind right now; try again"))
		return
	}
	if b, err := r.store.Binding(ctx, req.TerminalID); err == nil && !b.Unbound && b.MerchantID != merchant {
		r.answerBind(m, refuse("bound_elsewhere", "this terminal is bound to another merchant; unbind it first"))
		return
	}
	r.bind(ctx, m, req, merchant, "express")
}

func (r *Relay) bind(ctx context.Context, m *nats.Msg, req relaylink.BindRequest, merchantID, how string) {
	b := store.Binding{TerminalID: req.TerminalID, PublicKey: req.PublicKey, MerchantID: merchantID,
		Model: req.Model, SoftwareVersion: req.SoftwareVersion, BoundAt: r.clock.Now().UTC()}
	if err := r.store.PutBinding(ctx, b); err != nil {
		r.log.Error().Err(err).Msg("bind")
		r.answerBind(m, refuse("unavailable", "the relay cannot bind right now; try again"))
		return
	}
	_ = r.store.DropPrebound(ctx, req.TerminalID)
	r.audit(ctx, "bind", req.TerminalID, "bound", how+" to "+merchantID)
	r.log.Info().Str("terminalId", req.TerminalID).Str("merchantId", merchantID).Str("how", how).Msg("terminal bound")
	r.answerBind(m, relaylink.BindAnswer{Bound: true, MerchantID: merchantID})
	r.kick(req.PublicKey)
}

func (r *Relay) onUnbind(m *nats.Msg) {
	id := terminalOf(m.Subject)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Unbind(ctx, id, "terminal"); err != nil {
		r.answerBind(m, refuse("unavailable", err.Error()))
		return
	}
	r.answerBind(m, relaylink.BindAnswer{Bound: false})
}

// Unbind drops a terminal's binding, tells the terminal and closes its
// connections. by says who asked (terminal, an account, the operator).
func (r *Relay) Unbind(ctx context.Context, terminalID, by string) error {
	b, err := r.store.Binding(ctx, terminalID)
	if errors.Is(err, store.ErrNotFound) || err == nil && b.Unbound {
		return nil
	}
	if err != nil {
		return err
	}
	b.Unbound = true
	if err := r.store.PutBinding(ctx, b); err != nil {
		return err
	}
	r.audit(ctx, "unbind", terminalID, "unbound", "by "+by+" from "+b.MerchantID)
	msg, _ := json.Marshal(relaylink.ControlMessage{Action: relaylink.ActionUnbound, MerchantID: b.MerchantID})
	_ = r.nc.Publish(relaylink.Control(terminalID), msg)
	_ = r.nc.Flush()
	r.forget(terminalID)
	r.kick(b.PublicKey)
	return nil
}

func (r *Relay) kick(publicKey string) {
	if err := r.nc.Publish(KickSubject, []byte(publicKey)); err != nil {
		r.log.Warn().Err(err).Msg("kick")
	}
}

func (r *Relay) onKick(m *nats.Msg) {
	if r.opts.Kicker != nil {
		r.opts.Kicker.Kick(string(m.Data))
	}
}

func (r *Relay) audit(ctx context.Context, kind, subject, outcome, detail string) {
	if err := r.store.Audit(ctx, store.AuditRecord{At: r.clock.Now().UTC(), Kind: kind, Subject: subject, Outcome: outcome, Detail: detail}); err != nil {
		r.log.Warn().Err(err).Msg("audit")
	}
}

// TerminalByKey implements natsnode.Directory.
func (r *Relay) TerminalByKey(ctx context.Context, publicKey string) (string, error) {
	b, err := r.store.BindingByKey(ctx, publicKey)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if a, err := r.store.Account(ctx, b.MerchantID); err == nil && a.Disabled {
		return "", nil
	}
	return b.TerminalID, nil
}

// EnrollSimulator implements natsnode.Directory: a simulator terminal never
// bound before is bound to the simulator merchant.
func (r *Relay) EnrollSimulator(ctx context.Context, terminalID, publicKey string) (string, error) {
	if r.opts.SimulatorMerchant == "" {
		return "", nil
	}
	_, err := r.store.Binding(ctx, terminalID)
	if err == nil {
		return "", nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	b := store.Binding{TerminalID: terminalID, PublicKey: publicKey, MerchantID: r.opts.SimulatorMerchant,
		Model: "simulator", BoundAt: r.clock.Now().UTC()}
	if err := r.store.PutBinding(ctx, b); err != nil {
		return "", fmt.Errorf("enrol %s: %w", terminalID, err)
	}
	r.audit(ctx, "bind", terminalID, "bound", "simulator enrolment to "+b.MerchantID)
	return terminalID, nil
}

// EnrollPrebound implements natsnode.Directory: a terminal connecting under
// a prebound terminal ID, not bound to another merchant, is bound to the
// merchant that prebound it.
func (r *Relay) EnrollPrebound(ctx context.Context, terminalID, publicKey string) (string, error) {
	merchant, err := r.store.PrebindMerchant(ctx, terminalID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if b, err := r.store.Binding(ctx, terminalID); err == nil && !b.Unbound && b.MerchantID != merchant {
		return "", nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	b := store.Binding{TerminalID: terminalID, PublicKey: publicKey, MerchantID: merchant, BoundAt: r.clock.Now().UTC()}
	if err := r.store.PutBinding(ctx, b); err != nil {
		return "", err
	}
	_ = r.store.DropPrebound(ctx, terminalID)
	r.audit(ctx, "bind", terminalID, "bound", "express on connect to "+merchant)
	r.log.Info().Str("terminalId", terminalID).Str("merchantId", merchant).Msg("prebound terminal bound on connect")
	return terminalID, nil
}
