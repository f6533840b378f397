package server

import (
	"sync/atomic"

	"github.com/vinr/cashlessd/cloud/relay"
)

type atomicRelay = atomic.Pointer[relay.Relay]
