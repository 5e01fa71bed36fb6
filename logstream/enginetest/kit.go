package enginetest

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// Pair is one fresh set of connected engines.
type Pair struct {
	// Sender runs the kit's streams (StreamObjects). A send-only engine
	// (a network client) is enough.
	Sender logstream.Sender
	// Receivers are the targets, by the name the Sender reaches them by.
	// Two or more let the multi-target subtests run. A receive-only
	// engine (a network server) is enough.
	Receivers map[string]logstream.Receiver
	// Stop releases the pair; nil means nothing to release. The kit calls
	// it once at the end of each subtest (from another goroutine if the
	// subtest hung).
	Stop func()
	// ConsumeMayBlock says consumers run off the sender's goroutine, so a
	// consumer that blocks withholds only its own reply. The kit then makes
	// a reply go missing by blocking a consumer when a receiver is not a
	// Staller, and runs the blocked-consumer subtests. Leave it off inside
	// a synctest bubble if the engine may then wait on a sync.Mutex (not a
	// durable block: the bubble's clock stops).
	ConsumeMayBlock bool
}

// Factory returns a fresh Pair; Run and Check call it once per subtest.
type Factory func() (Pair, error)

// Shutdowner is a receiving engine that can be shut down. Shutdown ends
// every stream it receives with TASK_ABORTED (the done callback may run
// before or after Shutdown returns).
type Shutdowner interface {
	Shutdown()
}

// Staller is a receiving engine that can withhold its replies: until
// release is called, the replies of messages sent to it never reach the
// sender (the messages may or may not be consumed).
type Staller interface {
	Stall() (release func())
}

// Blocker is a receiving engine that runs its consumers on the goroutine
// that drives it, in its own (virtual) time, so that a consumer cannot block
// on a channel without blocking everything, but can block in engine time:
// Block, called from inside a Consume of this engine, suspends that Consume
// while the engine goes on (other deliveries, idle deadlines, Shutdown, an
// Abort), and returns once release is closed, at the engine's next step
// after that (in the sending engine's Settle, if nothing else runs). The kit
// closes release, and calls Shutdown, only from the goroutine that runs
// StreamObjects and Settle. A Blocker's receivers pass the blocked-consumer
// subtests without Pair.ConsumeMayBlock.
type Blocker interface {
	Block(release <-chan struct{})
}

// Settler is a sending engine with work left after StreamObjects returns
// that nothing else runs (deliveries in flight, idle deadlines): Settle
// runs it until nothing is left. Engines that run on their own goroutines
// need not implement it.
type Settler interface {
	Settle()
}

// Options tune Run and Check. The zero value is ready to use.
type Options struct {
	// Watchdog bounds each subtest (default 20 s). It only detects hangs.
	Watchdog time.Duration
	// Short is the timeout used where a reply is meant to be missing and
	// the idle deadline subtests arm (default 50 ms, in engine time).
	Short time.Duration
	// Wrap, if set, runs each subtest's body under Run, for example
	// synctest.Test. Check does not use it.
	Wrap func(t *testing.T, body func(t *testing.T))
	// Cases, if not empty, selects the subtests to run by name (see
	// Names); under Run, -run selects too.
	Cases []string
	// Window is the LogProducer window of the StreamLog subtests (0: the
	// default, logstream.DefaultWindow; 1: stop-and-wait). Run the kit with
	// both.
	Window int
}

func (o Options) selected() []kcase {
	if len(o.Cases) == 0 {
		return cases
	}
	var out []kcase
	for _, c := range cases {
		if slices.Contains(o.Cases, c.name) {
			out = append(out, c)
		}
	}
	return out
}

func (o Options) withDefaults() Options {
	if o.Watchdog <= 0 {
		o.Watchdog = 20 * time.Second
	}
	if o.Short <= 0 {
		o.Short = 50 * time.Millisecond
	}
	return o
}

// Run runs every subtest against pairs from f, with default Options.
func Run(t *testing.T, f Factory) { Options{}.Run(t, f) }

// Check runs every subtest against pairs from f, with default Options, and
// returns one error listing every violation (nil if none). Skipped subtests
// are not errors.
func Check(f Factory) error { return Options{}.Check(f) }

// Run runs one subtest per case; each violation is a t.Error.
func (o Options) Run(t *testing.T, f Factory) {
	o = o.withDefaults()
	for _, c := range o.selected() {
		t.Run(c.name, func(t *testing.T) {
			body := func(t *testing.T) {
				r := o.runCase(c, f)
				for _, v := range r.violations {
					t.Error(v)
				}
				if r.skip != "" && len(r.violations) == 0 {
					t.Skip(r.skip)
				}
			}
			if o.Wrap != nil {
				o.Wrap(t, body)
			} else {
				body(t)
			}
		})
	}
}

// Check runs every case and joins the violations into one error, each line
// prefixed with the case's name.
func (o Options) Check(f Factory) error {
	o = o.withDefaults()
	var errs []error
	for _, c := range o.selected() {
		r := o.runCase(c, f)
		for _, v := range r.violations {
			errs = append(errs, fmt.Errorf("%s: %s", c.name, v))
		}
	}
	return errors.Join(errs...)
}

// Names returns the names of the subtests, in the order they run.
func Names() []string {
	var out []string
	for _, c := range cases {
		out = append(out, c.name)
	}
	return out
}

// kcase is one behaviour-named subtest.
type kcase struct {
	name string
	run  func(e *env)
}

var cases []kcase // filled by init functions of contract.go and e2e.go

type caseResult struct {
	violations []string
	skip       string
}

// env is what a running case sees.
type env struct {
	opt     Options
	pair    Pair
	targets []string // receiver names, sorted

	mu     sync.Mutex
	res    caseResult
	closed bool // the case ended (or hung): later reports are dropped
	// timedOut closes when the watchdog fires.
	timedOut chan struct{}
	waitDesc string // guarded by waitingMu
}

// errorf records a violation of clause.
func (e *env) errorf(clause, format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.res.violations = append(e.res.violations, clause+": "+fmt.Sprintf(format, args...))
}

func (e *env) skipf(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.res.skip = fmt.Sprintf(format, args...)
}

// runCase makes a pair, runs c under the watchdog and stops the pair.
func (o Options) runCase(c kcase, f Factory) caseResult {
	e := &env{opt: o, timedOut: make(chan struct{})}
	pair, err := f()
	if err != nil {
		return caseResult{violations: []string{"factory: " + err.Error()}}
	}
	if pair.Sender == nil || len(pair.Receivers) == 0 {
		if pair.Stop != nil {
			pair.Stop()
		}
		return caseResult{violations: []string{"factory: a Pair needs a Sender and at least one receiver"}}
	}
	e.pair = pair
	for name := range pair.Receivers {
		e.targets = append(e.targets, name)
	}
	slices.Sort(e.targets)

	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			if pair.Stop != nil {
				pair.Stop()
			}
		})
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer func() {
			if p := recover(); p != nil {
				e.errorf("no panic", "%v\n%s", p, debug.Stack())
			}
		}()
		c.run(e)
		stop()
	}()
	timer := time.NewTimer(o.Watchdog)
	defer timer.Stop()
	select {
	case <-finished:
	case <-timer.C:
		close(e.timedOut)
		e.errorf("hang", "the subtest did not finish within %v (the engine deadlocked, or never delivered, answered or timed out a message)%s",
			o.Watchdog, e.waitingFor())
		// Let the engine release what it holds; do not wait for it.
		go stop()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	return e.res
}

// waiting notes what the case was waiting for, for the hang report.
var waitingMu sync.Mutex

func (e *env) waitingFor() string {
	waitingMu.Lock()
	defer waitingMu.Unlock()
	if e.waitDesc == "" {
		return ""
	}
	return "; it was waiting for " + e.waitDesc
}

func (e *env) setWaiting(desc string) {
	waitingMu.Lock()
	defer waitingMu.Unlock()
	e.waitDesc = desc
}

// two returns the first two targets, or skips the case.
func (e *env) two() (string, string, bool) {
	if len(e.targets) < 2 {
		e.skipf("needs two receivers; the Pair has %d", len(e.targets))
		return "", "", false
	}
	return e.targets[0], e.targets[1], true
}

// settle runs the sender's pending work, if it needs that.
func (e *env) settle() {
	if s, ok := e.pair.Sender.(Settler); ok {
		s.Settle()
	}
}

// waitUntil blocks until cond holds (re-checked whenever rec changes) or the
// watchdog fires; it is for what happens after StreamObjects returned.
func (e *env) waitUntil(rec *recorder, desc string, cond func() bool) bool {
	e.setWaiting(desc)
	defer e.setWaiting("")
	for {
		if cond() {
			return true
		}
		select {
		case <-rec.changed:
		case <-e.timedOut:
			return false
		}
	}
}
