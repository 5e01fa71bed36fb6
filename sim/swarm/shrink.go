package swarm

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/sim"
	"github.com/logstream-sim/logstream-sim/sim/oracle"
)

// ShrinkOptions bound a Shrink.
type ShrinkOptions struct {
	// MaxAttempts bounds the candidate runs counted (default 500). The count
	// is that of a sequential shrinker, whatever Workers is.
	MaxAttempts int
	// Workers evaluate candidates in parallel (default runtime.NumCPU());
	// the result does not depend on it.
	Workers int
}

// Shrunk is the result of Shrink.
type Shrunk struct {
	// Config is the smallest failing config found; Report its verdict,
	// whose first violation is of the property shrunk for.
	Config sim.Config
	Report *oracle.Report
	// Attempts counts the candidates tried, Accepted those kept.
	Attempts, Accepted int
}

// Fails reports whether cfg's first violation is of property prop, with
// the oracle's report. A config the simulator rejects does not fail.
func Fails(cfg sim.Config, prop oracle.Property) (*oracle.Report, bool) {
	h, err := sim.Simulate(cfg)
	if err != nil {
		return nil, false
	}
	rep := oracle.Check(h)
	v := rep.First()
	return rep, v != nil && v.Property == prop
}

// Shrink reduces cfg, whose first violation is of property prop (rep is its
// report), to a smaller config whose first violation is still of prop, in
// the manner of pebble's reduce: repeatedly drop halves of the plan's items,
// then single items (Plan.Without), then drop a target no fault names and
// halve the horizon, then take the first of Plan.Simpler's candidates that
// still fails; each round starts over after any success, until nothing
// helps, the attempt budget is spent, or ctx ends. The config's seed and
// timing are kept.
func Shrink(ctx context.Context, cfg sim.Config, prop oracle.Property, rep *oracle.Report, opt ShrinkOptions) Shrunk {
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 500
	}
	s := &shrinker{ctx: ctx, prop: prop, opt: opt, best: Shrunk{Config: cfg, Report: rep}}
	for s.left() > 0 {
		if s.removeItems() || s.reduceConfig() || s.simplify() {
			continue
		}
		break
	}
	return s.best
}

type shrinker struct {
	ctx  context.Context
	prop oracle.Property
	opt  ShrinkOptions
	best Shrunk
}

func (s *shrinker) left() int {
	if s.ctx.Err() != nil {
		return 0
	}
	return s.opt.MaxAttempts - s.best.Attempts
}

// try evaluates candidates and keeps the first, in order, that fails. The
// attempts counted are those a sequential search would make.
func (s *shrinker) try(cands []sim.Config) bool {
	if n := s.left(); len(cands) > n {
		cands = cands[:max(n, 0)]
	}
	if len(cands) == 0 {
		return false
	}
	var mu sync.Mutex
	found := -1
	accepted := false
	reps := make([]*oracle.Report, len(cands))
	_ = Ordered(s.ctx, uint64(len(cands)), true, s.opt.Workers,
		func(i uint64) bool {
			mu.Lock()
			skip := found >= 0 && int(i) > found
			mu.Unlock()
			if skip {
				return false
			}
			rep, ok := Fails(cands[i], s.prop)
			if ok {
				reps[i] = rep
				mu.Lock()
				if found < 0 || int(i) < found {
					found = int(i)
				}
				mu.Unlock()
			}
			return ok
		},
		func(i uint64, ok bool) bool {
			s.best.Attempts++
			if ok {
				s.best.Config, s.best.Report = cands[i], reps[i]
				s.best.Accepted++
				accepted = true
				return false
			}
			return true
		})
	return accepted
}

func (s *shrinker) withPlan(p faults.Plan) sim.Config {
	c := s.best.Config
	c.Plan = p
	return c
}

// removeItems drops halves, then quarters and so on down to single items.
func (s *shrinker) removeItems() bool {
	p := s.best.Config.Plan
	n := p.Len()
	for size := n / 2; size >= 1; size /= 2 {
		var cands []sim.Config
		for from := n - size; from >= 0; from -= size {
			q := p
			for i := from + size - 1; i >= from; i-- {
				q = q.Without(i)
			}
			cands = append(cands, s.withPlan(q))
		}
		if s.try(cands) {
			return true
		}
		if size == 1 {
			break
		}
	}
	return false
}

// reduceConfig drops a target that no fault names and halves the horizon
// (to whole seconds, at least 10s, past the last fault).
func (s *shrinker) reduceConfig() bool {
	c := s.best.Config
	var cands []sim.Config
	if len(c.Targets) > 1 {
		for i, t := range c.Targets {
			named := false
			for _, f := range c.Plan.Faults {
				named = named || f.Target == t
			}
			if named {
				continue
			}
			d := c
			d.Targets = slices.Delete(slices.Clone(c.Targets), i, i+1)
			cands = append(cands, d)
		}
	}
	if h := c.Horizon / 2 / time.Second * time.Second; h >= 10*time.Second && c.StopAt == 0 && c.Writer.Until == 0 {
		last := time.Duration(-1)
		for _, f := range c.Plan.Faults {
			last = max(last, f.At)
		}
		if last < h {
			d := c
			d.Horizon = h
			cands = append(cands, d)
		}
	}
	return s.try(cands)
}

// simplify takes the first of Plan.Simpler's candidates that still fails.
func (s *shrinker) simplify() bool {
	var cands []sim.Config
	for _, q := range s.best.Config.Plan.Simpler() {
		cands = append(cands, s.withPlan(q))
	}
	return s.try(cands)
}
