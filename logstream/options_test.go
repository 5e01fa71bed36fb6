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
	so := logstream.StreamOptions{Fs: w.fs}
	for _, tc := range []struct {
		name    string
		eng     logstream.Engine
		ch, tp  string
		targets []string
		file    string
		opt     logstream.StreamOptions
		want    error
	}{
		{"nil engine", nil, "c", "t", []string{"a"}, logPath, so, logstream.ErrNoEngine},
		{"H10 no targets", e, "c", "t", nil, logPath, so, logstream.ErrBadArgument},
		{"H10 empty targets", e, "c", "t", []string{}, logPath, so, logstream.ErrBadArgument},
		{"empty target", e, "c", "t", []string{"a", ""}, logPath, so, logstream.ErrBadArgument},
		{"repeated target", e, "c", "t", []string{"a", "b", "a"}, logPath, so, logstream.ErrBadArgument},
		{"empty channel", e, "", "t", []string{"a"}, logPath, so, logstream.ErrBadArgument},
		{"empty topic", e, "c", "", []string{"a"}, logPath, so, logstream.ErrBadArgument},
		{"empty file", e, "c", "t", []string{"a"}, "", so, logstream.ErrBadArgument},
		{"missing directory", e, "c", "t", []string{"a"}, "/nope/app.log", so, logstream.ErrBadArgument},
		{"directory is a file", e, "c", "t", []string{"a"}, "/var/log/notadir/app.log", so, logstream.ErrBadArgument},
		{"unreadable file", e, "c", "t", []string{"a"}, "/var/log/locked.log", so, syscall.EACCES},
		{"bad option", e, "c", "t", []string{"a"}, logPath,
			logstream.StreamOptions{Fs: w.fs, TailOptions: logstream.TailOptions{ChunkSize: -5}}, logstream.ErrInvalidOption},
		{"MemMapFs has no file identity", e, "c", "t", []string{"a"}, logPath,
			logstream.StreamOptions{Fs: memFS(t)}, logstream.ErrNoIdentity},
		{"bad rotated glob", e, "c", "t", []string{"a"}, logPath,
			logstream.StreamOptions{Fs: w.fs, TailOptions: logstream.TailOptions{Rotated: logstream.RotatedNames{Glob: "[app"}}}, logstream.ErrInvalidOption},
		{"negative queue", e, "c", "t", []string{"a"}, logPath,
			logstream.StreamOptions{Fs: w.fs, TailOptions: logstream.TailOptions{MaxQueuedFiles: -1}}, logstream.ErrInvalidOption},
		{"H10-adjacent liveness >= idle", e, "c", "t", []string{"a"}, logPath,
			logstream.StreamOptions{Fs: w.fs, TailOptions: logstream.TailOptions{LivenessInterval: time.Minute, IdleTimeout: time.Second}}, logstream.ErrInvalidOption},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := logstream.StreamLog(ctx, tc.eng, tc.ch, tc.tp, nil, tc.targets, tc.file, nil, tc.opt)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		eng    logstream.Engine
		ch, tp string
		idle   time.Duration
		want   error
	}{
		{"nil engine", nil, "c", "t", 0, logstream.ErrNoEngine},
		{"negative idle", e, "c", "t", -1, logstream.ErrInvalidOption},
		{"empty channel", e, "", "t", 0, logstream.ErrBadArgument},
		{"empty topic", e, "c", "", 0, logstream.ErrBadArgument},
	} {
		t.Run("register "+tc.name, func(t *testing.T) {
			err := logstream.RegisterStreamProcessing(tc.eng, tc.ch, tc.tp, nil, nil, tc.idle)
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
