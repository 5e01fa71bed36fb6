package simtest

import (
	"errors"
	"io"
	"time"

	"github.com/spf13/afero"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

// Variant is a deliberately broken streamer: the oracle must catch it.
type Variant struct {
	// Name says what is broken.
	Name string
	// Apply installs the breakage into cfg.
	Apply func(cfg *sim.Config)
}

// Variants are the broken streamers of the oracle's own test.
var Variants = []Variant{
	{"no-drain-on-rotation", func(c *sim.Config) { c.Variants.Source = naive(false) }},
	{"truncation-by-size-only", func(c *sim.Config) { c.Variants.Source = naive(true) }},
	{"no-offset-dedupe", func(c *sim.Config) {
		c.Variants.Factory = func(chunk logstream.ChunkFunc, idle time.Duration) logstream.ConsumerFactory {
			return noDedupeFactory{chunk, idle}
		}
	}},
	{"done-without-once-guard", func(c *sim.Config) {
		c.Variants.Receiver = func() sim.Receiver { return &doneTwice{Dispatcher: logstream.NewDispatcher()} }
	}},
	{"chunk-after-watchdog", func(c *sim.Config) {
		c.Variants.Receiver = func() sim.Receiver {
			return &lateChunks{Dispatcher: logstream.NewDispatcher(), consumers: map[string]logstream.Consumer{}}
		}
	}},
}

// naive returns a reference-like tailer: it detects truncation by size alone
// (FLARE's H3), and on rotation it opens the new file at once, losing what
// was left in the old one (H1), unless drain is set.
func naive(drain bool) func(afero.Fs, string, logstream.TailOptions, func(logstream.TailEvent)) logstream.Source {
	return func(fsys afero.Fs, path string, opt logstream.TailOptions, obs func(logstream.TailEvent)) logstream.Source {
		return &naiveTailer{fs: fsys, path: path, opt: opt, obs: obs, drain: drain}
	}
}

// naiveTailer is a small tailer in the style of the reference.
type naiveTailer struct {
	fs    afero.Fs
	path  string
	opt   logstream.TailOptions
	obs   func(logstream.TailEvent)
	drain bool

	f       afero.File
	id      logstream.FileID
	gen     int
	foff    int64
	soff    int64
	stopped bool
	stopAt  time.Time
	quietAt time.Time
	done    bool
	buf     []byte
}

func (t *naiveTailer) emit(now time.Time, k logstream.TailEventKind) {
	t.obs(logstream.TailEvent{Kind: k, At: now, File: t.id, Gen: t.gen, FileOffset: t.foff, Offset: t.soff})
}

func (t *naiveTailer) Offset() int64 { return t.soff }
func (t *naiveTailer) Close() error {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
	return nil
}
func (t *naiveTailer) Stop(now time.Time) {
	if !t.stopped {
		t.stopped, t.stopAt = true, now
	}
}

func (t *naiveTailer) open(now time.Time) {
	f, err := t.fs.Open(t.path)
	t.emit(now, logstream.TailChecked)
	if err != nil {
		return
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return
	}
	t.f, t.foff = f, 0
	t.id, _ = logstream.Identity(fi)
	t.gen++
	t.emit(now, logstream.TailOpened)
}

func (t *naiveTailer) read(now time.Time) (logstream.TailAction, bool) {
	if cap(t.buf) < t.opt.ChunkSize {
		t.buf = make([]byte, t.opt.ChunkSize)
	}
	n, err := t.f.ReadAt(t.buf[:t.opt.ChunkSize], t.foff)
	if n == 0 || err != nil && !errors.Is(err, io.EOF) {
		return logstream.TailAction{}, false
	}
	a := logstream.TailAction{Kind: logstream.TailData, Data: append([]byte(nil), t.buf[:n]...), Offset: t.soff, File: t.id, FileOffset: t.foff}
	t.foff += int64(n)
	t.soff += int64(n)
	t.quietAt = time.Time{}
	return a, true
}

func (t *naiveTailer) Next(now time.Time) logstream.TailAction {
	if t.done || t.stopped && !now.Before(t.stopAt.Add(t.opt.DrainWindow)) {
		return t.end(now)
	}
	if t.f == nil {
		t.open(now)
	} else if fi, err := t.fs.Stat(t.path); err == nil {
		t.emit(now, logstream.TailChecked)
		if id, _ := logstream.Identity(fi); id != t.id {
			if t.drain {
				if a, ok := t.read(now); ok {
					return a
				}
			}
			t.emit(now, logstream.TailRotated)
			t.Close()
			t.open(now)
		} else if cur, err := t.f.Stat(); err == nil && cur.Size() < t.foff {
			t.emit(now, logstream.TailTruncated)
			t.foff = 0
		}
	}
	if t.f != nil {
		if a, ok := t.read(now); ok {
			return a
		}
	}
	if t.stopped {
		if t.quietAt.IsZero() {
			t.quietAt = now
		} else if !now.Before(t.quietAt.Add(t.opt.PollInterval)) {
			return t.end(now)
		}
	}
	return logstream.TailAction{Kind: logstream.TailWait, Until: now.Add(t.opt.PollInterval)}
}

func (t *naiveTailer) end(now time.Time) logstream.TailAction {
	if !t.done {
		t.done = true
		t.emit(now, logstream.TailEnd)
		t.Close()
	}
	return logstream.TailAction{Kind: logstream.TailEOF, Offset: t.soff}
}

// noDedupeFactory makes consumers that forward every data message whole,
// whatever its offset.
type noDedupeFactory struct {
	chunk logstream.ChunkFunc
	idle  time.Duration
}

func (f noDedupeFactory) NewConsumer(now time.Time, info *logstream.StreamInfo) (logstream.Consumer, error) {
	return &noDedupe{LogConsumer: logstream.NewLogConsumer(now, info, nil, f.idle), chunk: f.chunk, info: info}, nil
}

type noDedupe struct {
	*logstream.LogConsumer
	chunk logstream.ChunkFunc
	info  *logstream.StreamInfo
	next  int64
}

func (c *noDedupe) Consume(now time.Time, m *logstream.Message) (bool, logstream.Reply) {
	if m.Kind != logstream.KindData {
		more, r := c.LogConsumer.Consume(now, m)
		if m.Kind == logstream.KindEOF {
			return false, logstream.Reply{RC: logstream.OK, Next: m.Offset}
		}
		r.Next = c.next
		return more, r
	}
	c.LogConsumer.Consume(now, m) // keeps the idle clock
	c.chunk(m.Data, c.info)
	c.next = max(c.next, m.End())
	return true, logstream.Reply{RC: logstream.OK, Next: m.End()}
}

// doneTwice calls the done callback again when a message arrives for a
// stream that already ended: a done path without the once guard.
type doneTwice struct {
	*logstream.Dispatcher
	done logstream.DoneFunc
	info map[string]*logstream.StreamInfo
}

func (d *doneTwice) Register(channel, topic string, f logstream.ConsumerFactory, done logstream.DoneFunc) error {
	d.done = done
	d.info = map[string]*logstream.StreamInfo{}
	return d.Dispatcher.Register(channel, topic, f, func(info *logstream.StreamInfo) {
		d.info[info.ID] = info
		done(info)
	})
}

func (d *doneTwice) Handle(now time.Time, m *logstream.Message) logstream.Reply {
	r := d.Dispatcher.Handle(now, m)
	if info := d.info[m.StreamID]; r.Closed && info != nil {
		d.done(info)
	}
	return r
}

// lateChunks hands data that arrives after the stream ended to the ended
// stream's consumer anyway: consume and the watchdog not mutually
// exclusive (FLARE's H15).
type lateChunks struct {
	*logstream.Dispatcher
	consumers map[string]logstream.Consumer
}

func (d *lateChunks) Register(channel, topic string, f logstream.ConsumerFactory, done logstream.DoneFunc) error {
	return d.Dispatcher.Register(channel, topic, keepFactory{f, d.consumers}, done)
}

type keepFactory struct {
	logstream.ConsumerFactory
	consumers map[string]logstream.Consumer
}

func (f keepFactory) NewConsumer(now time.Time, info *logstream.StreamInfo) (logstream.Consumer, error) {
	c, err := f.ConsumerFactory.NewConsumer(now, info)
	if err == nil {
		f.consumers[info.ID] = c
	}
	return c, err
}

func (d *lateChunks) Handle(now time.Time, m *logstream.Message) logstream.Reply {
	r := d.Dispatcher.Handle(now, m)
	if c := d.consumers[m.StreamID]; r.Closed && c != nil && m.Kind == logstream.KindData {
		c.Consume(now, m)
	}
	return r
}
