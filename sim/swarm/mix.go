package swarm

import (
	"math/rand/v2"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

// MixStream is the second word of the PCG state Config seeds: changing the
// standard mix in a way that changes what a seed means should change it too,
// so that old seed numbers are not silently reinterpreted.
const MixStream = 0x5357_524d_0001 // "SWRM", version 1

// MixTargets are the receivers of every run of the standard mix.
var MixTargets = []string{"r1", "r2"}

// Config returns the run of the standard mix for seed, a pure function of
// seed. In draw order from rand.New(rand.NewPCG(seed, MixStream)):
//
//   - horizon: 60 to 180 whole seconds (1 to 3 virtual minutes);
//   - poll interval: 250ms or 500ms; liveness interval: 5s or 10s; the
//     receivers' idle timeout three liveness intervals (30s by default);
//   - chunk size: 4KiB or 64KiB; drain window: 2s or 5s (other tail
//     options take logstream's defaults);
//   - writer: rate 1KiB/s, 4KiB/s or 16KiB/s; bursts every 200ms, 1s or 5s
//     on average; writes of up to 512 bytes;
//   - plan: faults.Random over the horizon for targets r1 and r2, every
//     fault kind enabled, at most 6 timed faults, probabilities at most
//     0.02, network lag at most 200ms.
//
// The simulator's seed is seed itself and the targets are MixTargets.
func Config(seed uint64) sim.Config {
	r := rand.New(rand.NewPCG(seed, MixStream))
	horizon := time.Duration(60+r.IntN(121)) * time.Second
	poll := pick(r, 250*time.Millisecond, 500*time.Millisecond)
	live := pick(r, 5*time.Second, 10*time.Second)
	chunk := pick(r, 4<<10, 64<<10)
	drain := pick(r, 2*time.Second, 5*time.Second)
	rate := pick[int64](r, 1<<10, 4<<10, 16<<10)
	burst := pick(r, 200*time.Millisecond, time.Second, 5*time.Second)
	targets := append([]string(nil), MixTargets...)
	plan := faults.Random(r, faults.GenOptions{
		Horizon:   horizon,
		Targets:   targets,
		MaxFaults: 6,
		MaxProb:   0.02,
		MaxLag:    200 * time.Millisecond,
	})
	return sim.Config{
		Seed:        seed,
		Targets:     targets,
		Horizon:     horizon,
		IdleTimeout: 3 * live,
		Tail: logstream.TailOptions{
			PollInterval:     poll,
			LivenessInterval: live,
			IdleTimeout:      3 * live,
			ChunkSize:        chunk,
			DrainWindow:      drain,
		},
		Writer: sim.WriterConfig{Rate: rate, MaxWrite: 512, BurstEvery: burst},
		Plan:   plan,
	}
}

func pick[T any](r *rand.Rand, vs ...T) T { return vs[r.IntN(len(vs))] }
