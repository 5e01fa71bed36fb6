package logstream_test

import (
	"github.com/spf13/afero"

	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/simfs"
)

// Validation: every bad parameter gives an *OptionError naming it.
func TestTailOptionsValidation(t *testing.T) {
	for _, tc := range []struct {
		param string
		opt   logstream.TailOptions
	}{
		{"PollInterval", logstream.TailOptions{PollInterval: -1}},
		{"LivenessInterval", logstream.TailOptions{LivenessInterval: -1}},
		{"ChunkTimeout", logstream.TailOptions{ChunkTimeout: -time.Second}},
		{"DrainWindow", logstream.TailOptions{DrainWindow: -1}},
		{"RetryBackoff", logstream.TailOptions{RetryBackoff: -1}},
		{"MaxRetryBackoff", logstream.TailOptions{MaxRetryBackoff: -1}},
		{"NotReadyTimeout", logstream.TailOptions{NotReadyTimeout: -1}},
		{"ChunkSize", logstream.TailOptions{ChunkSize: -1}},
		{"RetryLimit", logstream.TailOptions{RetryLimit: -1}},
		{"IdleTimeout", logstream.TailOptions{IdleTimeout: -1}},
		{"LivenessInterval", logstream.TailOptions{LivenessInterval: 30 * time.Second, IdleTimeout: 30 * time.Second}},
		{"LivenessInterval", logstream.TailOptions{LivenessInterval: time.Minute, IdleTimeout: 30 * time.Second}},
		{"LivenessInterval", logstream.TailOptions{IdleTimeout: 5 * time.Second}}, // default liveness 10s
		{"ChunkTimeout", logstream.TailOptions{LivenessInterval: 10 * time.Second, ChunkTimeout: 20 * time.Second, IdleTimeout: 30 * time.Second}},
		{"ChunkTimeout", logstream.TailOptions{LivenessInterval: 8 * time.Second, IdleTimeout: 12 * time.Second}}, // default chunk timeout 5s
		{"MaxRetryBackoff", logstream.TailOptions{RetryBackoff: time.Second, MaxRetryBackoff: time.Millisecond}},
		{"MaxRetryBackoff", logstream.TailOptions{RetryBackoff: time.Minute}}, // default max 5s
		{"Window", logstream.TailOptions{Window: -1}},
		{"ReadAhead", logstream.TailOptions{ReadAhead: -1}},
		{"ReadAhead", logstream.TailOptions{ChunkSize: 100, ReadAhead: 99}},
		{"ReadAhead", logstream.TailOptions{ChunkSize: logstream.DefaultReadAhead + 1, ReadAhead: logstream.DefaultReadAhead}},
	} {
		_, err := tc.opt.Normalize()
		var oe *logstream.OptionError
		if !errors.As(err, &oe) || oe.Param != tc.param || !errors.Is(err, logstream.ErrInvalidOption) {
			t.Errorf("%+v: error %v, want an *OptionError for %s", tc.opt, err, tc.param)
		}
	}
	got, err := logstream.TailOptions{}.Normalize()
	if err != nil || got.PollInterval != logstream.DefaultPollInterval || got.ChunkSize != logstream.DefaultChunkSize ||
		got.LivenessInterval != logstream.DefaultLivenessInterval || got.RetryLimit != logstream.DefaultRetryLimit || got.IdleTimeout != 0 ||
		got.Window != logstream.DefaultWindow || got.ReadAhead != logstream.DefaultReadAhead {
		t.Fatalf("defaults: %+v %v", got, err)
	}
	if _, err := (logstream.TailOptions{LivenessInterval: time.Second, IdleTimeout: 2 * time.Second, ChunkTimeout: 500 * time.Millisecond}).Normalize(); err != nil {
		t.Fatal(err)
	}
	var oe *logstream.OptionError
	if _, err := (logstream.TailOptions{RetryLimit: 2, NoRetries: true}).Normalize(); !errors.As(err, &oe) || oe.Param != "RetryLimit" {
		t.Fatalf("RetryLimit with NoRetries: %v", err)
	}
	if err := (logstream.ReceiveOptions{IdleTimeout: time.Second, NoIdleTimeout: true}).Validate(); !errors.As(err, &oe) || oe.Param != "IdleTimeout" {
		t.Fatalf("IdleTimeout with NoIdleTimeout: %v", err)
	}
	if err := (logstream.ReceiveOptions{IdleTimeout: -1}).Validate(); !errors.As(err, &oe) || oe.Param != "IdleTimeout" {
		t.Fatal(err)
	}
	if err := (logstream.ReceiveOptions{}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// noEngine fails the test if a stream is started.
type noEngine struct{ t *testing.T }

func (e noEngine) StreamObjects(context.Context, string, string, logstream.StreamContext, []string, logstream.Producer) (logstream.Result, error) {
	e.t.Error("StreamObjects called")
	return logstream.Result{}, nil
}

func (e noEngine) RegisterStreamProcessing(string, string, logstream.ConsumerFactory, logstream.DoneFunc) error {
	e.t.Error("RegisterStreamProcessing called")
	return nil
}

// StreamLog and RegisterStreamProcessing reject bad arguments with errors,
// never a panic and never a stream: nil engine, no targets (H10: the
// reference streamed to nobody and called it success), empty or repeated
// target, empty channel/topic/file, bad options, a missing directory, and a
// file that exists but cannot be opened.
func TestStreamLogArgumentErrors(t *testing.T) {
	w := newWorld(t)
	w.appendTo("/var/log/locked.log", "secret")
	w.appendTo("/var/log/notadir", "x")
	w.fs.SetInjector(func(op simfs.Op, name string) error {
		if op == simfs.OpOpen && name == "/var/log/locked.log" {
			return syscall.EACCES
		}
		return nil
	})
	e := noEngine{t}
	ctx := context.Background()
	base := logstream.StreamConfig{Sender: e, Channel: "c", Topic: "t", Targets: []string{"a"}, FileName: logPath, Fs: w.fs}
	with := func(f func(c *logstream.StreamConfig)) logstream.StreamConfig {
		c := base
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name string
		cfg  logstream.StreamConfig
		want error
	}{
		{"nil engine", with(func(c *logstream.StreamConfig) { c.Sender = nil }), logstream.ErrNoEngine},
		{"H10 no targets", with(func(c *logstream.StreamConfig) { c.Targets = nil }), logstream.ErrBadArgument},
		{"H10 empty targets", with(func(c *logstream.StreamConfig) { c.Targets = []string{} }), logstream.ErrBadArgument},
		{"empty target", with(func(c *logstream.StreamConfig) { c.Targets = []string{"a", ""} }), logstream.ErrBadArgument},
		{"repeated target", with(func(c *logstream.StreamConfig) { c.Targets = []string{"a", "b", "a"} }), logstream.ErrBadArgument},
		{"empty channel", with(func(c *logstream.StreamConfig) { c.Channel = "" }), logstream.ErrBadArgument},
		{"empty topic", with(func(c *logstream.StreamConfig) { c.Topic = "" }), logstream.ErrBadArgument},
		{"empty file", with(func(c *logstream.StreamConfig) { c.FileName = "" }), logstream.ErrBadArgument},
		{"missing directory", with(func(c *logstream.StreamConfig) { c.FileName = "/nope/app.log" }), logstream.ErrBadArgument},
		{"directory is a file", with(func(c *logstream.StreamConfig) { c.FileName = "/var/log/notadir/app.log" }), logstream.ErrBadArgument},
		{"unreadable file", with(func(c *logstream.StreamConfig) { c.FileName = "/var/log/locked.log" }), syscall.EACCES},
		{"bad option", with(func(c *logstream.StreamConfig) { c.Options.ChunkSize = -5 }), logstream.ErrInvalidOption},
		{"MemMapFs has no file identity", with(func(c *logstream.StreamConfig) { c.Fs = memFS(t) }), logstream.ErrNoIdentity},
		{"bad rotated glob", with(func(c *logstream.StreamConfig) { c.Options.Rotated.Glob = "[app" }), logstream.ErrInvalidOption},
		{"negative queue", with(func(c *logstream.StreamConfig) { c.Options.MaxQueuedFiles = -1 }), logstream.ErrInvalidOption},
		{"retry limit with NoRetries", with(func(c *logstream.StreamConfig) { c.Options.RetryLimit, c.Options.NoRetries = 3, true }), logstream.ErrInvalidOption},
		{"H10-adjacent liveness >= idle", with(func(c *logstream.StreamConfig) {
			c.Options.LivenessInterval, c.Options.IdleTimeout = time.Minute, time.Second
		}), logstream.ErrInvalidOption},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := logstream.StreamLog(ctx, tc.cfg)
			if !errors.Is(err, tc.want) || s != nil {
				t.Fatalf("error %v, want %v (stream %v)", err, tc.want, s)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		eng    logstream.Receiver
		ch, tp string
		opt    logstream.ReceiveOptions
		want   error
	}{
		{"nil engine", nil, "c", "t", logstream.ReceiveOptions{}, logstream.ErrNoEngine},
		{"negative idle", e, "c", "t", logstream.ReceiveOptions{IdleTimeout: -1}, logstream.ErrInvalidOption},
		{"idle with NoIdleTimeout", e, "c", "t", logstream.ReceiveOptions{IdleTimeout: time.Second, NoIdleTimeout: true}, logstream.ErrInvalidOption},
		{"empty channel", e, "", "t", logstream.ReceiveOptions{}, logstream.ErrBadArgument},
		{"empty topic", e, "c", "", logstream.ReceiveOptions{}, logstream.ErrBadArgument},
	} {
		t.Run("register "+tc.name, func(t *testing.T) {
			err := logstream.RegisterStreamProcessing(tc.eng, tc.ch, tc.tp, nil, nil, tc.opt)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func memFS(t *testing.T) afero.Fs {
	fsys := afero.NewMemMapFs()
	if err := fsys.MkdirAll("/var/log", 0o755); err != nil {
		t.Fatal(err)
	}
	return fsys
}

// Zero selects a default; "none" is said by its own field, and Normalize's
// result normalizes to itself (the simulator, the oracle and scenario files
// normalize options more than once).
func TestZeroIsDefaultNoneIsExplicit(t *testing.T) {
	none, err := logstream.TailOptions{NoRetries: true}.Normalize()
	if err != nil || none.RetryLimit != 0 || !none.NoRetries {
		t.Fatalf("NoRetries: %+v %v", none, err)
	}
	for _, o := range []logstream.TailOptions{{}, {NoRetries: true}, {RetryLimit: 3, DrainWindow: time.Nanosecond}} {
		once, err := o.Normalize()
		if err != nil {
			t.Fatal(err)
		}
		twice, err := once.Normalize()
		if err != nil || twice != once {
			t.Errorf("%+v: Normalize is not a fixed point: %+v then %+v (%v)", o, once, twice, err)
		}
	}
	for _, tc := range []struct {
		opt  logstream.ReceiveOptions
		want time.Duration
	}{
		{logstream.ReceiveOptions{}, logstream.DefaultIdleTimeout},
		{logstream.ReceiveOptions{IdleTimeout: time.Second}, time.Second},
		{logstream.ReceiveOptions{NoIdleTimeout: true}, 0},
	} {
		if got := tc.opt.Idle(); got != tc.want {
			t.Errorf("%+v.Idle() = %v, want %v", tc.opt, got, tc.want)
		}
	}
}
