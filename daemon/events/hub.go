// Package events is the live event stream's hub: the engine publishes what
// happens (stages, prompts the reader shows, outcomes, printer, reader and
// batch changes), the hub numbers each event, encodes it once as the JSON of
// package wire, keeps the last ones in a bounded ring for clients that
// reconnect with Last-Event-ID, and fans them out to every listener.
//
// Publishing never waits for a listener: each listener has a bounded queue,
// and a listener whose queue is full is disconnected (its channel closed,
// Dropped reports true). It reconnects with the last id it saw and gets what
// it missed from the ring, or a gap event when the ring no longer holds it.
package events

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// Defaults of a Hub.
const (
	// DefaultRing is how many events are kept for resuming clients.
	DefaultRing = 1024
	// DefaultQueue is how many events a listener may fall behind before
	// it is disconnected.
	DefaultQueue = 256
)

// timeFormat is RFC 3339 in UTC with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// Message is one numbered, encoded event. ID is 0 for a gap message,
// which has no id of its own.
type Message struct {
	ID   int64
	Type string
	Data []byte
}

// Config sizes a Hub; zero values take the defaults.
type Config struct {
	Ring  int
	Queue int
	// FirstID is the first event's id; 0 takes the start time in
	// microseconds since 1970, so ids grow across restarts too.
	FirstID int64
	// Now stamps the events the hub makes itself (prompts, reader
	// changes, gaps); nil is the wall clock. The engine stamps its own.
	Now func() time.Time
}

// Hub numbers, keeps and fans out events. It is safe for concurrent use.
type Hub struct {
	queue int
	now   func() time.Time

	mu     sync.Mutex
	ring   []Message // the last events, oldest first; len ≤ cap
	size   int
	next   int64 // the id of the next event
	subs   map[*Subscription]struct{}
	closed bool
	// active is the transaction the reader serves, so that prompts
	// (which know the transaction ID only) carry its reference.
	activeID, activeRef string
}

// New makes a hub.
func New(cfg Config) *Hub {
	if cfg.Ring <= 0 {
		cfg.Ring = DefaultRing
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.FirstID <= 0 {
		cfg.FirstID = time.Now().UnixMicro()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Hub{queue: cfg.Queue, now: cfg.Now, size: cfg.Ring, ring: make([]Message, 0, cfg.Ring), next: cfg.FirstID,
		subs: map[*Subscription]struct{}{}}
}

var _ daemon.EventSink = (*Hub)(nil)

// Publish numbers ev, keeps it and hands it to every listener. It never
// blocks on a listener.
func (h *Hub) Publish(ev daemon.Event) {
	typ, data := encode(ev)
	if data == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if ev.Type == daemon.EventStage && ev.TransactionID != "" {
		h.activeID, h.activeRef = ev.TransactionID, ev.Reference
	}
	h.add(typ, data)
}

// Prompt is told by the card acceptor (daemon/terminal) what the reader shows
// the cardholder for a transaction.
func (h *Hub) Prompt(transactionID, prompt string, lines []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ref := ""
	if transactionID == h.activeID {
		ref = h.activeRef
	}
	if lines == nil {
		lines = []string{}
	}
	data, err := json.Marshal(wire.PromptEvent{Reference: ref, TransactionID: transactionID, Prompt: prompt,
		Lines: lines, Time: h.now().UTC().Format(timeFormat)})
	if err != nil {
		return
	}
	h.add(wire.EventPrompt, data)
}

// ReaderState is told by the card reader's driver that its state changed.
func (h *Hub) ReaderState(state, message string) {
	data, err := json.Marshal(wire.DeviceEvent{State: state, Message: message, Time: h.now().UTC().Format(timeFormat)})
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.add(wire.EventReader, data)
}

// add numbers and keeps one event and queues it for every listener; the
// caller holds h.mu.
func (h *Hub) add(typ string, data []byte) {
	if h.closed {
		return
	}
	m := Message{ID: h.next, Type: typ, Data: data}
	h.next++
	if len(h.ring) == h.size {
		copy(h.ring, h.ring[1:])
		h.ring = h.ring[:h.size-1]
	}
	h.ring = append(h.ring, m)
	for s := range h.subs {
		select {
		case s.ch <- m:
		default:
			// Too slow: disconnect rather than wait or lose events
			// silently; it resumes from the ring.
			s.dropped = true
			h.remove(s)
		}
	}
}

// remove ends a subscription; the caller holds h.mu.
func (h *Hub) remove(s *Subscription) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	close(s.ch)
}

// Subscription is one listener. Its backlog (the events it missed, after a
// gap message when some are lost) comes first on Events, then the live
// events.
type Subscription struct {
	hub     *Hub
	ch      chan Message
	dropped bool // set under hub.mu before ch is closed
}

// Subscribe adds a listener. With resume set it first gets every event
// after lastID that the hub still holds; when the hub no longer holds
// them all (or lastID is not one of its ids) a gap message comes first and
// then every event held.
func (h *Hub) Subscribe(lastID int64, resume bool) *Subscription {
	h.mu.Lock()
	defer h.mu.Unlock()
	var backlog []Message
	if resume {
		oldest := h.next - int64(len(h.ring))
		if lastID < oldest-1 || lastID >= h.next {
			backlog = append(backlog, h.gap(lastID))
			backlog = append(backlog, h.ring...)
		} else {
			backlog = append(backlog, h.ring[lastID-oldest+1:]...)
		}
	}
	s := &Subscription{hub: h, ch: make(chan Message, len(backlog)+h.queue)}
	for _, m := range backlog {
		s.ch <- m
	}
	if h.closed {
		close(s.ch)
		return s
	}
	h.subs[s] = struct{}{}
	return s
}

// gap is the message that says events after lastID were lost; the caller
// holds h.mu.
func (h *Hub) gap(lastID int64) Message {
	var oldest int64
	if len(h.ring) > 0 {
		oldest = h.ring[0].ID
	}
	data, _ := json.Marshal(wire.GapEvent{LastEventID: lastID, OldestEventID: oldest,
		Message: "Events after the given Last-Event-ID are no longer held (the terminal restarted or the client was away too long); the stream goes on from the oldest event held. Look transactions up by reference for their outcome.",
		Time:    h.now().UTC().Format(timeFormat)})
	return Message{Type: wire.EventGap, Data: data}
}

// Events delivers the listener's events; it is closed when the listener
// was too slow (Dropped), the hub closed, or Close was called.
func (s *Subscription) Events() <-chan Message { return s.ch }

// Dropped reports whether the hub disconnected the listener for falling
// too far behind.
func (s *Subscription) Dropped() bool {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.dropped
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.remove(s)
}

// Listeners is the number of listeners now.
func (h *Hub) Listeners() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// LastID is the id of the last event published (FirstID-1 before any).
func (h *Hub) LastID() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.next - 1
}

// Close ends every subscription and takes no more events (shutdown).
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.remove(s)
	}
}

// encode turns an engine event into its type and JSON; nil data for an
// event the stream does not carry.
func encode(ev daemon.Event) (string, []byte) {
	at := ev.Time.UTC().Format(timeFormat)
	var v any
	typ := string(ev.Type)
	switch ev.Type {
	case daemon.EventStage:
		v = wire.StageEvent{Reference: ev.Reference, TransactionID: ev.TransactionID, Type: ev.Kind, Stage: string(ev.Stage), Time: at}
	case daemon.EventPrompt:
		lines := ev.Lines
		if lines == nil {
			lines = []string{}
		}
		v = wire.PromptEvent{Reference: ev.Reference, TransactionID: ev.TransactionID, Prompt: ev.Prompt, Lines: lines, Time: at}
	case daemon.EventOutcome:
		t := ev.Tx
		if t == nil {
			return "", nil
		}
		o := wire.OutcomeEvent{Reference: t.Reference, TransactionID: t.ID, Type: string(t.Kind), Status: string(t.Status),
			TotalAmount: t.TotalAmount(), Currency: t.Currency, Time: at}
		switch t.Status {
		case daemon.StatusApproved:
		case daemon.StatusDeclined:
			o.DeclineCode, o.ErrorCode = t.DeclineCode, daemon.CodeCardDeclined
		default:
			o.ErrorCode = t.ErrorCode
		}
		if t.PrintReceipt && (t.Status == daemon.StatusApproved || t.Status == daemon.StatusDeclined) {
			printed := t.ReceiptPrinted
			o.ReceiptPrinted = &printed
		}
		v = o
	case daemon.EventPrinter, daemon.EventReader:
		v = wire.DeviceEvent{State: ev.State, Message: ev.Message, Time: at}
	case daemon.EventBatch:
		b := ev.Batch
		if b == nil {
			return "", nil
		}
		v = wire.BatchEvent{Reference: b.Reference, BatchID: b.ID, Status: string(b.Status), TransactionCount: b.TransactionCount(),
			TotalAmount: b.TotalAmount(), Currency: b.Currency, Time: at}
	default:
		return "", nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return "", nil
	}
	return typ, data
}
