package virtual

import (
	"time"

	"github.com/vinr/cashlessd/emv/reader"
)

// readLoop reads what the driver sends until the plug closes.
func (r *Reader) readLoop(p *plug) {
	defer p.wg.Done()
	var dec reader.Decoder
	buf := make([]byte, 1024)
	for {
		if dec.Pending() > 0 {
			p.master.SetReadDeadline(time.Now().Add(r.cfg.FrameGap))
		} else {
			p.master.SetReadDeadline(time.Time{})
		}
		n, err := p.master.Read(buf)
		if err != nil && !isTimeout(err) {
			return
		}
		r.mu.Lock()
		if r.plug != p {
			r.mu.Unlock()
			return
		}
		if n == 0 {
			dec.Flush()
		} else {
			r.stats.BytesIn += int64(n)
			if r.cfg.Record {
				r.trafficIn.Write(buf[:n])
			}
			dec.Write(buf[:n])
		}
		for {
			f, ok := dec.Next()
			if !ok {
				break
			}
			r.handle(f)
		}
		if d := dec.Discarded(); d > 0 {
			r.stats.BytesDiscarded += int64(d)
			r.nak()
		}
		r.mu.Unlock()
	}
}

// nak answers damaged input; r.mu is held.
func (r *Reader) nak() {
	r.stats.NAKsOut++
	r.send(reader.Frame{Type: reader.TypeNAK})
}

// handle acts on one intact frame from the driver; r.mu is held.
func (r *Reader) handle(f reader.Frame) {
	if r.garbleIn > 0 {
		r.garbleIn--
		r.stats.FramesDamagedOnPurpose++
		r.nak()
		return
	}
	if r.dropFramesIn > 0 {
		r.dropFramesIn--
		r.stats.FramesDamagedOnPurpose++
		return
	}
	r.stats.FramesIn++
	switch {
	case f.Type == reader.TypeNAK:
		r.stats.NAKsIn++
		if len(r.events) > 0 {
			r.sendEvent(false)
		}
		if r.lastResp != nil && r.respResends < r.cfg.MaxTries {
			r.respResends++
			r.queue(r.lastResp)
		}
	case f.Type == reader.TypeACK:
		if len(r.events) > 0 && r.events[0].Seq == f.Seq {
			r.nextEvent()
		}
	case f.Type.IsCommand():
		if f.Type == reader.CmdAPDU || f.Type == reader.CmdAPDUs {
			r.stats.APDUFrames++
		}
		if f.Seq != 0 && int(f.Seq) == r.lastCmd {
			r.stats.Duplicates++
			if r.executing {
				r.send(reader.Frame{Seq: f.Seq, Type: reader.TypeACK})
			} else if r.lastResp != nil {
				r.queue(r.lastResp)
			}
			return
		}
		if f.Seq == 0 { // the driver (re)opened the port
			r.evtSeq = 0
			r.dropEvents()
		}
		r.lastCmd, r.executing, r.lastResp, r.respResends = int(f.Seq), true, nil, 0
		r.execute(f)
	}
	// Responses and events from the driver make no sense: ignored.
}

// respond sends the response to command seq, unless a newer command has
// superseded it; r.mu is held.
func (r *Reader) respond(seq byte, status reader.Type, payload []byte) {
	if int(seq) != r.lastCmd || !r.executing {
		return
	}
	b, err := reader.Frame{Seq: seq, Type: status, Payload: payload}.MarshalBinary()
	if err != nil {
		b, _ = reader.Frame{Seq: seq, Type: reader.RespInternal}.MarshalBinary()
	}
	r.executing = false
	r.lastResp = b
	r.queue(b)
}

// send encodes and queues a frame; r.mu is held.
func (r *Reader) send(f reader.Frame) {
	b, err := f.MarshalBinary()
	if err != nil {
		return
	}
	r.queue(b)
}

// queue applies the outbound faults and hands the bytes to the write
// loop; r.mu is held. b is not modified.
func (r *Reader) queue(b []byte) {
	if r.plug == nil {
		return
	}
	if r.dropFramesOut > 0 {
		r.dropFramesOut--
		return
	}
	out := append([]byte(nil), b...)
	if r.garbleOut > 0 {
		r.garbleOut--
		out[len(out)/2] ^= 0x5A
	}
	if r.dropBytesOut > 0 && len(out) > 4 {
		k := min(r.dropBytesOut, len(out)-4)
		r.dropBytesOut -= k
		out = append(out[:3], out[3+k:]...)
	}
	if r.put(out) {
		r.stats.FramesOut++
	}
}

// put hands bytes to the write loop and counts them as on the wire (they
// are, by the time anyone can look); r.mu is held.
func (r *Reader) put(b []byte) bool {
	if r.plug == nil || !r.plug.queue(b) {
		return false
	}
	r.stats.BytesOut += int64(len(b))
	if r.cfg.Record {
		r.trafficOut.Write(b)
	}
	return true
}

// event queues an event for the driver; r.mu is held.
func (r *Reader) event(t reader.Type, payload []byte) {
	f := reader.Frame{Seq: r.evtSeq, Type: t, Payload: payload}
	r.evtSeq++
	if r.evtSeq == 0 {
		r.evtSeq = 1
	}
	r.stats.Events++
	r.events = append(r.events, f)
	if len(r.events) == 1 {
		r.evtSends = 0
		r.sendEvent(true)
	}
}

// sendEvent sends the outstanding event; a first send or a timeout
// counts towards MaxTries, a resend asked for by NAK does not. r.mu is
// held.
func (r *Reader) sendEvent(counted bool) {
	if counted {
		r.evtSends++
	}
	if r.evtSends > 1 || !counted {
		r.stats.EventResends++
	}
	r.send(r.events[0])
	r.evtGen++
	gen := r.evtGen
	if r.evtTimer != nil {
		r.evtTimer.Stop()
	}
	r.evtTimer = time.AfterFunc(r.cfg.RetransmitTimeout, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if gen != r.evtGen || len(r.events) == 0 {
			return
		}
		if r.evtSends >= r.cfg.MaxTries {
			r.nextEvent() // the driver is gone: give up on this one
			return
		}
		r.sendEvent(true)
	})
}

// nextEvent drops the outstanding event and sends the next; r.mu is held.
func (r *Reader) nextEvent() {
	clear(r.events[0].Payload)
	r.events = r.events[1:]
	r.evtGen++
	if r.evtTimer != nil {
		r.evtTimer.Stop()
	}
	if len(r.events) > 0 {
		r.evtSends = 0
		r.sendEvent(true)
	}
}

// dropEvents forgets unacknowledged events; r.mu is held.
func (r *Reader) dropEvents() {
	for _, e := range r.events {
		clear(e.Payload)
	}
	r.events = nil
	r.evtGen++
	if r.evtTimer != nil {
		r.evtTimer.Stop()
	}
}

// Garble damages the next n frames the reader sends (one byte flipped).
func (r *Reader) Garble(n int) { r.fault(&r.garbleOut, n) }

// DropBytes removes n bytes from the middle of the next frames the reader
// sends (after STX and LEN), as a UART overrun would.
func (r *Reader) DropBytes(n int) { r.fault(&r.dropBytesOut, n) }

// DropFrames loses the next n frames the reader sends, whole.
func (r *Reader) DropFrames(n int) { r.fault(&r.dropFramesOut, n) }

// GarbleIn treats the next n intact frames from the driver as damaged:
// they are dropped and answered with NAK.
func (r *Reader) GarbleIn(n int) { r.fault(&r.garbleIn, n) }

// DropFramesIn loses the next n frames from the driver without a trace,
// as if they never arrived.
func (r *Reader) DropFramesIn(n int) { r.fault(&r.dropFramesIn, n) }

// Noise puts bytes on the line towards the driver, between frames.
func (r *Reader) Noise(b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.put(append([]byte(nil), b...))
}

func (r *Reader) fault(counter *int, n int) {
	r.mu.Lock()
	*counter += max(n, 0)
	r.mu.Unlock()
}
