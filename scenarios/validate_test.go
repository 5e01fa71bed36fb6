package scenarios

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

// One validation everywhere: a scenario file, the simulator and StreamLog
// reject the same bad configurations with the same message (the scenario
// adds file:line and the config key).
func TestOneValidationEverywhere(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines string // config lines of the scenario
		cfg   sim.Config
		opt   logstream.TailOptions // what StreamLog is given for the same configuration
		key   string
		line  int
	}{
		{"liveness >= idle", "config seed=1 idle=20s\nconfig liveness=20s\n",
			sim.Config{IdleTimeout: 20 * time.Second, Tail: logstream.TailOptions{LivenessInterval: 20 * time.Second}},
			logstream.TailOptions{LivenessInterval: 20 * time.Second, IdleTimeout: 20 * time.Second}, "liveness", 2},
		{"liveness >= default idle", "config seed=1\nconfig liveness=40s\n",
			sim.Config{Tail: logstream.TailOptions{LivenessInterval: 40 * time.Second}},
			logstream.TailOptions{LivenessInterval: 40 * time.Second, IdleTimeout: logstream.DefaultIdleTimeout}, "liveness", 2},
		{"chunk timeout makes a healthy target time out", "config seed=1 idle=30s\nconfig liveness=10s chunk-timeout=20s\n",
			sim.Config{IdleTimeout: 30 * time.Second, Tail: logstream.TailOptions{LivenessInterval: 10 * time.Second, ChunkTimeout: 20 * time.Second}},
			logstream.TailOptions{LivenessInterval: 10 * time.Second, ChunkTimeout: 20 * time.Second, IdleTimeout: 30 * time.Second}, "chunk-timeout", 2},
		{"tail-idle disagrees with liveness", "config seed=1\nconfig liveness=6s tail-idle=5s\n",
			sim.Config{Tail: logstream.TailOptions{LivenessInterval: 6 * time.Second, IdleTimeout: 5 * time.Second}},
			logstream.TailOptions{LivenessInterval: 6 * time.Second, IdleTimeout: 5 * time.Second}, "liveness", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, simErr := sim.New(tc.cfg)
			_, logErr := logstream.StreamLog(context.Background(), logstream.StreamConfig{Sender: noEngine{},
				Channel: "c", Topic: "t", Targets: []string{"r1"}, FileName: "/x.log", Options: tc.opt})
			_, scErr := Parse("bad.txt", []byte(tc.lines))
			if simErr == nil || logErr == nil || scErr == nil {
				t.Fatalf("accepted: sim %v, StreamLog %v, scenario %v", simErr, logErr, scErr)
			}
			if !errors.Is(simErr, logstream.ErrInvalidOption) || !errors.Is(logErr, logstream.ErrInvalidOption) {
				t.Errorf("not option errors: %v / %v", simErr, logErr)
			}
			if simErr.Error() != logErr.Error() {
				t.Errorf("sim says %q, StreamLog says %q", simErr, logErr)
			}
			want := "bad.txt:" + strconv.Itoa(tc.line) + ": config " + tc.key + ": " + logErr.Error()
			if scErr.Error() != want {
				t.Errorf("scenario says %q, want %q", scErr, want)
			}
		})
	}
}

// noEngine is never reached: validation comes first.
type noEngine struct{}

func (noEngine) StreamObjects(context.Context, string, string, logstream.StreamContext, []string, logstream.Producer) (logstream.Result, error) {
	panic("stream started")
}
