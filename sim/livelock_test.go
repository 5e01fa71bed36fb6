package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// spinSource is a broken source: it asks to be polled again at the same
// instant forever (rearm), or loops over the file system inside one step.
type spinSource struct {
	fsys  afero.Fs
	path  string
	rearm bool
}

func (s *spinSource) Next(now time.Time) logstream.TailAction {
	if s.rearm {
		return logstream.TailAction{Kind: logstream.TailWait, Until: now}
	}
	for {
		s.fsys.Stat(s.path)
	}
}
func (s *spinSource) Stop(time.Time) {}
func (s *spinSource) Offset() int64  { return 0 }
func (s *spinSource) Close() error   { return nil }

// A source that never lets virtual time advance, one that never returns
// from a step, and a run longer than its step budget are each cut and
// reported in History.Livelock, within a bound, instead of hanging.
func TestLivelockIsReportedNotWaitedOut(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"same instant re-armed", Config{Variants: Variants{Source: func(fsys afero.Fs, path string, _ logstream.TailOptions, _ func(logstream.TailEvent)) logstream.Source {
			return &spinSource{fsys: fsys, path: path, rearm: true}
		}}}, "events at the instant"},
		{"step never returns", Config{Variants: Variants{Source: func(fsys afero.Fs, path string, _ logstream.TailOptions, _ func(logstream.TailEvent)) logstream.Source {
			return &spinSource{fsys: fsys, path: path}
		}}}, "file-system calls in one step"},
		{"step budget", Config{MaxSteps: 50}, "step budget of 50 events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Horizon = time.Minute
			h, err := Simulate(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(h.Livelock, tc.want) {
				t.Fatalf("Livelock = %q, want it to mention %q", h.Livelock, tc.want)
			}
			if !strings.HasPrefix(h.Stuck, "livelock: ") {
				t.Errorf("Stuck = %q", h.Stuck)
			}
		})
	}
	h, err := Simulate(Config{Horizon: time.Minute})
	if err != nil || h.Livelock != "" {
		t.Fatalf("plain run: livelock %q, %v", h.Livelock, err)
	}
}
