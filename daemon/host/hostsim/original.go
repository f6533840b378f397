package hostsim

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vinr/cashlessd/daemon/host"
)

// quotesOriginal reports whether the original data elements (90) of a
// completion, refund or reversal name the request a was booked from: its
// MTI, STAN and transmission time. Approvals the host booked without a
// request of their own to quote (from an offline advice or a batch
// upload) match anything; a ledger written before transmission times were
// kept is compared on MTI and STAN.
func quotesOriginal(o *host.OriginalData, a *Approval) bool {
	if a.Offline || a.MTI == host.MTIBatchUpload {
		return true
	}
	if o == nil || o.MTI != a.MTI || o.STAN != a.STAN {
		return false
	}
	return a.TransmissionTime == "" || o.TransmissionTime == a.TransmissionTime
}

// unknownOriginal reports whether field 90 says the terminal no longer
// knows the original's STAN (zeros): a reversal of a transaction the
// terminal was interrupted in, before it learnt how the request went out.
func unknownOriginal(o *host.OriginalData) bool {
	return o == nil || strings.Trim(o.STAN, "0") == ""
}

// Request is one request the host received, in the order received: what
// identifies it on the wire. It holds no card data.
type Request struct {
	MTI              string `json:"mti"`
	STAN             string `json:"stan"`
	TransmissionTime string `json:"transmissionTime"`
	TerminalID       string `json:"terminalId"`
	TransactionID    string `json:"transactionId,omitempty"`
	NetworkCode      string `json:"networkCode,omitempty"`
	// Original is field 90, when the request carried it.
	Original   *host.OriginalData `json:"original,omitempty"`
	ReceivedAt time.Time          `json:"receivedAt"`
}

// maxRequests bounds the record of received requests: the oldest are
// dropped first.
const maxRequests = 4096

// requestLog is the bounded record of received requests.
type requestLog struct {
	mu   sync.Mutex
	list []Request
}

// add records req.
func (l *requestLog) add(req *host.Fields, at time.Time) {
	r := Request{MTI: req.MTI, STAN: req.STAN, TransmissionTime: req.TransmissionTime,
		TerminalID: strings.TrimSpace(req.TerminalID), TransactionID: req.TransactionID,
		NetworkCode: req.NetworkCode, ReceivedAt: at}
	if req.Original != nil {
		o := *req.Original
		r.Original = &o
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.list) == maxRequests {
		l.list = slices.Delete(l.list, 0, 1)
	}
	l.list = append(l.list, r)
}

// snapshot returns a copy of the record.
func (l *requestLog) snapshot() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.list)
	for i := range out {
		if o := out[i].Original; o != nil {
			c := *o
			out[i].Original = &c
		}
	}
	return out
}

// Requests returns the requests received since the server started (the
// last few thousand), in the order they arrived on the wire, across
// connections.
func (s *Server) Requests() []Request { return s.requests.snapshot() }
