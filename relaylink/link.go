// Package relaylink is the contract between a terminal (cashlessd) and the relay
// (cashless-cloud) over NATS: the subjects each side uses, the headers that
// carry an HTTP-shaped call, and the JSON messages of presence and binding.
// Both sides import it; nothing else lives here.
//
// A terminal is known by its terminal ID (the `terminalId` its status
// reports). It connects to NATS with its own NKey. Everything addressed to
// one terminal lives under Prefix + "." + terminalID, so NATS permissions can
// confine a terminal to its own subjects.
package relaylink

import (
	"fmt"
	"strings"
)

// Prefix starts every subject of the terminal link.
const Prefix = "cashless.t"

// Subjects of the link.
//
//   - Request(id): the relay sends one Cashless API call to the terminal as a
//     NATS request (header HeaderEndpoint, body the JSON body). The terminal
//     answers with HeaderStatus (the HTTP status it would have sent on the
//     LAN), any response headers prefixed HeaderResponsePrefix and the JSON
//     answer as body. The call runs through the same engine path as a LAN
//     call.
//   - Hello(id): the terminal publishes a Hello when it connects and every
//     HeartbeatIntervalSeconds while connected.
//   - Outcome(id): the terminal publishes each finished transaction's answer
//     (an Outcome) to a JetStream stream on this subject, retried until
//     acknowledged, so an outcome reached while the link was down or after
//     the relay stopped waiting still reaches the cloud.
//   - Bind: an unbound terminal asks the relay to bind it with a one-time key
//     (a BindRequest; the answer is a BindAnswer). Unbind(id): the terminal
//     drops its binding (empty body; the answer is a BindAnswer).
//   - Control(id): the relay tells the terminal of a change to its binding
//     (a Control message), e.g. an unbind made on the relay side.
const (
	// Bind is the subject of a terminal's bind request.
	Bind = "cashless.bind"
	// ExpressBind is the subject of a terminal's express (prebound) bind
	// request: a BindRequest without a key.
	ExpressBind = "cashless.bind.express"
)

// How a terminal connects: its NATS connection name is its terminal ID, it
// presents its own NKey (public key, nonce signed with its seed) and, in
// simulator mode, also the auth token SimulatorToken, which a relay in
// simulator mode accepts for any terminal. Its inbox prefix is Inbox(id), so
// the answers to its own requests (bind, unbind, JetStream acknowledgements)
// stay under its own subjects. After a bind or unbind that changed its
// binding, and after a Control "unbound", it reconnects, so the server
// applies the permissions of its new state.
const SimulatorToken = "cashless-simulator"

// HeartbeatIntervalSeconds is how often a connected terminal publishes its Hello.
const HeartbeatIntervalSeconds = 15

// Headers of a relayed call.
const (
	// HeaderEndpoint names the Cashless API endpoint, the path after
	// /cashless/v1/ (e.g. "sale", "preauth/complete", "transaction").
	HeaderEndpoint = "Cashless-Endpoint"
	// HeaderStatus is the HTTP status code of the terminal's answer.
	HeaderStatus = "Cashless-Status"
	// HeaderResponsePrefix prefixes HTTP response headers carried back
	// (e.g. "Cashless-Response-Idempotent-Replayed").
	HeaderResponsePrefix = "Cashless-Response-"
	// HeaderCaller names who the relay acted for (account or POS ID), for the
	// terminal's logs and audit.
	HeaderCaller = "Cashless-Caller"
)

// Request is the subject of calls to one terminal.
func Request(terminalID string) string { return subject(terminalID, "req") }

// Hello is the subject of one terminal's presence messages.
func Hello(terminalID string) string { return subject(terminalID, "hello") }

// Outcome is the subject of one terminal's finished transactions.
func Outcome(terminalID string) string { return subject(terminalID, "outcome") }

// Unbind is the subject of one terminal's request to drop its binding.
func Unbind(terminalID string) string { return subject(terminalID, "unbind") }

// Control is the subject of the relay's notices to one terminal.
func Control(terminalID string) string { return subject(terminalID, "control") }

// Inbox is the inbox prefix of one terminal's connection (the reply
// subjects of its requests).
func Inbox(terminalID string) string { return subject(terminalID, "inbox") }

// Own is the wildcard for every subject of one terminal.
func Own(terminalID string) string { return subject(terminalID, ">") }

func subject(terminalID, leaf string) string {
	return Prefix + "." + terminalID + "." + leaf
}

// ValidTerminalID reports whether id can be a subject token: 1 to 64
// characters of letters, digits, '_' and '-'.
func ValidTerminalID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("terminal ID must be 1 to 64 characters")
	}
	if strings.IndexFunc(id, func(r rune) bool {
		return !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) >= 0 {
		return fmt.Errorf("terminal ID %q may hold only letters, digits, '_' and '-'", id)
	}
	return nil
}

// HelloMessage is a terminal's presence: who it is and what it runs.
type HelloMessage struct {
	TerminalID      string `json:"terminalId"`
	PublicKey       string `json:"publicKey"`
	Model           string `json:"model"`
	SoftwareVersion string `json:"softwareVersion"`
	SerialNumber    string `json:"serialNumber,omitempty"`
	Simulator       bool   `json:"simulator,omitempty"`
	Busy            bool   `json:"busy"`
	SentAt          string `json:"sentAt"`
}

// BindRequest asks the relay to bind the terminal that sends it, with a
// one-time key from the relay's bind-terminal-key (empty for express bind).
type BindRequest struct {
	Key             string `json:"key,omitempty"`
	TerminalID      string `json:"terminalId"`
	PublicKey       string `json:"publicKey"`
	Model           string `json:"model"`
	SoftwareVersion string `json:"softwareVersion"`
}

// BindAnswer is the relay's answer to a bind or unbind: the merchant the
// terminal is now bound to, or why nothing was bound.
type BindAnswer struct {
	Bound      bool   `json:"bound"`
	MerchantID string `json:"merchantId,omitempty"`
	// Error is a short code when nothing changed: key_unknown, key_used,
	// key_expired, not_prebound, bound_elsewhere, invalid_request.
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
}

// ControlMessage is a relay notice to a terminal: Action "unbound" when the relay
// side dropped the binding.
type ControlMessage struct {
	Action     string `json:"action"`
	MerchantID string `json:"merchantId,omitempty"`
}

// OutcomeMessage is one finished transaction as the terminal answered it: the
// endpoint and reference it ran under, the HTTP status and the answer body
// exactly as the LAN would have received them.
type OutcomeMessage struct {
	TerminalID    string `json:"terminalId"`
	Endpoint      string `json:"endpoint"`
	Reference     string `json:"reference"`
	TransactionID string `json:"transactionId,omitempty"`
	HTTPStatus    int    `json:"httpStatus"`
	Body          []byte `json:"body"`
	FinishedAt    string `json:"finishedAt"`
}

// What a terminal may do once connected (the relay's NATS permissions):
//   - bound (or enrolled) to a terminal ID by its NKey: publish under Own(id)
//     and Bind / ExpressBind, subscribe to Request(id), Control(id) and
//     Inbox(id), and answer the requests it receives;
//   - not bound: publish Bind and ExpressBind requests only, and read their
//     answers on Inbox(name), name being its connection name. A terminal
//     whose connection name a merchant prebound is bound on connect.
//
// The relay also closes the terminal's connections after a bind or unbind,
// so a terminal that does not reconnect by itself still gets the
// permissions of its new state. In simulator mode a terminal presenting
// SimulatorToken whose key was never bound is enrolled on connect under the
// simulator merchant; once unbound (on either side) it binds like any other.

// Control actions.
const (
	// ActionUnbound tells a terminal the relay dropped its binding.
	ActionUnbound = "unbound"
)
