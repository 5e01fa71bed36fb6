package swarm

import (
	"bytes"
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/coverage"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
)

// Every mix is drawn by the default set except those marked Known; the
// plans of every mix print and parse back; Only restricts the draw; an
// unknown name is an error naming it.
func TestMixes(t *testing.T) {
	def, err := MixSet{}.Use()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Mixes {
		in := slices.ContainsFunc(def, func(x Mix) bool { return x.Name == m.Name })
		if in == (m.Known != "") {
			t.Errorf("mix %s: in the default set %v, known %q", m.Name, in, m.Known)
		}
		for _, c := range m.Classes {
			if _, ok := coverage.Lookup(c); !ok {
				t.Errorf("mix %s names unknown class %q", m.Name, c)
			}
		}
	}
	drawn := map[string]int{}
	gen := ConfigFor(MixSet{Known: true})
	for seed := uint64(0); seed < 400; seed++ {
		cfg, mix := gen(seed)
		drawn[mix]++
		back, err := parsePlan(cfg.Plan.String())
		if err != nil || !back.Equal(cfg.Plan) {
			t.Fatalf("seed %d (%s): plan does not round-trip: %v\n%s", seed, mix, err, cfg.Plan)
		}
		if _, err := sim.New(cfg); err != nil {
			t.Fatalf("seed %d (%s): %v", seed, mix, err)
		}
	}
	for _, m := range Mixes {
		if drawn[m.Name] == 0 {
			t.Errorf("mix %s never drawn in 400 seeds", m.Name)
		}
	}
	only := ConfigFor(MixSet{Only: []string{"wan"}})
	for seed := uint64(0); seed < 20; seed++ {
		if _, mix := only(seed); mix != "wan" {
			t.Fatalf("Only wan drew %s", mix)
		}
	}
	if _, err := (MixSet{Only: []string{"nope"}}).Use(); err == nil || err.Error() != `unknown mix "nope" (want one of `+MixNames()+`)` {
		t.Errorf("unknown mix: %v", err)
	}
}

func parsePlan(s string) (faults.Plan, error) { return faults.Parse(s) }

// A seed whose run stops making progress is a livelock failure of that
// seed; the swarm goes on and ends.
func TestSwarmReportsLivelockAndEnds(t *testing.T) {
	var got []*Result
	_, err := Run(context.Background(), Options{Seeds: 3, Workers: 2, Config: func(seed uint64) sim.Config {
		cfg := sim.Config{Seed: seed, Horizon: 10 * time.Second}
		if seed == 1 {
			cfg.MaxSteps = 20
		}
		return cfg
	}}, func(r *Result) { got = append(got, r) })
	if err != nil || len(got) != 3 {
		t.Fatalf("%d results, %v", len(got), err)
	}
	if !got[1].Failed() || got[1].Report.First().Property != oracle.PropLivelock {
		t.Fatalf("seed 1: %v", got[1].Report.First())
	}
	if got[0].Failed() || got[2].Failed() {
		t.Fatalf("other seeds failed: %v %v", got[0].Report.First(), got[2].Report.First())
	}
}

// Every mix is deterministic: the same seed gives the same trace bytes.
func TestMixesAreDeterministic(t *testing.T) {
	gen := ConfigFor(MixSet{Known: true})
	done := map[string]int{}
	for seed := uint64(0); seed < 200 && len(done) < len(Mixes); seed++ {
		cfg, mix := gen(seed)
		if done[mix] > 0 {
			continue
		}
		done[mix]++
		var a, b bytes.Buffer
		for _, buf := range []*bytes.Buffer{&a, &b} {
			c := cfg
			c.Trace = buf
			if _, err := sim.Simulate(c); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) || a.Len() == 0 {
			t.Errorf("seed %d (%s): two runs gave different traces (%d and %d bytes)", seed, mix, a.Len(), b.Len())
		}
	}
	if len(done) != len(Mixes) {
		t.Errorf("only mixes %v drawn", done)
	}
}

// cpuSpinSource spins inside Next without touching the world until release
// is set: no virtual-time budget can cut it.
type cpuSpinSource struct{ release *atomic.Bool }

func (s *cpuSpinSource) Next(now time.Time) logstream.TailAction {
	for !s.release.Load() {
	}
	return logstream.TailAction{Kind: logstream.TailEOF}
}
func (s *cpuSpinSource) Stop(time.Time) {}
func (s *cpuSpinSource) Offset() int64  { return 0 }
func (s *cpuSpinSource) Close() error   { return nil }

// A seed that spins inside one step is reported Hung, as a livelock, after
// the wall-time bound, and the swarm ends with the other seeds' results.
func TestSwarmBoundsAHungSeed(t *testing.T) {
	release := new(atomic.Bool)
	defer release.Store(true) // lets the abandoned run finish
	var got []*Result
	_, err := Run(context.Background(), Options{Seeds: 2, Workers: 2, RunTimeout: time.Second,
		Config: func(seed uint64) sim.Config {
			cfg := sim.Config{Seed: seed, Horizon: 5 * time.Second}
			if seed == 0 {
				cfg.Variants.Source = func(afero.Fs, string, logstream.TailOptions, func(logstream.TailEvent)) logstream.Source {
					return &cpuSpinSource{release: release}
				}
			}
			return cfg
		}}, func(r *Result) { got = append(got, r) })
	if err != nil || len(got) != 2 {
		t.Fatalf("%d results, %v", len(got), err)
	}
	if !got[0].Hung || got[0].Report.First().Property != oracle.PropLivelock {
		t.Fatalf("seed 0: hung %v, %v", got[0].Hung, got[0].Report.First())
	}
	if got[1].Hung || got[1].Failed() {
		t.Fatalf("seed 1: hung %v, %v", got[1].Hung, got[1].Report.First())
	}
}

// Restrict takes out nothing now: the shapes issues 8, 9 and 10 kept out
// before (a late write a second after a rotation, a generation removed
// within a poll of its creation, truncations, truncate-to, faults holding
// one of two targets, a writer faster than the link) run.
func TestRestrict(t *testing.T) {
	p, err := faults.Parse(`at 0.5s rotate
at 10s rotate
at 20s rotate
at 11s late-write bytes=10
at 50s rotate
at 55s copytruncate
at 55.2s rotate
at 60s truncate regrow=5
at 61s read-error
at 62s delete
at 64s delete
at 65s truncate-to size=10
at 70s drop-request target=r2
at 80s stall target=r1 for=1s
at 1m56s rotate
prob drop-reply 0.01
prob read-error 0.01
`)
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.Config{Targets: []string{"r1", "r2"}, Horizon: 2 * time.Minute, Plan: p,
		Tail:   logstream.TailOptions{ChunkSize: 4096, DrainWindow: 2 * time.Second},
		Writer: sim.WriterConfig{Rate: 1 << 20}}
	got, why := Restrict(cfg)
	if s := got.Plan.String(); s != "at 500ms rotate\nat 10s rotate\nat 11s late-write bytes=10\nat 20s rotate\nat 50s rotate\n"+
		"at 55s copytruncate\nat 55.2s rotate\nat 1m0s truncate regrow=5\nat 1m1s read-error\nat 1m2s delete\nat 1m4s delete\nat 1m5s truncate-to size=10\n"+
		"at 1m10s drop-request target=r2\nat 1m20s stall target=r1 for=1s\nat 1m56s rotate\nprob drop-reply 0.01\nprob read-error 0.01\n" {
		t.Errorf("restricted plan:\n%s", s)
	}
	if got.Writer != cfg.Writer {
		t.Errorf("writer %+v", got.Writer)
	}
	if len(why) != 0 {
		t.Errorf("restrictions %q, want none", why)
	}
	clean := sim.Config{Targets: []string{"r1"}, Horizon: time.Minute, Plan: faults.Plan{Faults: []faults.Fault{{At: 10 * time.Second, Kind: faults.Stall, Target: "r1", For: time.Second}}},
		Writer: sim.WriterConfig{Rate: 1024, Until: time.Minute}}
	if got, why := Restrict(clean); len(why) != 0 || !got.Plan.Equal(clean.Plan) {
		t.Errorf("clean config restricted: %v\n%s", why, got.Plan)
	}
	// Inode reuse runs, but not with file operations inside a tailer step:
	// that run keeps its plan and gets unique numbers.
	reuse := clean
	reuse.ReuseInodes = true
	if got, why := Restrict(reuse); len(why) != 0 || !got.ReuseInodes {
		t.Errorf("inode reuse restricted: %v", why)
	}
	reuse.Plan = faults.Plan{Faults: []faults.Fault{{At: 10 * time.Second, Kind: faults.StepRotate, N: 3}}}
	got, why = Restrict(reuse)
	if want := []string{"issue 9: inode reuse with file operations inside a tailer step"}; !slices.Equal(why, want) || got.ReuseInodes || !got.Plan.Equal(reuse.Plan) {
		t.Errorf("inode reuse with step-rotate: restrictions %q, reuse %v, plan\n%s", why, got.ReuseInodes, got.Plan)
	}
}
