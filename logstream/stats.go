package logstream

import (
	"fmt"
	"strings"
	"time"
)

// TargetStats is a snapshot of how one target keeps up, for operators: what
// it lags by, what it has in flight, and what went wrong on the way.
type TargetStats struct {
	Target string
	// RC is empty while the target streams, then how it ended.
	RC ReturnCode
	// Acked is the stream offset the target acknowledged.
	Acked int64
	// LagBytes is how many bytes the target is behind the file: those the
	// tailer has not read yet (Stats.Unread) plus those read that the
	// target has not acknowledged; LagAge is how long ago the oldest read
	// and unacknowledged byte was read (0 when there is none).
	LagBytes int64
	LagAge   time.Duration
	// InFlight counts the target's messages awaiting a reply; Window is
	// how many chunks it may have awaiting one now (at most
	// TailOptions.Window: 8, or more on a long round trip, as measured).
	InFlight int
	Window   int
	// Retries counts chunks sent to the target again; Heartbeats the
	// heartbeats sent to it.
	Retries    int
	Heartbeats int
	// NotReady counts NOT_READY replies (waits for the receiver to
	// register).
	NotReady int
	// Timeouts and CommErrors count lost attempts by cause (TIMEOUT,
	// COMMUNICATION_ERROR); OutOfOrder counts chunks the receiver refused
	// because an earlier one had not arrived yet, Held those it kept until
	// the earlier one came.
	Timeouts   int
	CommErrors int
	OutOfOrder int
	Held       int
	// Rereads counts chunks read again from the file for the target (it
	// fell behind the read-ahead buffer while retrying, see
	// TailOptions.ReadAhead); Gone is 1 if it was given up because bytes
	// it still needed could not be read again as they were (truncated
	// away, their file no longer held, or changed).
	Rereads int
	Gone    int
}

func (s *TargetStats) lost(rc ReturnCode) {
	if rc == CommunicationError {
		s.CommErrors++
	} else {
		s.Timeouts++
	}
}

// Stats is a snapshot of a LogProducer.
type Stats struct {
	// Read is how many bytes the source handed out; Unread how many it
	// found and has not handed out yet: the open file past them at the
	// tailer's last look, copies to read and queued generations (when the
	// source tells: a *Tailer does).
	Read   int64
	Unread int64
	// Buffered is how many bytes of buffers are held for some target (at
	// most twice ReadAhead); PeakBuffered the most ever held.
	Buffered     int64
	PeakBuffered int64
	// Paced counts the times reading was put off because the slowest live
	// target was ReadAhead behind.
	Paced int
	// Records counts the chunks kept as records (40 bytes each) for targets
	// behind the buffer; HeldFiles the finished files the source holds
	// open to read them again, and DroppedFiles those it closed early
	// because MaxQueuedFiles were held, HeldBytes their sizes (disk a
	// removed file keeps while it is held) (when the source tells: a
	// *Tailer does).
	Records      int
	HeldFiles    int
	DroppedFiles int
	HeldBytes    int64
	Targets      []TargetStats
}

// String formats s on one line per target.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "read=%d unread=%d buffered=%d (peak %d) paced=%d", s.Read, s.Unread, s.Buffered, s.PeakBuffered, s.Paced)
	if s.Records > 0 || s.HeldFiles > 0 || s.DroppedFiles > 0 {
		fmt.Fprintf(&b, " records=%d held-files=%d (%d bytes) dropped-files=%d", s.Records, s.HeldFiles, s.HeldBytes, s.DroppedFiles)
	}
	for _, t := range s.Targets {
		rc := string(t.RC)
		if rc == "" {
			rc = "streaming"
		}
		fmt.Fprintf(&b, "\n  %s %s acked=%d lag=%dB/%v inflight=%d/%d retries=%d heartbeats=%d not-ready=%d lost: timeout=%d comm=%d; out-of-order: refused=%d held=%d",
			t.Target, rc, t.Acked, t.LagBytes, t.LagAge.Round(time.Millisecond), t.InFlight, t.Window, t.Retries, t.Heartbeats,
			t.NotReady, t.Timeouts, t.CommErrors, t.OutOfOrder, t.Held)
		if t.Rereads > 0 || t.Gone > 0 {
			fmt.Fprintf(&b, "; reread=%d gone=%d", t.Rereads, t.Gone)
		}
	}
	return b.String()
}

// StatsReporter is implemented by producers that report Stats; the driver's
// goroutine may call it between the other Producer methods.
type StatsReporter interface {
	Stats(now time.Time) Stats
}

// Stats returns a snapshot of the producer at now.
func (p *LogProducer) Stats(now time.Time) Stats {
	s := Stats{Read: p.tail.Offset(), Buffered: p.bufBytes, PeakBuffered: p.peakBuf, Paced: p.paced, Records: len(p.recs)}
	if h, ok := p.tail.(interface{ Held() (int, int) }); ok {
		s.HeldFiles, s.DroppedFiles = h.Held()
	}
	if h, ok := p.tail.(interface{ HeldBytes() int64 }); ok {
		s.HeldBytes = h.HeldBytes()
	}
	if u, ok := p.tail.(interface{ Unread() int64 }); ok {
		s.Unread = u.Unread()
	}
	end := p.tail.Offset()
	for _, t := range p.targets {
		ts := t.st
		ts.Target, ts.RC, ts.Acked = t.name, t.rc, t.ackedTo
		if t.state == targetActive {
			ts.Window = p.window(t)
			ts.LagBytes = max(end-t.ackedTo, 0) + s.Unread
			for _, f := range t.win {
				if f.id != 0 {
					ts.InFlight++
				}
			}
			if t.hbID != 0 {
				ts.InFlight++
			}
			if end > t.ackedTo {
				n := t.sendN
				if len(t.win) > 0 {
					n = t.win[0].n
				}
				if c := p.chunkAt(n); c != nil {
					ts.LagAge = now.Sub(c.readAt)
				} else if p.recorded(n) {
					ts.LagAge = now.Sub(time.Unix(0, p.recs[n-p.recN].at))
				}
			}
		}
		s.Targets = append(s.Targets, ts)
	}
	return s
}
