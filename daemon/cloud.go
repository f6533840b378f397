package daemon

import "time"

// CloudState is how the terminal's link to the cloud relay stands.
type CloudState string

// Cloud link states.
const (
	// CloudConnected: the link to the relay's NATS is up.
	CloudConnected CloudState = "connected"
	// CloudConnecting: a relay is configured and the link is being
	// (re)established.
	CloudConnecting CloudState = "connecting"
	// CloudOff: no relay is configured.
	CloudOff CloudState = "off"
)

// CloudHealth is the cloud link's state and since when it holds.
type CloudHealth struct {
	State CloudState `json:"state"`
	Since time.Time  `json:"since"`
}

// CloudReporter is the cloud link as the engine's health sees it.
// CloudHealth does no I/O and never waits.
type CloudReporter interface {
	CloudHealth() CloudHealth
}

// cloudHealth is the link's state, off when there is none.
func (e *Engine) cloudHealth() CloudHealth {
	if e.deps.Cloud == nil {
		return CloudHealth{State: CloudOff}
	}
	return e.deps.Cloud.CloudHealth()
}
