package main

import (
	"github.com/vinr/cashlessd/daemon/events"
	"github.com/vinr/cashlessd/daemon/terminal"
	"github.com/vinr/cashlessd/hardware"
)

// liveEvents makes the live event stream's hub and tells the card acceptor
// to report the prompts it shows and the reader's link state to it.
func liveEvents(devs *hardware.Devices) *events.Hub {
	hub := events.New(events.Config{Now: devs.Clock.Now})
	if a, ok := devs.Reader.(*terminal.Acceptor); ok {
		a.ObservePrompts(hub)
		a.ObserveReader(hub)
	}
	return hub
}
