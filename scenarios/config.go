package scenarios

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/sim"
)

// maxDuration bounds every duration of a config line, as faults bounds a
// plan's.
const maxDuration = faults.MaxDuration

// maxInt bounds integer config values (sizes, rates, counts).
const maxInt = 1 << 40

// keyKind is how a config key's value is written.
type keyKind int

const (
	kDuration    keyKind = iota // time.ParseDuration, >= 0
	kOffDuration                // a duration or "off"
	kSize                       // integer with optional KiB or MiB suffix
	kInt                        // plain integer
	kSeed                       // uint64
	kTargets                    // comma-separated names
	kPath                       // absolute clean path
	kEvents                     // "off", or the file-event delay (events on)
	kProb                       // a probability in [0, 1]
	kInodes                     // "unique" or "reuse"
)

// key is one config key: its text name, how its value is written, and how it
// reads and writes a sim.Config. get returns "" when the field is zero (the
// simulator's default), so that String omits it.
type key struct {
	name  string
	kind  keyKind
	group int // 0: run, 1: tail, 2: writer (String prints one line per group)
	param string
	doc   string
	dur   func(c *sim.Config) *time.Duration
	num   func(c *sim.Config) *int64
	inum  func(c *sim.Config) *int
	prob  func(c *sim.Config) *float64
}

// keys lists every config key in canonical order.
var keys = []key{
	{name: "seed", kind: kSeed, doc: "PRNG seed (uint64)"},
	{name: "targets", kind: kTargets, doc: "receivers, comma-separated (default r1)"},
	{name: "path", kind: kPath, doc: "tailed file (default /logs/app.log)"},
	{name: "horizon", kind: kDuration, doc: "how long the writer writes and faults may happen (default 10m)",
		dur: func(c *sim.Config) *time.Duration { return &c.Horizon }},
	{name: "stop", kind: kDuration, doc: "when the sender is told to stop (default horizon)",
		dur: func(c *sim.Config) *time.Duration { return &c.StopAt }},
	{name: "limit", kind: kDuration, doc: "virtual time allowed after horizon (default 30m)",
		dur: func(c *sim.Config) *time.Duration { return &c.Limit }},
	{name: "idle", kind: kOffDuration, doc: "receivers' idle timeout, or off (default 30s)",
		dur: func(c *sim.Config) *time.Duration { return &c.IdleTimeout }},
	{name: "latency", kind: kDuration, doc: "network delay when the plan has no delay line (default 1ms)",
		dur: func(c *sim.Config) *time.Duration { return &c.Latency }},
	{name: "bandwidth", kind: kSize, doc: "each link's bytes per second, each way (default 0: unlimited)",
		num: func(c *sim.Config) *int64 { return &c.Bandwidth }},

	{name: "poll", kind: kDuration, group: 1, param: "PollInterval",
		dur: func(c *sim.Config) *time.Duration { return &c.Tail.PollInterval }},
	{name: "liveness", kind: kDuration, group: 1, param: "LivenessInterval",
		dur: func(c *sim.Config) *time.Duration { return &c.Tail.LivenessInterval }},
	{name: "tail-idle", kind: kDuration, group: 1, param: "IdleTimeout",
		dur: func(c *sim.Config) *time.Duration { return &c.Tail.IdleTimeout }},
	{name: "chunk", kind: kSize, group: 1, param: "ChunkSize",
		inum: func(c *sim.Config) *int { return &c.Tail.ChunkSize }},
	{name: "chunk-timeout", kind: kDuration, group: 1, param: "ChunkTimeout",
		dur: func(c *sim.Config) *time.Duration { return &c.Tail.ChunkTimeout }},
	{name: "drain", kind: kDuration, group: 1, param: "DrainWindow",
		dur: func(c *sim.Config) *time.Duration { return &c.Tail.DrainWindow }},
	{name: "backoff", kind: kDuration, group: 1, param: "RetryBackoff",
		dur: func(c *sim.Config) *time.Duration { return &c.Tail.RetryBackoff }},
	{name: "max-backoff", kind: kDuration, group: 1, param: "MaxRetryBackoff",
		dur: func(c *sim.Config) *time.Duration { return &c.Tail.MaxRetryBackoff }},
	{name: "retries", kind: kInt, group: 1, param: "RetryLimit",
		inum: func(c *sim.Config) *int { return &c.Tail.RetryLimit }},
	{name: "not-ready", kind: kDuration, group: 1, param: "NotReadyTimeout",
		dur: func(c *sim.Config) *time.Duration { return &c.Tail.NotReadyTimeout }},
	{name: "window", kind: kInt, group: 1, param: "Window",
		inum: func(c *sim.Config) *int { return &c.Tail.Window }},
	{name: "read-ahead", kind: kSize, group: 1, param: "ReadAhead",
		num: func(c *sim.Config) *int64 { return &c.Tail.ReadAhead }},
	{name: "max-lag", kind: kSize, group: 1, param: "MaxLag",
		num: func(c *sim.Config) *int64 { return &c.Tail.MaxLag }},

	{name: "events", kind: kEvents, doc: "file-system events: off (default), or the delay with which each arrives (events on)"},
	{name: "inodes", kind: kInodes, doc: "inode numbers: unique (default), or reuse (a removed file's number goes to the next file created, as on ext4)"},
	{name: "event-loss", kind: kProb, doc: "probability that a file-system event is lost (queue overflow; default 0)",
		prob: func(c *sim.Config) *float64 { return &c.Events.Overflow }},

	{name: "rate", kind: kSize, group: 2, doc: "bytes written per second (default 4096)",
		num: func(c *sim.Config) *int64 { return &c.Writer.Rate }},
	{name: "max-write", kind: kSize, group: 2, doc: "largest single write (default 512)",
		inum: func(c *sim.Config) *int { return &c.Writer.MaxWrite }},
	{name: "burst-every", kind: kDuration, group: 2, doc: "mean time between bursts of writes (default 1s)",
		dur: func(c *sim.Config) *time.Duration { return &c.Writer.BurstEvery }},
	{name: "start", kind: kDuration, group: 2, doc: "when the file is created (default 0s)",
		dur: func(c *sim.Config) *time.Duration { return &c.Writer.Start }},
	{name: "until", kind: kDuration, group: 2, doc: "when the writer stops (default stop+1s)",
		dur: func(c *sim.Config) *time.Duration { return &c.Writer.Until }},
}

func keyNames() string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.name
	}
	return strings.Join(names, ", ")
}

func lookupKey(name string) (*key, bool) {
	for i := range keys {
		if keys[i].name == name {
			return &keys[i], true
		}
	}
	return nil, false
}

// keyForParam returns the config key of a logstream option name.
func keyForParam(param string) string {
	for _, k := range keys {
		if k.param == param && param != "" {
			return k.name
		}
	}
	return ""
}

// set parses val into c for key k. The error says what was expected.
func (k *key) set(c *sim.Config, val string) error {
	switch k.kind {
	case kSeed:
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return fmt.Errorf("bad seed %q (want a decimal integer in [0, 2^64))", val)
		}
		c.Seed = n
	case kTargets:
		ts, err := parseTargets(val)
		if err != nil {
			return err
		}
		c.Targets = ts
	case kPath:
		if err := checkPath(val); err != nil {
			return err
		}
		c.Path = val
	case kDuration, kOffDuration:
		if k.kind == kOffDuration && val == "off" {
			*k.dur(c) = -1
			return nil
		}
		d, err := time.ParseDuration(val)
		if err != nil {
			want := "a duration such as 500ms or 2m"
			if k.kind == kOffDuration {
				want += ", or off"
			}
			return fmt.Errorf("bad duration %q (want %s)", val, want)
		}
		if d < 0 || d > maxDuration {
			return fmt.Errorf("%v out of range [0s, %v]", d, maxDuration)
		}
		*k.dur(c) = d
	case kEvents:
		if val == "off" {
			c.Events.On, c.Events.Delay = false, 0
			return nil
		}
		d, err := time.ParseDuration(val)
		if err != nil {
			return fmt.Errorf("bad events value %q (want off, or the delay of each event such as 1ms)", val)
		}
		if d < 0 || d > maxDuration {
			return fmt.Errorf("%v out of range [0s, %v]", d, maxDuration)
		}
		c.Events.On, c.Events.Delay = true, d
	case kInodes:
		switch val {
		case "unique", "reuse":
			c.ReuseInodes = val == "reuse"
		default:
			return fmt.Errorf("bad inodes value %q (want unique or reuse)", val)
		}
	case kProb:
		v, err := strconv.ParseFloat(val, 64)
		if err != nil || !(v >= 0 && v <= 1) {
			return fmt.Errorf("bad probability %q (want a number in [0, 1] such as 0.25)", val)
		}
		*k.prob(c) = v
	case kSize, kInt:
		n, err := parseSize(val, k.kind == kSize)
		if err != nil {
			return err
		}
		if k.num != nil {
			*k.num(c) = n
		} else {
			*k.inum(c) = int(n)
		}
	}
	return nil
}

// get formats k's value in c, or "" when the field has its zero value.
func (k *key) get(c *sim.Config) string {
	switch k.kind {
	case kSeed:
		return strconv.FormatUint(c.Seed, 10)
	case kTargets:
		return strings.Join(c.Targets, ",")
	case kPath:
		return c.Path
	case kDuration, kOffDuration:
		d := *k.dur(c)
		switch {
		case d == 0:
			return ""
		case d < 0 && k.kind == kOffDuration:
			return "off"
		}
		return formatDuration(d)
	case kEvents:
		if !c.Events.On {
			return ""
		}
		if c.Events.Delay <= 0 {
			return "0s"
		}
		return formatDuration(c.Events.Delay)
	case kInodes:
		if c.ReuseInodes {
			return "reuse"
		}
		return ""
	case kProb:
		if v := *k.prob(c); v != 0 {
			return strconv.FormatFloat(v, 'g', -1, 64)
		}
		return ""
	case kSize, kInt:
		var n int64
		if k.num != nil {
			n = *k.num(c)
		} else {
			n = int64(*k.inum(c))
		}
		if n == 0 {
			return ""
		}
		return formatSize(n, k.kind == kSize)
	}
	return ""
}

func parseSize(val string, suffix bool) (int64, error) {
	s, mul := val, int64(1)
	if suffix {
		if v, ok := strings.CutSuffix(s, "KiB"); ok {
			s, mul = v, 1<<10
		} else if v, ok := strings.CutSuffix(s, "MiB"); ok {
			s, mul = v, 1<<20
		}
	}
	want := "a decimal integer"
	if suffix {
		want += ", optionally with KiB or MiB"
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad number %q (want %s)", val, want)
	}
	if n > maxInt/mul {
		return 0, fmt.Errorf("%s out of range [0, %d]", val, int64(maxInt))
	}
	return n * mul, nil
}

func formatSize(n int64, suffix bool) string {
	if suffix && n > 0 {
		if n%(1<<20) == 0 {
			return strconv.FormatInt(n>>20, 10) + "MiB"
		}
		if n%(1<<10) == 0 {
			return strconv.FormatInt(n>>10, 10) + "KiB"
		}
	}
	return strconv.FormatInt(n, 10)
}

// parseTargets reads a comma-separated list of distinct receiver names.
func parseTargets(val string) ([]string, error) {
	ts := strings.Split(val, ",")
	seen := map[string]bool{}
	for _, t := range ts {
		if err := checkTarget(t); err != nil {
			return nil, err
		}
		if seen[t] {
			return nil, fmt.Errorf("target %q repeated", t)
		}
		seen[t] = true
	}
	return ts, nil
}

// checkTarget accepts what faults accepts as a target name.
func checkTarget(s string) error {
	if s == "" || len(s) > faults.MaxTargetLen {
		return fmt.Errorf("target %q: want 1 to %d characters from [A-Za-z0-9._:@/-]", s, faults.MaxTargetLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("._:@/-", c) >= 0
		if !ok {
			return fmt.Errorf("target %q: character %q not allowed (want [A-Za-z0-9._:@/-])", s, c)
		}
	}
	return nil
}

func checkPath(p string) error {
	if len(p) < 2 || p[0] != '/' || path.Clean(p) != p || len(p) > 1024 {
		return fmt.Errorf("bad path %q (want an absolute, clean file path such as /logs/app.log)", p)
	}
	for _, c := range p {
		if c <= ' ' || c == '#' || c == 0x7f || c == '=' || c == ',' {
			return fmt.Errorf("bad path %q: character %q not allowed", p, c)
		}
	}
	return nil
}

// normalizeConfig returns cfg as a scenario can carry it: the trace and the
// variants dropped, negative values that the simulator reads as "default"
// zeroed, a negative idle timeout set to -1 ("off"), and the plan
// cloned.
func normalizeConfig(cfg sim.Config) sim.Config {
	cfg.Trace = nil
	cfg.Variants = sim.Variants{}
	cfg.Targets = append([]string(nil), cfg.Targets...)
	if len(cfg.Targets) == 0 {
		cfg.Targets = nil
	}
	cfg.Plan = cfg.Plan.Clone()
	if len(cfg.Plan.Faults) == 0 {
		cfg.Plan.Faults = nil
	}
	for _, d := range []*time.Duration{&cfg.Horizon, &cfg.StopAt, &cfg.Limit, &cfg.Latency,
		&cfg.Writer.Start, &cfg.Writer.Until, &cfg.Writer.BurstEvery} {
		if *d < 0 {
			*d = 0
		}
	}
	if cfg.IdleTimeout < 0 {
		cfg.IdleTimeout = -1
	}
	if cfg.Writer.Rate < 0 {
		cfg.Writer.Rate = 0
	}
	if cfg.Writer.MaxWrite < 0 {
		cfg.Writer.MaxWrite = 0
	}
	return cfg
}

// formatDuration is time.Duration.String without trailing zero units:
// "2m" rather than "2m0s", "1h" rather than "1h0m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}
