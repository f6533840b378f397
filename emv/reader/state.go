package reader

// OnState registers f to be told, on the calling goroutine of the driver,
// whenever the link to the reader comes up (connected, after INFO
// answered) or is lost (why). f must not block or call the Reader.
func (r *Reader) OnState(f func(connected bool, why error)) {
	r.mu.Lock()
	r.onState = f
	r.mu.Unlock()
}

// stateChanged tells the registered function, if any.
func (r *Reader) stateChanged(connected bool, why error) {
	r.mu.Lock()
	f := r.onState
	r.mu.Unlock()
	if f != nil {
		f(connected, why)
	}
}
