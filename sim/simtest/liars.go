package simtest

import (
	"io"
	"os"
	"time"

	"github.com/spf13/afero"
	"pgregory.net/rapid"

	"github.com/logstream-sim/logstream-sim/faults"
	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/sim"
)

// Broken streamers that lie about themselves or cut corners: each is a
// one-line regression of the kind a tired engineer makes, and each must be
// caught from the world's record alone.

// giveUpEarly announces that it gave up on unreadable files as soon as it is
// stopped, and ends the stream there, without draining what was written
// before the stop.
type giveUpEarly struct {
	logstream.Source
	obs     func(logstream.TailEvent)
	stopped bool
}

func (s *giveUpEarly) Stop(now time.Time) { s.stopped = true; s.Source.Stop(now) }

func (s *giveUpEarly) Next(now time.Time) logstream.TailAction {
	if !s.stopped {
		return s.Source.Next(now)
	}
	if s.obs != nil {
		s.obs(logstream.TailEvent{Kind: logstream.TailGaveUp, At: now, Offset: s.Source.Offset()})
	}
	return logstream.TailAction{Kind: logstream.TailEOF, Offset: s.Source.Offset()}
}

// oneChunkPerPoll reads a single chunk and then waits a whole poll interval,
// however much is left to read: it falls behind a writer faster than
// ChunkSize per poll and never catches up.
type oneChunkPerPoll struct {
	logstream.Source
	poll  time.Duration
	until time.Time
}

func (s *oneChunkPerPoll) Stop(now time.Time) { s.Source.Stop(now) }

func (s *oneChunkPerPoll) Next(now time.Time) logstream.TailAction {
	if now.Before(s.until) {
		return logstream.TailAction{Kind: logstream.TailWait, Until: s.until}
	}
	a := s.Source.Next(now)
	if a.Kind == logstream.TailData {
		s.until = now.Add(s.poll)
	}
	return a
}

// capFs caps a handle at the size its file had when the path was first seen
// to name another file, and tells the observer it capped it: writes to the
// renamed file after that moment are never read, although the spec keeps
// reading it until the new file has data or the drain window ends.
type capFs struct {
	afero.Fs
	obs func(logstream.TailEvent)
}

func (fsys capFs) Open(name string) (afero.File, error) {
	f, err := fsys.Fs.Open(name)
	if err != nil {
		return f, err
	}
	return &capFile{File: f, fs: fsys.Fs, path: name, obs: fsys.obs, cap: -1}, nil
}

type capFile struct {
	afero.File
	fs   afero.Fs
	path string
	obs  func(logstream.TailEvent)
	cap  int64 // -1 until a rotation was seen
}

func (f *capFile) ReadAt(p []byte, off int64) (int, error) {
	if f.cap < 0 {
		mine, err1 := f.File.Stat()
		cur, err2 := f.fs.Stat(f.path)
		if err1 == nil && err2 == nil {
			a, _ := logstream.Identity(mine)
			b, _ := logstream.Identity(cur)
			if a != b {
				f.cap = mine.Size()
				if f.obs != nil {
					f.obs(logstream.TailEvent{Kind: logstream.TailCapped, File: a, FileOffset: off})
				}
			}
		}
	}
	if f.cap >= 0 {
		if off >= f.cap {
			return 0, io.EOF
		}
		if int64(len(p)) > f.cap-off {
			n, err := f.File.ReadAt(p[:f.cap-off], off)
			if err == nil {
				err = io.EOF
			}
			return n, err
		}
	}
	return f.File.ReadAt(p, off)
}

// blindFs answers a stat of the path with the file the tailer is reading
// while its last read filled a whole chunk (a backlog is being drained): the
// tailer does not look at the path then, so it neither notices a rotation
// nor marks the new file's bytes as written before a stop.
type blindFs struct {
	afero.Fs
	path  string
	chunk int
	cur   afero.File
	full  bool
}

func (fsys *blindFs) Open(name string) (afero.File, error) {
	f, err := fsys.Fs.Open(name)
	if err != nil {
		return f, err
	}
	if name != fsys.path {
		return f, nil // a rotated file or the directory (a listing)
	}
	bf := &blindFile{File: f, fs: fsys}
	fsys.cur, fsys.full = bf, false
	return bf, nil
}

func (fsys *blindFs) Stat(name string) (os.FileInfo, error) {
	if name == fsys.path && fsys.full && fsys.cur != nil {
		return fsys.cur.Stat()
	}
	return fsys.Fs.Stat(name)
}

type blindFile struct {
	afero.File
	fs *blindFs
}

func (f *blindFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	if len(p) >= f.fs.chunk {
		f.fs.full = n == len(p)
	}
	return n, err
}

// skipAfterRetry is a sender that counts a data chunk as acknowledged once
// an attempt to send it was lost: it moves on, and the receiver never gets
// the chunk.
type skipAfterRetry struct {
	*logstream.LogProducer
	sent map[uint64]logstream.Message // data messages by send ID
	// onlyStopped: skip only once the sender was told to stop.
	onlyStopped bool
	stopped     bool
}

func (p *skipAfterRetry) Stop(now time.Time) { p.stopped = true; p.LogProducer.Stop(now) }

func (p *skipAfterRetry) Next(now time.Time) logstream.Step {
	st := p.LogProducer.Next(now)
	if st.Kind == logstream.StepSend && st.Msg.Kind == logstream.KindData {
		if p.sent == nil {
			p.sent = map[uint64]logstream.Message{}
		}
		p.sent[st.ID] = st.Msg
	}
	return st
}

func (p *skipAfterRetry) Reply(now time.Time, id uint64, target string, r logstream.Reply) {
	if m, ok := p.sent[id]; ok && (!p.onlyStopped || p.stopped) {
		if r.RC == logstream.Timeout || r.RC == logstream.CommunicationError {
			r = logstream.Reply{RC: logstream.OK, Next: m.End()}
		}
	}
	p.LogProducer.Reply(now, id, target, r)
}

// eofAnyOffset makes consumers that accept EOF wherever they are: they end
// the stream OK although bytes before the EOF's offset never arrived.
type eofAnyOffset struct {
	chunk logstream.ChunkFunc
	idle  time.Duration
}

func (f eofAnyOffset) NewConsumer(now time.Time, info *logstream.StreamInfo) (logstream.Consumer, error) {
	return &eofConsumer{LogConsumer: logstream.NewLogConsumer(now, info, f.chunk, f.idle)}, nil
}

type eofConsumer struct{ *logstream.LogConsumer }

func (c *eofConsumer) Consume(now time.Time, m *logstream.Message) (bool, logstream.Reply) {
	if m.Kind == logstream.KindEOF {
		c.LogConsumer.Consume(now, &logstream.Message{Kind: logstream.KindHeartbeat})
		return false, logstream.Reply{RC: logstream.OK, Next: m.Offset}
	}
	return c.LogConsumer.Consume(now, m)
}

// lagAtStop draws worlds that expose a tailer that stops looking at the
// path while it drains a backlog: one target behind a link slower than the
// writer, a rotation shortly before stop, and a writer that stops at stop
// (so the real streamer, which reads every byte written before stop, loses
// nothing).
var lagAtStop = rapid.Custom(func(t *rapid.T) sim.Config {
	stop := time.Duration(rapid.IntRange(10, 30).Draw(t, "stop-s")) * time.Second
	before := time.Duration(rapid.IntRange(100, 3000).Draw(t, "rotate-before-ms")) * time.Millisecond
	return sim.Config{
		Seed:    rapid.Uint64().Draw(t, "seed"),
		Horizon: stop,
		Tail: logstream.TailOptions{
			PollInterval: rapid.SampledFrom([]time.Duration{100 * time.Millisecond, 500 * time.Millisecond}).Draw(t, "poll"),
			ChunkSize:    4096,
			DrainWindow:  time.Second,
		},
		Writer: sim.WriterConfig{Rate: int64(rapid.SampledFrom([]int{200_000, 400_000}).Draw(t, "rate")), MaxWrite: 4096,
			BurstEvery: 50 * time.Millisecond, Until: stop},
		Plan: faults.Plan{
			Faults: []faults.Fault{{At: stop - before, Kind: faults.Rotate, N: 3}},
			Delay:  faults.Dist{Kind: faults.Fixed, A: 20 * time.Millisecond},
		},
	}
})

// truncateRegrow draws worlds with truncate-then-regrow faults (a new head)
// on a quiet, healthy link: the real streamer loses only what the oracle
// excuses, a tailer that judges truncation by size alone loses more.
var truncateRegrow = rapid.Custom(func(t *rapid.T) sim.Config {
	horizon := time.Duration(rapid.IntRange(20, 60).Draw(t, "horizon-s")) * time.Second
	var fs []faults.Fault
	for at := 5 * time.Second; at < horizon; at += time.Duration(rapid.IntRange(5, 20).Draw(t, "step-s")) * time.Second {
		fs = append(fs, faults.Fault{At: at, Kind: faults.Truncate, N: rapid.SampledFrom([]int{1000, 100000}).Draw(t, "regrow")})
	}
	return sim.Config{
		Seed:    rapid.Uint64().Draw(t, "seed"),
		Horizon: horizon,
		// A tailer that misses the truncation may re-read the same bytes
		// forever: a short limit, and a read-ahead bound of a few chunks
		// (the producer reads ahead up to it), keep such a run cheap.
		Limit: 10 * time.Second,
		Tail:  logstream.TailOptions{PollInterval: 500 * time.Millisecond, ChunkSize: 4096, ReadAhead: 64 << 10},
		Writer: sim.WriterConfig{Rate: int64(rapid.SampledFrom([]int{4096, 65536}).Draw(t, "rate")),
			BurstEvery: rapid.SampledFrom([]time.Duration{50 * time.Millisecond, time.Second}).Draw(t, "burst-every")},
		Plan: faults.Plan{Faults: fs},
	}
})

// rotateThenLateWrite draws worlds in which, after a rotation, the old
// file gets a late write while the new file at the path is still empty:
// the spec keeps reading the renamed file then.
var rotateThenLateWrite = rapid.Custom(func(t *rapid.T) sim.Config {
	horizon := time.Duration(rapid.IntRange(20, 60).Draw(t, "horizon-s")) * time.Second
	at := time.Duration(rapid.IntRange(2000, int(horizon/time.Millisecond)-5000).Draw(t, "rotate-ms")) * time.Millisecond
	late := time.Duration(rapid.IntRange(200, 900).Draw(t, "late-ms")) * time.Millisecond
	return sim.Config{
		Seed:    rapid.Uint64().Draw(t, "seed"),
		Horizon: horizon,
		Tail:    logstream.TailOptions{PollInterval: 100 * time.Millisecond, DrainWindow: 5 * time.Second},
		Writer:  sim.WriterConfig{Rate: 4096, BurstEvery: 3 * time.Second},
		Plan: faults.Plan{Faults: []faults.Fault{
			{At: at, Kind: faults.Rotate, N: 2},
			{At: at + late, Kind: faults.LateWrite, N: rapid.IntRange(1, 2000).Draw(t, "late-bytes")},
		}},
	}
})

// backlogAtStop draws worlds in which the file holds a backlog at the stop:
// a writer faster than the link, and a read-ahead of one chunk, so that the
// producer cannot read far past what the target acknowledged. The spec
// drains every byte written before the stop; a streamer that ends the
// stream at the stop loses the backlog.
var backlogAtStop = rapid.Custom(func(t *rapid.T) sim.Config {
	stop := time.Duration(rapid.IntRange(5, 20).Draw(t, "stop-s")) * time.Second
	return sim.Config{
		Seed:    rapid.Uint64().Draw(t, "seed"),
		Horizon: stop,
		Tail: logstream.TailOptions{PollInterval: 250 * time.Millisecond, ChunkSize: 4096,
			ReadAhead: 4096, Window: 1},
		Writer: sim.WriterConfig{Rate: int64(rapid.SampledFrom([]int{65536, 131072}).Draw(t, "rate")),
			BurstEvery: 100 * time.Millisecond, Until: stop},
		Plan: faults.Plan{Delay: faults.Dist{Kind: faults.Fixed, A: 25 * time.Millisecond}},
	}
})

// dropsAtStop draws worlds in which the first messages after stop are lost,
// while the writer wrote up to the stop: the last chunks need a retry.
var dropsAtStop = rapid.Custom(func(t *rapid.T) sim.Config {
	stop := time.Duration(rapid.IntRange(5, 30).Draw(t, "stop-s")) * time.Second
	return sim.Config{
		Seed:    rapid.Uint64().Draw(t, "seed"),
		Horizon: stop,
		Tail:    logstream.TailOptions{PollInterval: 500 * time.Millisecond, ChunkSize: 512},
		Writer:  sim.WriterConfig{Rate: 4096, BurstEvery: 50 * time.Millisecond, Until: stop},
		Plan: faults.Plan{Faults: []faults.Fault{{At: stop, Kind: faults.DropRequest,
			N: rapid.IntRange(1, 3).Draw(t, "drops")}}},
	}
})

// fastWriter draws worlds with a writer faster than ChunkSize per poll and
// a run limit long enough for the termination bound to pass: a tailer that
// reads one chunk per poll never drains what was written before the stop.
var fastWriter = rapid.Custom(func(t *rapid.T) sim.Config {
	stop := time.Duration(rapid.IntRange(10, 30).Draw(t, "stop-s")) * time.Second
	return sim.Config{
		Seed:    rapid.Uint64().Draw(t, "seed"),
		Horizon: stop,
		Limit:   3 * time.Minute,
		Tail:    logstream.TailOptions{PollInterval: 100 * time.Millisecond, ChunkSize: 512},
		Writer: sim.WriterConfig{Rate: int64(rapid.SampledFrom([]int{32_000, 64_000}).Draw(t, "rate")),
			BurstEvery: 50 * time.Millisecond, Until: stop},
	}
})

// truncateBehindReadAhead draws worlds in which the one target is not ready
// (not registered) while a fast writer writes more than the read-ahead
// holds, and a plain truncate takes the file a while after: a correct
// sender had read ReadAhead-ChunkSize bytes past the target's
// acknowledgements (none) when it came.
var truncateBehindReadAhead = rapid.Custom(func(t *rapid.T) sim.Config {
	trunc := time.Duration(rapid.IntRange(2200, 2800).Draw(t, "truncate-ms")) * time.Millisecond
	return sim.Config{
		Seed:    rapid.Uint64().Draw(t, "seed"),
		Targets: []string{"r1"},
		Horizon: 8 * time.Second,
		Tail:    logstream.TailOptions{PollInterval: 500 * time.Millisecond, ChunkSize: 4096, ReadAhead: 64 << 10},
		Writer: sim.WriterConfig{Rate: int64(rapid.SampledFrom([]int{128 << 10, 256 << 10}).Draw(t, "rate")),
			BurstEvery: time.Second, Until: 8 * time.Second},
		Plan: faults.Plan{Faults: []faults.Fault{
			{At: trunc, Kind: faults.Truncate},
			{At: 3 * time.Second, Kind: faults.NotRegistered},
		}},
	}
})

// lostRequests draws worlds in which a few requests to the one target are
// lost mid-stream: a correct sender retries them.
var lostRequests = rapid.Custom(func(t *rapid.T) sim.Config {
	horizon := time.Duration(rapid.IntRange(10, 30).Draw(t, "horizon-s")) * time.Second
	at := time.Duration(rapid.IntRange(1000, int(horizon/time.Millisecond)-2000).Draw(t, "drop-ms")) * time.Millisecond
	return sim.Config{
		Seed:    rapid.Uint64().Draw(t, "seed"),
		Horizon: horizon,
		Tail:    logstream.TailOptions{PollInterval: 500 * time.Millisecond, ChunkSize: 512},
		Writer:  sim.WriterConfig{Rate: 4096, BurstEvery: 50 * time.Millisecond, Until: horizon},
		Plan: faults.Plan{Faults: []faults.Fault{{At: at, Kind: faults.DropRequest,
			N: rapid.IntRange(1, 3).Draw(t, "drops")}}},
	}
})

// noReread is the real Tailer without its Rereader capability: a producer
// then gives a retrying target behind the read-ahead bound up, as before
// re-reading, though the bytes it needs could be read again.
type noReread struct{ t *logstream.Tailer }

func (s noReread) Next(now time.Time) logstream.TailAction { return s.t.Next(now) }
func (s noReread) Stop(now time.Time)                      { s.t.Stop(now) }
func (s noReread) Offset() int64                           { return s.t.Offset() }
func (s noReread) Close() error                            { return s.t.Close() }
func (s noReread) Recycle(buf []byte)                      { s.t.Recycle(buf) }
func (s noReread) Watch(now time.Time)                     { s.t.Watch(now) }
func (s noReread) HoldEOF(hold bool)                       { s.t.HoldEOF(hold) }
func (s noReread) Unread() int64                           { return s.t.Unread() }
func (s noReread) Changed(now time.Time)                   { s.t.Changed(now) }

// goneReread says that every byte to be read again is gone, though the
// file still holds it: a sender that gives a target behind the read-ahead
// up with ERROR without cause.
type goneReread struct{ noReread }

func (s goneReread) Reread(p []byte, file logstream.FileID, off int64, want func([]byte) bool) (int, error) {
	return 0, logstream.ErrGone
}
func (s goneReread) Release(off int64) { s.t.Release(off) }

// fileOnlyReread reads bytes again from the file that held them only, never
// from a copytruncate's copy of it: a sender that gives a target behind up
// with ERROR after a copytruncate, though the copy holds what it needs.
type fileOnlyReread struct{ noReread }

func (s fileOnlyReread) Reread(p []byte, file logstream.FileID, off int64, want func([]byte) bool) (int, error) {
	first := true
	return s.t.Reread(p, file, off, func(b []byte) bool {
		ok := first && want(b)
		first = false
		return ok
	})
}
func (s fileOnlyReread) Release(off int64) { s.t.Release(off) }

// copytruncateBehind draws worlds in which r2 is unreachable for a few
// seconds while a writer fills a small read-ahead, and a copytruncate comes
// while it is out of reach: a correct sender reads what r2 needs again from
// the copy.
var copytruncateBehind = rapid.Custom(func(t *rapid.T) sim.Config {
	cfg := behindReadAhead.Draw(t, "behind")
	u := cfg.Plan.Faults[0]
	at := u.At + time.Duration(rapid.Int64Range(int64(u.For/4), int64(u.For*3/4)).Draw(t, "copytruncate-at"))
	cfg.Plan = cfg.Plan.With(faults.Fault{At: at, Kind: faults.CopyTruncate})
	return cfg
})

// behindReadAhead draws worlds in which r2 is unreachable for a few
// seconds (well within its retry budget and the idle timeout) while a
// writer of full chunks fills a small read-ahead: a correct sender passes
// r2 and serves it by re-reading once it is back.
var behindReadAhead = rapid.Custom(func(t *rapid.T) sim.Config {
	horizon := time.Duration(rapid.IntRange(15, 25).Draw(t, "horizon-s")) * time.Second
	from := time.Duration(rapid.IntRange(1000, 5000).Draw(t, "from-ms")) * time.Millisecond
	span := time.Duration(rapid.IntRange(3000, 8000).Draw(t, "for-ms")) * time.Millisecond
	return sim.Config{
		Seed:    rapid.Uint64().Draw(t, "seed"),
		Targets: []string{"r1", "r2"},
		Horizon: horizon,
		Tail:    logstream.TailOptions{ChunkSize: 4096, ReadAhead: 64 << 10},
		Writer: sim.WriterConfig{Rate: int64(rapid.SampledFrom([]int{128 << 10, 256 << 10}).Draw(t, "rate")),
			BurstEvery: time.Second, Until: horizon},
		Plan: faults.Plan{Faults: []faults.Fault{{At: from, Kind: faults.Unreachable, Target: "r2", For: span}}},
	}
})
