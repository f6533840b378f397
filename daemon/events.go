package daemon

import "time"

// EventType names what an Event reports.
type EventType string

// Event types, as the live event stream names them.
const (
	// EventStage: the running transaction (or batch close) entered a
	// stage.
	EventStage EventType = "stage"
	// EventPrompt: the card reader shows the cardholder a prompt.
	EventPrompt EventType = "prompt"
	// EventOutcome: a transaction ended; the ECR's answer follows.
	EventOutcome EventType = "outcome"
	// EventPrinter: the printer's state changed.
	EventPrinter EventType = "printer"
	// EventReader: the card reader's state changed.
	EventReader EventType = "reader"
	// EventBatch: a batch began settling or closed.
	EventBatch EventType = "batch"
)

// Event is something an ECR screen may show as it happens. Only the fields
// of its Type are set; it never carries card data beyond the masked PAN.
type Event struct {
	Type EventType
	Time time.Time

	// Stage, prompt and outcome events: which transaction. Kind is
	// "batch_close" for a batch close's stage.
	Reference     string
	TransactionID string
	Kind          string
	Stage         Stage

	// Prompt events: the prompt's name and the lines shown.
	Prompt string
	Lines  []string

	// Outcome events: the finished transaction.
	Tx *Transaction

	// Printer and reader events.
	State   string
	Message string

	// Batch events.
	Batch *Batch
}

// EventSink is told what happens on the terminal as it happens (the live
// event stream, daemon/events). Publish must never block the engine.
type EventSink interface {
	Publish(Event)
}

// emit hands ev to the event sink, if there is one, stamped with the
// engine's time.
func (e *Engine) emit(ev Event) {
	if e.deps.Events == nil {
		return
	}
	ev.Time = e.Now()
	e.deps.Events.Publish(ev)
}

// emitStage reports the stage the active work is in now.
func (e *Engine) emitStage(a *active, s Stage) {
	ev := Event{Type: EventStage, Reference: a.reference, Kind: a.kind, Stage: s}
	if a.tx != nil {
		ev.TransactionID = a.tx.ID
	}
	e.emit(ev)
}

// emitOutcome reports a transaction that reached its final status; work
// that wrote no final transaction (a batch close, a refused start) reports
// nothing here.
func (e *Engine) emitOutcome(a *active) {
	if a.tx == nil || !a.tx.Final() {
		return
	}
	t := *a.tx
	e.emit(Event{Type: EventOutcome, Reference: t.Reference, TransactionID: t.ID, Kind: string(t.Kind), Tx: &t})
}

// emitBatch reports a batch that began settling or closed.
func (e *Engine) emitBatch(b *Batch) {
	if b == nil {
		return
	}
	c := *b
	e.emit(Event{Type: EventBatch, Reference: b.Reference, Batch: &c, State: string(b.Status)})
}

// emitPrinter reports the printer's new state.
func (e *Engine) emitPrinter(st PrinterStatus) {
	e.emit(Event{Type: EventPrinter, State: string(st.State), Message: st.Message})
}
