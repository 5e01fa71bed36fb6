package swarm

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/coverage"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
)

// Options shape one swarm.
type Options struct {
	// Start and Seeds give the seed range [Start, Start+Seeds) before
	// sharding. Seeds == 0 means no upper bound: the swarm runs until its
	// context ends (a duration) or MaxFailures is reached.
	Start, Seeds uint64
	// Shard selects the range's seeds this swarm runs.
	Shard Shard
	// Workers is the number of runs at a time (default runtime.NumCPU()).
	Workers int
	// MaxFailures stops the swarm after this many failing seeds, counted in
	// seed order (0: never stop early).
	MaxFailures int
	// Config maps a seed to its run (default: the mixes of Mixes). It
	// must be a pure function of the seed and safe for concurrent use.
	Config func(seed uint64) sim.Config
	// Mixes selects the mixes seeds draw from when Config is nil (default:
	// every mix not marked Known). Check it with Mixes.Use first.
	Mixes MixSet
	// RunTimeout bounds the wall time of one seed (default DefaultRunTimeout;
	// negative: no bound). The simulator cuts a run that stops making
	// progress in virtual time (a livelock); this catches a streamer that
	// spins inside one step without touching the world: the seed is
	// reported Hung, as a livelock, and the swarm goes on without it.
	RunTimeout time.Duration
}

// DefaultRunTimeout is the default wall-time bound of one seed: a thousand
// times what a run of the mixes usually takes.
const DefaultRunTimeout = 2 * time.Minute

// Result is the outcome of one seed.
type Result struct {
	// Seed is the swarm's seed (Config.Seed too, for the standard mix).
	Seed   uint64
	Config sim.Config
	// Report is the oracle's verdict; nil when Err is set.
	Report *oracle.Report
	// Err is set when the simulator rejected the config.
	Err error
	// Written, Virtual and Steps summarize the run: bytes written, virtual
	// time reached and events processed.
	Written int64
	Virtual time.Duration
	Steps   int64
	// Wall is how long the run took in real time.
	Wall time.Duration
	// Mix is the name of the mix the seed drew ("" with Options.Config).
	Mix string
	// Hits are the coverage classes (sim/coverage) the run exercised.
	Hits []string
	// Hung is set when the run did not finish within Options.RunTimeout of
	// wall time; Report then holds one livelock violation saying so (the
	// run goes on in the background and its result is dropped).
	Hung bool
}

// checkBounded is Check with a wall-time bound (<= 0: none).
func checkBounded(cfg sim.Config, limit time.Duration) *Result {
	if limit <= 0 {
		return Check(cfg)
	}
	done := make(chan *Result, 1)
	go func() { done <- Check(cfg) }()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case r := <-done:
		return r
	case <-t.C:
		return &Result{Seed: cfg.Seed, Config: cfg, Hung: true, Wall: limit, Report: &oracle.Report{
			Violations: []oracle.Violation{{Property: oracle.PropLivelock,
				Detail: fmt.Sprintf("no result after %v of wall time: the run is stuck inside one step (a loop that never returns to the simulator)", limit)}}}}
	}
}

// Failed reports whether the seed failed: a violation or an error.
func (r *Result) Failed() bool { return r.Err != nil || !r.Report.OK() }

// Summary counts what a swarm did.
type Summary struct {
	// Runs, Failed and Errors count the seeds reported (Errors are
	// included in Failed).
	Runs, Failed, Errors int
	// Complete is true when the whole seed range ran; false when the
	// context ended or MaxFailures stopped the swarm first.
	Complete bool
	// Next is the first seed of the shard that was not reported, for
	// resuming with Start = Next.
	Next uint64
}

// Check simulates cfg and judges it. It is what the swarm does with each
// seed, exported for replaying one.
func Check(cfg sim.Config) *Result {
	start := time.Now()
	res := &Result{Seed: cfg.Seed, Config: cfg}
	h, err := sim.Simulate(cfg)
	if err != nil {
		res.Err = err
	} else {
		res.Report = oracle.Check(h)
		res.Hits = coverage.Hits(h)
		res.Written, res.Steps = h.Written, h.Steps
		res.Virtual = h.LastEvent.Sub(h.Start)
	}
	res.Wall = time.Since(start)
	return res
}

// Run runs the swarm described by opt and calls emit with each result in
// seed order, from one goroutine. It returns when the range is done,
// MaxFailures failures were emitted, or ctx ended and the seeds already
// started have finished. The error is ctx's error when it ended the swarm
// early.
func Run(ctx context.Context, opt Options, emit func(*Result)) (Summary, error) {
	gen := func(seed uint64) (sim.Config, string) { return opt.Config(seed), "" }
	if opt.Config == nil {
		if _, err := opt.Mixes.Use(); err != nil {
			return Summary{}, err
		}
		gen = ConfigFor(opt.Mixes)
	}
	limit := opt.RunTimeout
	if limit == 0 {
		limit = DefaultRunTimeout
	}
	step := uint64(opt.Shard.norm().Count)
	first, ok := opt.Shard.first(opt.Start)
	var count uint64 // seeds of the shard in range; 0 with !bounded
	bounded := opt.Seeds > 0
	if bounded {
		end := opt.Start + opt.Seeds
		if end < opt.Start { // overflow: up to 2^64-1
			end = ^uint64(0)
		}
		if ok && first < end {
			count = (end-first-1)/step + 1
		}
	} else if !ok {
		bounded = true
	}
	var sum Summary
	sum.Next = first
	seedOf := func(i uint64) uint64 { return first + i*step }
	stopped := false
	err := Ordered(ctx, count, bounded, opt.Workers,
		func(i uint64) *Result {
			cfg, mix := gen(seedOf(i))
			r := checkBounded(cfg, limit)
			r.Seed, r.Mix = seedOf(i), mix
			return r
		},
		func(i uint64, r *Result) bool {
			sum.Runs++
			sum.Next = seedOf(i) + step
			if r.Failed() {
				sum.Failed++
				if r.Err != nil {
					sum.Errors++
				}
			}
			emit(r)
			if opt.MaxFailures > 0 && sum.Failed >= opt.MaxFailures {
				stopped = true
				return false
			}
			return true
		})
	sum.Complete = err == nil && !stopped && bounded
	if sum.Complete {
		sum.Next = seedOf(count)
	}
	return sum, err
}

// Ordered computes do(i) for i = 0, 1, ... on up to workers goroutines
// (default runtime.NumCPU()) and calls emit(i, result) in index order from
// the calling goroutine. With bounded, indexes run up to n-1; otherwise
// without end. It stops handing out indexes when ctx ends or emit returns
// false; results of indexes after the one for which emit returned false are
// dropped. It returns ctx.Err() if ctx ended before the work was done.
func Ordered[T any](ctx context.Context, n uint64, bounded bool, workers int, do func(i uint64) T, emit func(i uint64, v T) bool) error {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	if bounded && n == 0 {
		return ctx.Err()
	}
	type item struct {
		i uint64
		v T
	}
	var (
		mu   sync.Mutex
		next uint64
		halt bool
	)
	// take hands out the next index, or false when the work is over.
	take := func() (uint64, bool) {
		mu.Lock()
		defer mu.Unlock()
		if halt || ctx.Err() != nil || (bounded && next >= n) {
			return 0, false
		}
		i := next
		next++
		return i, true
	}
	results := make(chan item, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i, ok := take()
				if !ok {
					return
				}
				results <- item{i, do(i)}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	pending := map[uint64]T{}
	want := uint64(0)
	emitting := true
	for it := range results {
		if !emitting {
			continue // drain
		}
		pending[it.i] = it.v
		for {
			v, ok := pending[want]
			if !ok {
				break
			}
			delete(pending, want)
			if !emit(want, v) {
				emitting = false
				mu.Lock()
				halt = true
				mu.Unlock()
				break
			}
			want++
		}
	}
	if emitting && ctx.Err() != nil && !(bounded && want >= n) {
		return ctx.Err()
	}
	return nil
}
