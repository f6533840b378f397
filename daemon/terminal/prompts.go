package terminal

// Prompt names, as the acceptor reports them to its PromptObserver.
const (
	// PromptPresentCard: the reader shows the amount and waits for a card
	// to be inserted, tapped or swiped.
	PromptPresentCard = "present_card"
	// PromptInsertCard: a chip card was swiped, or a tapped card cannot
	// go on contactless; the reader asks for the chip.
	PromptInsertCard = "insert_card"
	// PromptCardNotRead: a swipe could not be read; the reader asks to
	// try again.
	PromptCardNotRead = "card_not_read"
	// PromptEnterPIN: the PIN pad asks for the PIN (online or offline).
	PromptEnterPIN = "enter_pin"
)

// PromptObserver is told of every prompt the acceptor puts on the reader,
// with the transaction it serves and the lines of text sent to the reader
// (the amount with a card or PIN prompt). It is called on the card's path
// and must not block. The acceptor knows nothing of who listens.
type PromptObserver interface {
	Prompt(transactionID, prompt string, lines []string)
}

// ObservePrompts tells o of every prompt from now on; call it before the
// first Detect.
func (a *Acceptor) ObservePrompts(o PromptObserver) { a.prompts = o }

// prompt reports one prompt to the observer, if there is one.
func (a *Acceptor) prompt(transactionID, name string, lines ...string) {
	if a.prompts != nil {
		a.prompts.Prompt(transactionID, name, lines)
	}
}

// Reader states, as the acceptor reports them to its ReaderObserver.
const (
	ReaderConnected    = "connected"
	ReaderDisconnected = "disconnected"
)

// ReaderObserver is told when the link to the card reader comes up or is
// lost (with why). It must not block.
type ReaderObserver interface {
	ReaderState(state, message string)
}

// ObserveReader tells o of the reader's link state from now on.
func (a *Acceptor) ObserveReader(o ReaderObserver) {
	a.reader.OnState(func(connected bool, why error) {
		if connected {
			o.ReaderState(ReaderConnected, "")
			return
		}
		msg := ""
		if why != nil {
			msg = why.Error()
		}
		o.ReaderState(ReaderDisconnected, msg)
	})
}
