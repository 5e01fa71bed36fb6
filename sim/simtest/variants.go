package simtest

import (
	"io"
	"time"

	"github.com/spf13/afero"
	"pgregory.net/rapid"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
)

// Variant is a deliberately broken streamer: the oracle must catch it.
type Variant struct {
	// Name says what is broken.
	Name string
	// Apply installs the breakage into cfg.
	Apply func(cfg *sim.Config)
	// Caught is the property that must catch it.
	Caught oracle.Property
	// Gen, if set, draws the worlds that expose it (default Config).
	Gen *rapid.Generator[sim.Config]
}

// Variants are the broken streamers of the oracle's own test.
var Variants = []Variant{
	{"no-drain-on-rotation", func(c *sim.Config) {
		c.Variants.Source = tailerOn(func(fsys afero.Fs) afero.Fs { return noDrainFs{fsys} })
	}, oracle.PropBytes, rotateThenLateWrite},
	{"truncation-by-size-only", func(c *sim.Config) {
		c.Variants.Source = tailerOn(func(fsys afero.Fs) afero.Fs { return staleHeadFs{fsys} })
		// Believing the stale head, the tailer can find the file regrown
		// at every look and read it again from 0, never ending: such a
		// run would go on to its limit (1-4 million steps, most of the
		// suite's time under -race, the bulk of a swarm's), while the
		// duplicates show within a few hundred steps of the truncate.
		// The step budget cuts it (a livelock violation, after those).
		if c.MaxSteps <= 0 || c.MaxSteps > staleHeadSteps {
			c.MaxSteps = staleHeadSteps
		}
	}, oracle.PropBytes, truncateRegrow},
	{"no-offset-dedupe", func(c *sim.Config) {
		c.Variants.Factory = func(chunk logstream.ChunkFunc, idle time.Duration) logstream.ConsumerFactory {
			return noDedupeFactory{chunk, idle}
		}
	}, oracle.PropBytes, nil},
	{"done-without-once-guard", func(c *sim.Config) {
		c.Variants.Receiver = func() sim.Receiver { return &doneTwice{Dispatcher: logstream.NewDispatcher()} }
	}, oracle.PropDoneOnce, nil},
	{"chunk-after-watchdog", func(c *sim.Config) {
		c.Variants.Receiver = func() sim.Receiver {
			return &lateChunks{Dispatcher: logstream.NewDispatcher(), consumers: map[string]logstream.Consumer{}}
		}
	}, oracle.PropDoneAfter, nil},
	// Liars and corner-cutters (liars.go).
	{"gives-up-early", func(c *sim.Config) {
		c.Variants.Source = func(fsys afero.Fs, path string, opt logstream.TailOptions, obs func(logstream.TailEvent)) logstream.Source {
			return &giveUpEarly{Source: logstream.NewTailer(fsys, path, opt, obs), obs: obs}
		}
	}, oracle.PropBytes, backlogAtStop},
	{"caps-old-file-at-rotation", func(c *sim.Config) {
		c.Variants.Source = func(fsys afero.Fs, path string, opt logstream.TailOptions, obs func(logstream.TailEvent)) logstream.Source {
			return logstream.NewTailer(capFs{Fs: fsys, obs: obs}, path, opt, obs)
		}
	}, oracle.PropBytes, rotateThenLateWrite},
	{"one-chunk-per-poll", func(c *sim.Config) {
		c.Variants.Source = func(fsys afero.Fs, path string, opt logstream.TailOptions, obs func(logstream.TailEvent)) logstream.Source {
			return &oneChunkPerPoll{Source: logstream.NewTailer(fsys, path, opt, obs), poll: opt.PollInterval}
		}
	}, oracle.PropTermination, fastWriter},
	{"no-path-poll-while-draining", func(c *sim.Config) {
		c.Variants.Source = func(fsys afero.Fs, path string, opt logstream.TailOptions, obs func(logstream.TailEvent)) logstream.Source {
			return logstream.NewTailer(&blindFs{Fs: fsys, path: path, chunk: opt.ChunkSize}, path, opt, obs)
		}
	}, oracle.PropBytes, lagAtStop},
	{"drops-chunk-after-retry", func(c *sim.Config) {
		c.Variants.Producer = func(p *logstream.LogProducer) logstream.Producer { return &skipAfterRetry{LogProducer: p} }
	}, oracle.PropCause, lostRequests},
	{"acks-eof-before-last-chunk", func(c *sim.Config) {
		c.Variants.Producer = func(p *logstream.LogProducer) logstream.Producer {
			return &skipAfterRetry{LogProducer: p, onlyStopped: true}
		}
		c.Variants.Factory = func(chunk logstream.ChunkFunc, idle time.Duration) logstream.ConsumerFactory {
			return eofAnyOffset{chunk, idle}
		}
	}, oracle.PropBytes, dropsAtStop},
	{"gives-up-behind-read-ahead", func(c *sim.Config) {
		c.Variants.Source = func(fsys afero.Fs, path string, opt logstream.TailOptions, obs func(logstream.TailEvent)) logstream.Source {
			return noReread{logstream.NewTailer(fsys, path, opt, obs)}
		}
	}, oracle.PropCause, behindReadAhead},
	{"holds-half-its-read-ahead", func(c *sim.Config) {
		c.Variants.Tail = func(o logstream.TailOptions) logstream.TailOptions {
			o.ReadAhead = max(o.ReadAhead/2, int64(o.ChunkSize))
			o.MaxLag = max(o.MaxLag, o.ReadAhead)
			return o
		}
	}, oracle.PropBytes, truncateBehindReadAhead},
	{"no-reread-from-copy", func(c *sim.Config) {
		c.Variants.Source = func(fsys afero.Fs, path string, opt logstream.TailOptions, obs func(logstream.TailEvent)) logstream.Source {
			return fileOnlyReread{noReread{logstream.NewTailer(fsys, path, opt, obs)}}
		}
	}, oracle.PropCause, copytruncateBehind},
	{"reread-bytes-always-gone", func(c *sim.Config) {
		c.Variants.Source = func(fsys afero.Fs, path string, opt logstream.TailOptions, obs func(logstream.TailEvent)) logstream.Source {
			return goneReread{noReread{logstream.NewTailer(fsys, path, opt, obs)}}
		}
	}, oracle.PropCause, behindReadAhead},
}

// tailerOn returns a Source that is the real Tailer, looking at the files
// through wrap.
func tailerOn(wrap func(afero.Fs) afero.Fs) func(afero.Fs, string, logstream.TailOptions, func(logstream.TailEvent)) logstream.Source {
	return func(fsys afero.Fs, path string, opt logstream.TailOptions, obs func(logstream.TailEvent)) logstream.Source {
		return logstream.NewTailer(wrap(fsys), path, opt, obs)
	}
}

// noDrainFs makes a handle read as empty once its file is no longer at the
// path it was opened by: the real tailer then switches to the new file
// without reading what was left in the old one, like FLARE's tailer (H1).
type noDrainFs struct{ afero.Fs }

func (fsys noDrainFs) Open(name string) (afero.File, error) {
	f, err := fsys.Fs.Open(name)
	if err != nil {
		return f, err
	}
	return &noDrainFile{File: f, fs: fsys.Fs, path: name}, nil
}

type noDrainFile struct {
	afero.File
	fs   afero.Fs
	path string
}

func (f *noDrainFile) ReadAt(p []byte, off int64) (int, error) {
	mine, err1 := f.File.Stat()
	cur, err2 := f.fs.Stat(f.path)
	if err1 == nil && err2 == nil {
		a, _ := logstream.Identity(mine)
		b, _ := logstream.Identity(cur)
		if a != b {
			return 0, io.EOF
		}
	}
	return f.File.ReadAt(p, off)
}

// staleHeadFs answers every read of a file's first bytes (the tailer's
// truncate-then-regrow check) with what that handle first saw there, so
// that only a size below the offset reveals a truncation (FLARE's H3).
type staleHeadFs struct{ afero.Fs }

func (fsys staleHeadFs) Open(name string) (afero.File, error) {
	f, err := fsys.Fs.Open(name)
	if err != nil {
		return f, err
	}
	return &staleHeadFile{File: f}, nil
}

type staleHeadFile struct {
	afero.File
	head []byte
}

// staleHeadSteps is the step budget (sim.Config.MaxSteps) of a
// truncation-by-size-only run: fifty times what a swarm run usually takes.
const staleHeadSteps = 100_000

// headProbe is the largest read taken for a head check (logstream reads at
// most 64 bytes for it; data reads are ChunkSize, at least 512 here).
const headProbe = 64

func (f *staleHeadFile) ReadAt(p []byte, off int64) (int, error) {
	if off == 0 && len(p) <= headProbe && len(f.head) >= len(p) {
		return copy(p, f.head), nil
	}
	n, err := f.File.ReadAt(p, off)
	if off == 0 && len(f.head) < headProbe {
		f.head = append(f.head[:0], p[:min(n, headProbe)]...)
	}
	return n, err
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
	// A StreamInfo of its own: the Dispatcher's would make the consumer
	// refuse chunks after the end.
	own := &logstream.StreamInfo{ID: info.ID, Channel: info.Channel, Topic: info.Topic, Ctx: info.Ctx, EndStream: info.EndStream}
	c, err := f.ConsumerFactory.NewConsumer(now, own)
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
