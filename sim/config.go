package sim

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/afero"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
)

// Config describes one simulated run. Zero fields take the defaults below.
type Config struct {
	// Seed drives every random choice of the run.
	Seed uint64
	// Targets are the receivers' names (default r1).
	Targets []string
	// Path is the tailed file (default /logs/app.log).
	Path string
	// Tail are the sender's options (logstream defaults).
	Tail logstream.TailOptions
	// IdleTimeout is the receivers' watchdog (default 30 s; negative: off).
	IdleTimeout time.Duration
	// Horizon is how long the writer writes and the latest time a plan's
	// fault may take effect (default 10 min).
	Horizon time.Duration
	// StopAt is when the sender is told to stop, unless the plan has a stop
	// fault (default: Horizon).
	StopAt time.Duration
	// Limit is how long the run may go on in virtual time after Horizon
	// before it is declared stuck (default 30 min).
	Limit time.Duration
	// MaxSteps bounds the events a run may process before it is cut and
	// reported as a livelock (default 2000 per virtual second of
	// Horizon+Limit, at least 2,000,000).
	MaxSteps int64
	// Writer shapes the writer's output.
	Writer WriterConfig
	// Latency is the network delay when the plan sets none (default a
	// fixed 1 ms).
	Latency time.Duration
	// Bandwidth, if > 0, is each link's capacity in bytes per second, each
	// way: a message occupies the link from the sender to its target (or
	// back) for its size (data plus LinkOverhead) divided by Bandwidth,
	// after the messages sent on it before, and then takes the network
	// delay. Zero: unlimited.
	Bandwidth int64
	// Plan is the fault plan.
	Plan faults.Plan
	// Trace, if set, receives the JSON-lines trace.
	Trace io.Writer
	// Events models file-system events (fsnotify in the real driver). Off
	// by default: the tailer only polls.
	Events FileEvents
	// ReuseInodes makes the simulated file system give the inode number
	// of a file it freed (no name, no open handle) to the next file it
	// creates, as ext4 and xfs often do at once (simfs.FS.SetInodeReuse):
	// a rotator's new file may then carry a deleted generation's number.
	// The record still tells the files apart (simfs.Serial).
	ReuseInodes bool

	// Variants replace parts of the streamer, for the oracle's own tests.
	Variants Variants
}

// WriterConfig shapes the simulated writer.
type WriterConfig struct {
	// Rate is the average number of bytes written per second (default 4096).
	Rate int64
	// MaxWrite is the largest single write (default 512); a burst is cut
	// into writes of 1..MaxWrite bytes, so lines end up split across
	// writes and reads.
	MaxWrite int
	// BurstEvery is the mean time between bursts (exponentially
	// distributed; default 1 s). A burst writes, at one instant, what the
	// rate accumulated since the previous one.
	BurstEvery time.Duration
	// Start is when the file is created and writing starts (default 0).
	Start time.Duration
	// Until is when the writer stops (default StopAt + 1 s, so that some
	// bytes are written after stop).
	Until time.Duration
}

// FileEvents models the delivery of file-system events to the sender, as
// the real driver gets them from fsnotify: each change in the log's
// directory (a write, create, rename, copy, truncate or delete) wakes the
// sender Delay later; a change other than a write to the file being
// written also tells the tailer to look at the path and the rotated names
// at once (Tailer.Changed). Events that arrive while one is pending
// coalesce, like a full event queue.
type FileEvents struct {
	// On turns event delivery on.
	On bool
	// Delay is how long an event takes to arrive (default 1 ms).
	Delay time.Duration
	// Overflow is the probability that an event is lost (the kernel
	// queue overflowed); the tailer's poll still finds the change.
	Overflow float64
}

// Receiver is the receiving half of an engine; *logstream.Dispatcher is the
// real one.
type Receiver interface {
	Register(channel, topic string, f logstream.ConsumerFactory, done logstream.DoneFunc) error
	Handle(now time.Time, m *logstream.Message) logstream.Reply
	NextDeadline() (time.Time, bool)
	Expire(now time.Time) int
	Shutdown()
}

// Variants substitute parts of the streamer. Nil fields use the real ones.
type Variants struct {
	// Source makes the sender's source (default logstream.NewTailer).
	Source func(fsys afero.Fs, path string, opt logstream.TailOptions, obs func(logstream.TailEvent)) logstream.Source
	// Factory makes the receivers' consumer factory (default
	// logstream.LogConsumerFactory).
	Factory func(chunk logstream.ChunkFunc, idle time.Duration) logstream.ConsumerFactory
	// Receiver makes each receiver's dispatcher (default
	// logstream.NewDispatcher).
	Receiver func() Receiver
	// Producer wraps the sender's producer (default: used as is). A
	// wrapper that has a Stop(time.Time) method is told of the stop.
	Producer func(p *logstream.LogProducer) logstream.Producer
	// Tail changes the options the sender's producer runs with; the
	// record declares Config.Tail (a sender that does not do what it
	// declares).
	Tail func(o logstream.TailOptions) logstream.TailOptions
}

// Channel and Topic of simulated streams (those of FLARE's job log streamer).
const (
	Channel = "log_streaming"
	Topic   = "live_log"
)

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("sim: bad config")

func (c Config) withDefaults() (Config, error) {
	if len(c.Targets) == 0 {
		c.Targets = []string{"r1"}
	}
	seen := map[string]bool{}
	for _, t := range c.Targets {
		if t == "" || seen[t] {
			return c, fmt.Errorf("%w: target %q empty or repeated", ErrConfig, t)
		}
		seen[t] = true
	}
	if c.Path == "" {
		c.Path = "/logs/app.log"
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = logstream.DefaultIdleTimeout
	}
	if c.IdleTimeout < 0 {
		c.IdleTimeout = 0
	}
	// The receivers' idle timeout is the sender's too: the same rules as
	// StreamLog and scenario files (logstream.ValidateStream).
	tail, err := logstream.ValidateStream(c.Tail, c.IdleTimeout)
	if err != nil {
		return c, err
	}
	c.Tail = tail
	if c.Horizon <= 0 {
		c.Horizon = 10 * time.Minute
	}
	if c.StopAt <= 0 {
		c.StopAt = c.Horizon
	}
	for _, f := range c.Plan.Faults {
		if f.Kind == faults.Stop {
			c.StopAt = f.At
			break
		}
	}
	if c.Limit <= 0 {
		c.Limit = 30 * time.Minute
	}
	if c.MaxSteps <= 0 {
		c.MaxSteps = max(2_000_000, int64((c.Horizon+c.Limit)/time.Second)*2000)
	}
	if c.Latency <= 0 {
		c.Latency = time.Millisecond
	}
	if c.Bandwidth < 0 {
		return c, fmt.Errorf("%w: Bandwidth %d must be >= 0 (0: unlimited)", ErrConfig, c.Bandwidth)
	}
	if c.Events.Delay < 0 {
		return c, fmt.Errorf("%w: Events.Delay %v must be >= 0", ErrConfig, c.Events.Delay)
	}
	if c.Events.Overflow < 0 || c.Events.Overflow > 1 {
		return c, fmt.Errorf("%w: Events.Overflow %v must be in [0,1]", ErrConfig, c.Events.Overflow)
	}
	if c.Events.Delay == 0 {
		c.Events.Delay = time.Millisecond
	}
	w := &c.Writer
	if w.Rate <= 0 {
		w.Rate = 4096
	}
	if w.MaxWrite <= 0 {
		w.MaxWrite = 512
	}
	if w.BurstEvery <= 0 {
		w.BurstEvery = time.Second
	}
	if w.Until <= 0 {
		w.Until = c.StopAt + time.Second
	}
	if err := c.Plan.Validate(); err != nil {
		return c, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	for _, f := range c.Plan.Faults {
		if f.Target != "" && !seen[f.Target] {
			return c, fmt.Errorf("%w: fault %q names unknown target %q", ErrConfig, f.String(), f.Target)
		}
	}
	return c, nil
}
