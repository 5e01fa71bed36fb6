package sim

import (
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// receiver is one simulated receiving engine.
type receiver struct {
	name     string
	recv     Receiver
	log      *TargetLog
	dec      decoder
	ended    bool
	expireAt time.Time // when a watchdog event is scheduled (zero: none)
	// cur is the message being handled: the decoder locates a short piece
	// of delivered data in the message's own bytes (what the network
	// carried), never in what the streamer says it read.
	cur *logstream.Message
	// lastSend is when the sender last put a message for this target on
	// the network; lastFailed is set when the last attempt got no OK
	// answer.
	lastSend   time.Time
	lastFailed bool
	// lostOpen and notReadyOpen: the last attempt extends the last span
	// of TargetLog.Lost or NotReady.
	lostOpen, notReadyOpen bool
	// lost are the attempts of the open span of TargetLog.Lost, in the
	// order their losses came: an answer to an attempt sent before some
	// of them splits the span there (attempts in a row are in send order).
	lost []lostAttempt
	// ackEnd is the end of TargetLog.Acked; acks holds the OK-answered
	// chunks past it (offset to end).
	ackEnd int64
	acks   map[int64]int64
}

// noteAck records an OK reply to the data chunk [off, end) reaching the
// sender (TargetLog.Acked).
func (r *receiver) noteAck(step int64, at time.Time, off, end int64) {
	if end <= r.ackEnd {
		return
	}
	if off > r.ackEnd {
		if r.acks == nil {
			r.acks = map[int64]int64{}
		}
		r.acks[off] = max(r.acks[off], end)
		return
	}
	r.ackEnd = end
	// Chunks answered earlier that now join the run (at most a window's
	// worth are held; the result does not depend on the map's order).
	for grown := true; grown; {
		grown = false
		for o, e := range r.acks {
			if o <= r.ackEnd {
				delete(r.acks, o)
				if e > r.ackEnd {
					r.ackEnd, grown = e, true
				}
			}
		}
	}
	r.log.Acked = append(r.log.Acked, Ack{Step: step, At: at, End: r.ackEnd})
}

// lostAttempt is one lost attempt: the flight's send order and when the
// sender learnt of the loss.
type lostAttempt struct {
	seq uint64
	at  time.Time
}

// msgHint returns the content position of stream offset off in the data
// message being handled, located from the message's bytes.
func (r *receiver) msgHint(off int64) (src, n int64, ok bool) {
	m := r.cur
	if m == nil || m.Kind != logstream.KindData || off < m.Offset || off >= m.Offset+int64(len(m.Data)) {
		return 0, 0, false
	}
	data, rel := m.Data, off-m.Offset
	for pos := int64(0); int64(len(data))-pos >= MinLocate; {
		s, ok := Locate(r.dec.key, data[pos:pos+MinLocate])
		if !ok {
			return 0, 0, false
		}
		k := int64(r.dec.match(s, data[pos:]))
		if k <= 0 {
			return 0, 0, false
		}
		if tail := int64(len(data)) - pos - k; tail > 0 && tail < MinLocate && r.dec.guess != nil {
			// The message ends with a piece too short to locate. The
			// run's last bytes may have matched the piece's first by
			// chance (a byte in 256): a read the file system served
			// that covers them and the piece places both (swarm seed
			// 1754 of the files mix: a kept head read again ended with
			// two bytes of a later write, the first equal to the head's
			// next byte, and the second was taken for invented).
			for j := int64(1); j < MinLocate && j < k; j++ {
				if gs, gn, ok := r.dec.guess(data[pos+k-j:]); ok && gn == tail+j {
					if rel < pos+k-j {
						return s + rel - pos, pos + k - j - rel, true
					}
					return gs + rel - (pos + k - j), int64(len(data)) - rel, true
				}
			}
		}
		if rel < pos+k {
			return s + rel - pos, pos + k - rel, true
		}
		pos += k
	}
	return 0, 0, false
}

func (w *World) newReceiver(name string) *receiver {
	r := &receiver{name: name, log: &TargetLog{Name: name}, dec: decoder{key: 0}}
	if w.cfg.Variants.Receiver != nil {
		r.recv = w.cfg.Variants.Receiver()
	} else {
		r.recv = logstream.NewDispatcher()
	}
	w.hist.Targets = append(w.hist.Targets, r.log)
	return r
}

func (w *World) receiver(name string) *receiver {
	for _, r := range w.receivers {
		if r.name == name {
			return r
		}
	}
	return nil
}

// register installs the log consumer on r, as RegisterStreamProcessing does.
func (w *World) register(r *receiver) {
	r.dec.key, r.dec.hint, r.dec.guess, r.dec.written = w.hist.Key, r.msgHint, w.guess, w.writtenRun
	r.dec.follow = w.follow
	chunk := func(data []byte, info *logstream.StreamInfo) error {
		if r.ended {
			r.log.AfterDone++
			w.trace("recv", "chunk-after-done", str("target", r.name), num("len", int64(len(data))))
		}
		r.log.Delivered += int64(len(data))
		r.log.Progress = append(r.log.Progress, Progress{At: w.now, Delivered: r.log.Delivered})
		r.log.Runs = r.dec.add(r.log.Runs, w.now, w.step, data)
		return nil
	}
	var f logstream.ConsumerFactory
	if w.cfg.Variants.Factory != nil {
		f = w.cfg.Variants.Factory(chunk, w.cfg.IdleTimeout)
	} else {
		// The normalized config's 0 is "off"; ReceiveOptions says it.
		f = &logstream.LogConsumerFactory{Chunk: chunk, ReceiveOptions: logstream.ReceiveOptions{
			IdleTimeout: w.cfg.IdleTimeout, NoIdleTimeout: w.cfg.IdleTimeout == 0}}
	}
	f = &recordingFactory{ConsumerFactory: f, w: w, r: r}
	done := func(info *logstream.StreamInfo) {
		r.ended = true
		r.log.Done = append(r.log.Done, Done{Step: w.step, At: w.now, RC: info.RC})
		w.trace("recv", "done", str("target", r.name), str("rc", string(info.RC)), num("delivered", r.log.Delivered))
	}
	if err := r.recv.Register(Channel, Topic, f, done); err != nil {
		panic("sim: register: " + err.Error()) // constant, valid arguments
	}
	r.log.Registered = w.now
	w.trace("recv", "registered", str("target", r.name))
}

// recordingFactory notes when a stream is created.
type recordingFactory struct {
	logstream.ConsumerFactory
	w *World
	r *receiver
}

func (f *recordingFactory) NewConsumer(now time.Time, info *logstream.StreamInfo) (logstream.Consumer, error) {
	c, err := f.ConsumerFactory.NewConsumer(now, info)
	if err == nil {
		if f.w.adv.infos == nil {
			f.w.adv.infos = map[string]*logstream.StreamInfo{}
		}
		f.w.adv.infos[f.r.name] = info
	}
	if err == nil && f.r.log.Created.IsZero() {
		f.r.log.Created = now
		f.w.trace("recv", "created", str("target", f.r.name), str("stream", info.ID))
	}
	return c, err
}

// armWatchdog makes sure an event runs at r's next idle deadline.
func (w *World) armWatchdog(r *receiver) {
	t, ok := r.recv.NextDeadline()
	if !ok || (!r.expireAt.IsZero() && !t.Before(r.expireAt) && !r.expireAt.Before(w.now)) {
		return
	}
	r.expireAt = t
	w.atTime(t, func() {
		if !r.expireAt.Equal(t) {
			return
		}
		r.expireAt = time.Time{}
		if n := r.recv.Expire(w.now); n > 0 {
			w.trace("recv", "watchdog", str("target", r.name))
			w.retryWaiting(r)
		}
		w.armWatchdog(r)
	})
}

func (w *World) shutdownReceiver(r *receiver) {
	if !r.log.Shutdown.IsZero() {
		return
	}
	r.log.Shutdown = w.now
	w.trace("recv", "shutdown", str("target", r.name))
	r.recv.Shutdown()
	w.retryWaiting(r)
}
