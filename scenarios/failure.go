package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
)

// Failure formats a failed run for a person: the seed, the configuration,
// the fault plan, the first violated property, and a command that replays
// it. The case is saved as a scenario file under dir (the system's temp
// directory when dir is empty) for that command. The simulator's property
// tests call it; it lives here, not in sim/simtest, because writing a
// scenario file is this package's job and sim sits below it.
func Failure(dir string, cfg sim.Config, rep *oracle.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SEED %d\n", cfg.Seed)
	fmt.Fprintf(&b, "CONFIG targets=%s horizon=%v poll=%v liveness=%v idle=%v chunk=%d drain=%v rate=%d max-write=%d burst-every=%v\n",
		strings.Join(cfg.Targets, ","), cfg.Horizon, cfg.Tail.PollInterval, cfg.Tail.LivenessInterval, cfg.IdleTimeout,
		cfg.Tail.ChunkSize, cfg.Tail.DrainWindow, cfg.Writer.Rate, cfg.Writer.MaxWrite, cfg.Writer.BurstEvery)
	fmt.Fprintf(&b, "PLAN\n%s", cfg.Plan.String())
	v := rep.First()
	if v != nil {
		fmt.Fprintf(&b, "FIRST VIOLATION %s\n", v)
	}
	fmt.Fprintf(&b, "REPORT\n%s", rep.String())
	if file, err := save(dir, cfg, v); err != nil {
		fmt.Fprintf(&b, "(could not save the case for replay: %v)\n", err)
	} else {
		fmt.Fprintf(&b, "REPLAY go run ./cmd/simrun replay %s\n", file)
	}
	return b.String()
}

// save writes the failing case as a scenario file and returns its path.
func save(dir string, cfg sim.Config, v *oracle.Violation) (string, error) {
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "logstream-sim-failures")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	prop := "failure"
	if v != nil {
		prop = string(v.Property)
	}
	name := fmt.Sprintf("property_%s_seed_%d", strings.ReplaceAll(prop, "-", "_"), cfg.Seed)
	doc := "Found by the rapid property test (sim.TestStreamProperties) and saved for replay."
	s := FromConfig(name, doc, cfg)
	path := filepath.Join(dir, name+".txt")
	tmp, err := os.CreateTemp(dir, name+"-*.tmp")
	if err != nil {
		return "", err
	}
	if _, err := tmp.WriteString(s.String()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return path, os.Rename(tmp.Name(), path)
}
