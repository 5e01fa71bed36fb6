package logstream

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
)

// Defaults, the same as FLARE's stream_log and register_stream_processing
// where FLARE has the parameter.
const (
	DefaultPollInterval     = 500 * time.Millisecond
	DefaultLivenessInterval = 10 * time.Second
	DefaultIdleTimeout      = 30 * time.Second
	DefaultChunkSize        = 64 * 1024
	DefaultChunkTimeout     = 5 * time.Second
	DefaultDrainWindow      = 5 * time.Second
	DefaultRetryBackoff     = 100 * time.Millisecond
	DefaultMaxRetryBackoff  = 5 * time.Second
	DefaultRetryLimit       = 10
	DefaultNotReadyTimeout  = 60 * time.Second
	// DefaultWindow is how many chunks may await a target's reply at once.
	// 32 chunks of 64 KiB keep a 10 MiB/s writer above 90% over a
	// 100 Mbit/s link with a 100 ms one-way delay, 24 give 71%, 16 give
	// 47% (BenchmarkWANWindow in package sim); W=1 is FLARE's
	// stop-and-wait.
	DefaultWindow = 32
	// DefaultReadAhead bounds the bytes read from the file and not yet
	// acknowledged by every live target served from memory: 8 MiB, four
	// times a full default window of 64 KiB chunks. Over loopback it is
	// faster than 32 MiB (1 MiB chunks, 6 interleaved runs each: a file
	// being appended 1779-2096 MiB/s against 1529-1726 and one run at
	// 538; a written file 2760-3142 against 2211-2560 MiB/s): chunks
	// read 32 MiB ahead are out of the caches when they are sent. It is
	// also what a truncation can take from an unreachable target's
	// unsent bytes at most, so raise it where plain truncation (not
	// rotation or copytruncate, whose bytes stay readable) of a lagging
	// log is expected.
	DefaultReadAhead      = 8 << 20
	DefaultMaxQueuedFiles = 32
	// DefaultMaxLag bounds how far a target served by re-reading may fall
	// behind: 1 GiB, 16384 full chunks of 64 KiB, whose records take
	// 640 KiB.
	DefaultMaxLag = 1 << 30
)

// ErrInvalidOption is wrapped by every option validation error.
var ErrInvalidOption = errors.New("invalid option")

// OptionError names the parameter that failed validation.
type OptionError struct {
	Param  string
	Value  any
	Reason string
}

// Error formats the parameter, its value and why it was rejected.
func (e *OptionError) Error() string {
	return fmt.Sprintf("invalid option %s=%v: %s", e.Param, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// TailOptions configure the sending side (FLARE's stream_log keyword
// arguments, and more).
//
// The zero value of every field selects its default, so TailOptions{} is
// FLARE's configuration with our fixes. Where "none" is a setting users
// need and zero is the default, a separate field says it, like Rotated.Off
// (NoRetries); the fields whose zero could only mean something useless (a
// busy loop, an empty chunk, a reply that must come in no time) have no such
// switch. Negative values are rejected with an *OptionError naming the
// field. Normalize fills the defaults in; its result normalizes to itself.
type TailOptions struct {
	// PollInterval is how long to wait for new data after an empty read
	// (0: DefaultPollInterval, FLARE's poll_interval). No "none": polling
	// without a pause would be a busy loop; file-system events wake the
	// tailer sooner where the platform has them.
	PollInterval time.Duration
	// LivenessInterval is how long a target may go without a message before
	// it gets a heartbeat (0: DefaultLivenessInterval, FLARE's
	// liveness_interval). No "none": receivers' idle watchdogs rely on
	// heartbeats.
	LivenessInterval time.Duration
	// IdleTimeout is the receivers' idle timeout, if the sender knows it; it
	// is used only to check LivenessInterval < IdleTimeout (FLARE's
	// idle_timeout argument of stream_log). 0: unknown, or the receivers
	// run no watchdog; nothing is checked.
	IdleTimeout time.Duration
	// ChunkSize is the largest number of bytes in one data message (0:
	// DefaultChunkSize, FLARE's chunk_size).
	ChunkSize int
	// ChunkTimeout is how long to wait for each target's reply (0:
	// DefaultChunkTimeout, FLARE's chunk_timeout).
	ChunkTimeout time.Duration
	// DrainWindow bounds how long the sender keeps reading after stop
	// before it sends EOF, so a writer that never pauses cannot keep the
	// stream open forever (0: DefaultDrainWindow). The drain ends sooner,
	// at two empty reads one PollInterval apart, and what the files held
	// when the window ended is read however long that takes; so no "none"
	// switch: the shortest window, 1ns, sends what the files held at the
	// stop, then EOF.
	DrainWindow time.Duration
	// RetryBackoff is the first delay before a message is sent again to a
	// target that did not acknowledge it; it doubles up to MaxRetryBackoff
	// (0: DefaultRetryBackoff). No "none": retrying without a pause would
	// be a storm; 1ns comes closest.
	RetryBackoff time.Duration
	// MaxRetryBackoff caps the retry delay (0: DefaultMaxRetryBackoff).
	MaxRetryBackoff time.Duration
	// RetryLimit is how many consecutive lost or timed-out attempts past
	// the first a target may have before it is given up on (0:
	// DefaultRetryLimit; set NoRetries for none).
	RetryLimit int
	// NoRetries gives a target up on its first lost or timed-out attempt.
	// RetryLimit must then be 0; Normalize keeps NoRetries set and
	// RetryLimit 0, so the normalized RetryLimit is always the count.
	NoRetries bool
	// NotReadyTimeout is how long a target that answers NOT_READY is retried
	// before it is given up on (0: DefaultNotReadyTimeout). No "none": the
	// shortest, 1ns, gives a target up at its second NOT_READY in a row.
	NotReadyTimeout time.Duration
	// Window is how many data messages may await one target's reply at
	// once (0: DefaultWindow). 1 is FLARE's stop-and-wait: each chunk
	// waits for the previous one's reply. Within it, each target keeps 8
	// chunks in flight over a short round trip, where more would only
	// queue up and cost CPU; over a long one (a round trip of 8 or more
	// times between acknowledgements), what keeps its pipe full twice over
	// (2*minimum round trip/time between acknowledgements + 2 chunks), up
	// to Window, grown by one chunk per acknowledgement.
	Window int
	// ReadAhead bounds the bytes the sender holds: everything read from
	// the file that some live target served from memory has not
	// acknowledged yet; it reads a chunk while those bytes and the chunk
	// fit (0: DefaultReadAhead; at least ChunkSize). A read of less than
	// half a chunk gets a buffer of its size, so the buffers take at most
	// twice ReadAhead. Each target has its own pace inside it. When the
	// slowest live target holds the buffer full while others want to
	// read on, the buffer goes on without it, whether it is slow, not
	// ready, retrying or dead, so it costs the healthy ones nothing (see
	// below: its chunks are read again later); with a source that cannot
	// read again, a retrying one (its oldest chunk lost two attempts in a
	// row, or got NOT_READY twice) is given up on, and reading waits for
	// a slow one. The sender reads ahead up to this bound whether or not
	// a target can take the bytes yet: bytes left in the file can be
	// truncated away, so a healthy stream that lags its writer holds up
	// to ReadAhead bytes (memory against loss: lower it where memory is
	// scarce; a truncation takes unread what lies more than ReadAhead
	// past a target's acknowledgements).
	//
	// With a source that can read bytes again from the handles it holds
	// (a Rereader: a Tailer is one), a target behind is not given up at
	// the bound: the buffer goes on without it, and the chunks it still
	// needs are read again when it can take them, each checked against a
	// record kept when it left the buffer (40 bytes per chunk: stream and
	// file offset, size, CRC-64, read time). Bytes that are gone by then
	// (truncated away, in a file no longer held, or changed) end the
	// target with ERROR and TargetStats.Gone; never a skip.
	ReadAhead int64
	// MaxLag bounds, in bytes, how far behind what was read a target served
	// by re-reading (see ReadAhead) may fall: further behind, it is given up
	// with ERROR. It bounds the records: one per chunk read within MaxLag,
	// MaxLag/ChunkSize*40 bytes when chunks are full (0: DefaultMaxLag; at
	// least ReadAhead). No "none": without it a dead target with a long
	// retry budget would cost memory for as long as it is retried.
	MaxLag int64
	// Rotated says where the log's rotated generations go, so that a
	// generation rotated away before the tailer got to it (two rotations
	// within one poll, or while the sender lags) and the copy of a
	// copytruncate are found and read. The zero value is the common
	// "<name>.N" (app.log.1 newest); Rotated.Off watches the path only.
	Rotated RotatedNames
	// MaxQueuedFiles bounds how many generations the tailer holds open,
	// waiting to be read, while it is behind (0: DefaultMaxQueuedFiles);
	// it bounds, separately, the finished files it holds open after
	// reading them, for targets that may need their bytes read again
	// (ReadAhead): the oldest is closed first when more would be held,
	// and each is closed once every target is past it.
	// No "none": Rotated.Off is the way to hold no rotated generation.
	MaxQueuedFiles int
	// QueueFull says what happens to a new generation while MaxQueuedFiles
	// are held (default QueueWait).
	QueueFull QueuePolicy
}

// RotatedNames names a log's rotated generations: the files in the log's
// directory whose base names match Glob, sorted oldest first by Order.
type RotatedNames struct {
	// Glob is a path.Match pattern for base names in the log's directory,
	// in which "{name}" stands for the log's base name, "{stem}" for the
	// base name without its extension and "{ext}" for the extension with
	// its dot. Empty: "{name}.*". The log itself never matches.
	Glob string
	// Order sorts the matches oldest first (default OrderNumber).
	Order RotationOrder
	// Off disables the search: only the path is watched, and a generation
	// rotated away unseen is lost.
	Off bool
}

// RotationOrder says how rotated generations sort, oldest first.
type RotationOrder uint8

// Rotation orders.
const (
	// OrderNumber: the part after the last dot is a number, higher is
	// older (logrotate, Python's RotatingFileHandler: app.log.1 is the
	// newest). Names whose suffix is not a number (app.log.2.gz) are not
	// generations.
	OrderNumber RotationOrder = iota
	// OrderName: names sort oldest first, as timestamps do (lumberjack's
	// app-2006-01-02T15-04-05.000.log, logrotate's dateext).
	OrderName
	// OrderModTime: the oldest modification time first, ties by name.
	OrderModTime
	orderEnd
)

// LumberjackNames are the rotated names of gopkg.in/natefinch/lumberjack
// (app.log rotates to app-2006-01-02T15-04-05.000.log; compressed
// backups, .log.gz, are not read).
var LumberjackNames = RotatedNames{Glob: "{stem}-*{ext}", Order: OrderName}

// QueuePolicy says what the tailer does with a new generation while it
// holds MaxQueuedFiles generations it has not read yet. Either way, each
// generation that is never read is a TailSkipped event.
type QueuePolicy uint8

// Queue policies.
const (
	// QueueWait: the new generation is not opened now; it is read later if
	// it still exists when a place is free (the oldest bytes go first).
	QueueWait QueuePolicy = iota
	// QueueDropOldest: the oldest held generation is dropped unread to
	// make room (the newest bytes go first).
	QueueDropOldest
	queueEnd
)

// withDefaults returns o with zero fields replaced by defaults.
func (o TailOptions) withDefaults() TailOptions {
	setDur(&o.PollInterval, DefaultPollInterval)
	setDur(&o.LivenessInterval, DefaultLivenessInterval)
	setDur(&o.ChunkTimeout, DefaultChunkTimeout)
	setDur(&o.DrainWindow, DefaultDrainWindow)
	setDur(&o.RetryBackoff, DefaultRetryBackoff)
	setDur(&o.MaxRetryBackoff, DefaultMaxRetryBackoff)
	setDur(&o.NotReadyTimeout, DefaultNotReadyTimeout)
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.RetryLimit == 0 && !o.NoRetries {
		o.RetryLimit = DefaultRetryLimit
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.ReadAhead == 0 {
		o.ReadAhead = max(DefaultReadAhead, int64(o.ChunkSize))
	}
	if o.MaxQueuedFiles == 0 {
		o.MaxQueuedFiles = DefaultMaxQueuedFiles
	}
	if o.MaxLag == 0 {
		o.MaxLag = max(DefaultMaxLag, o.ReadAhead)
	}
	if o.Rotated.Glob == "" {
		o.Rotated.Glob = "{name}.*"
	}
	return o
}

func setDur(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// Normalize validates o and returns it with defaults filled in. The error is
// an *OptionError naming the first bad parameter. It applies the rules of
// ValidateStream with the IdleTimeout o declares.
func (o TailOptions) Normalize() (TailOptions, error) {
	for _, c := range []struct {
		name string
		v    time.Duration
	}{
		{"PollInterval", o.PollInterval}, {"LivenessInterval", o.LivenessInterval},
		{"ChunkTimeout", o.ChunkTimeout}, {"DrainWindow", o.DrainWindow},
		{"RetryBackoff", o.RetryBackoff}, {"MaxRetryBackoff", o.MaxRetryBackoff},
		{"NotReadyTimeout", o.NotReadyTimeout},
	} {
		if c.v < 0 {
			return o, &OptionError{c.name, c.v, "must be > 0"}
		}
	}
	if o.ChunkSize < 0 {
		return o, &OptionError{"ChunkSize", o.ChunkSize, "must be > 0"}
	}
	if o.RetryLimit < 0 {
		return o, &OptionError{"RetryLimit", o.RetryLimit, "must be > 0 (NoRetries: none)"}
	}
	if o.NoRetries && o.RetryLimit != 0 {
		return o, &OptionError{"RetryLimit", o.RetryLimit, "must be 0 with NoRetries"}
	}
	if o.IdleTimeout < 0 {
		return o, &OptionError{"IdleTimeout", o.IdleTimeout, "must be >= 0"}
	}
	if o.Window < 0 {
		return o, &OptionError{"Window", o.Window, "must be > 0 (1 is stop-and-wait)"}
	}
	if o.ReadAhead < 0 {
		return o, &OptionError{"ReadAhead", o.ReadAhead, "must be > 0"}
	}
	if o.MaxLag < 0 {
		return o, &OptionError{"MaxLag", o.MaxLag, "must be > 0"}
	}
	if o.MaxQueuedFiles < 0 {
		return o, &OptionError{"MaxQueuedFiles", o.MaxQueuedFiles, "must be > 0"}
	}
	if o.QueueFull >= queueEnd {
		return o, &OptionError{"QueueFull", o.QueueFull, "unknown policy"}
	}
	if o.Rotated.Order >= orderEnd {
		return o, &OptionError{"Rotated.Order", o.Rotated.Order, "unknown order"}
	}
	if g := o.Rotated.Glob; g != "" {
		if strings.ContainsRune(g, '/') {
			return o, &OptionError{"Rotated.Glob", g, "must match base names (no /)"}
		}
		if _, err := path.Match(expandGlob(g, "app.log"), ""); err != nil {
			return o, &OptionError{"Rotated.Glob", g, err.Error()}
		}
	}
	o = o.withDefaults()
	if o.ReadAhead < int64(o.ChunkSize) {
		return o, &OptionError{"ReadAhead", o.ReadAhead, fmt.Sprintf("must be >= ChunkSize (%d)", o.ChunkSize)}
	}
	if o.MaxLag < o.ReadAhead {
		return o, &OptionError{"MaxLag", o.MaxLag, fmt.Sprintf("must be >= ReadAhead (%d)", o.ReadAhead)}
	}
	if o.IdleTimeout > 0 && o.LivenessInterval >= o.IdleTimeout {
		return o, &OptionError{"LivenessInterval", o.LivenessInterval,
			fmt.Sprintf("must be less than IdleTimeout (%v)", o.IdleTimeout)}
	}
	if o.MaxRetryBackoff < o.RetryBackoff {
		return o, &OptionError{"MaxRetryBackoff", o.MaxRetryBackoff,
			fmt.Sprintf("must be >= RetryBackoff (%v)", o.RetryBackoff)}
	}
	if err := o.checkTiming(); err != nil { // see ValidateStream
		return o, err
	}
	return o, nil
}

// ReceiveOptions configure the receiving side (FLARE's
// register_stream_processing keyword arguments). The zero value selects the
// defaults.
type ReceiveOptions struct {
	// IdleTimeout ends a stream with TIMEOUT when no message arrived for
	// this long (0: DefaultIdleTimeout, FLARE's default idle_timeout). To
	// run without a watchdog, set NoIdleTimeout (FLARE's idle_timeout=0).
	IdleTimeout time.Duration
	// NoIdleTimeout turns the idle watchdog off: a stream whose sender
	// goes silent stays open until it is ended otherwise (END_STREAM,
	// Abort, the engine's shutdown). IdleTimeout must then be 0.
	NoIdleTimeout bool
	// ReorderBytes bounds the out-of-order chunks each stream holds (0:
	// DefaultReorderBytes; negative: none, each chunk that overtakes an
	// earlier one is refused and sent again).
	ReorderBytes int64
}

// Validate checks o; the error is an *OptionError naming the bad parameter.
func (o ReceiveOptions) Validate() error {
	if o.IdleTimeout < 0 {
		return &OptionError{"IdleTimeout", o.IdleTimeout, "must be >= 0 (0: the default; NoIdleTimeout: off)"}
	}
	if o.NoIdleTimeout && o.IdleTimeout != 0 {
		return &OptionError{"IdleTimeout", o.IdleTimeout, "must be 0 with NoIdleTimeout"}
	}
	return nil
}

// Idle returns the idle timeout o selects: DefaultIdleTimeout for 0, and 0
// (no watchdog) with NoIdleTimeout.
func (o ReceiveOptions) Idle() time.Duration {
	switch {
	case o.NoIdleTimeout:
		return 0
	case o.IdleTimeout == 0:
		return DefaultIdleTimeout
	}
	return o.IdleTimeout
}
