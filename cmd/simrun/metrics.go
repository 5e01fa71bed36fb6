package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/logstream-sim/logstream-sim/logstream"
	"github.com/logstream-sim/logstream-sim/logstream/netengine"
)

// Prometheus metrics of 'simrun live' and 'simrun receive' (--metrics ADDR).
// They are the streamer's own account, for operators; the simulator's
// oracle never reads them.
//
// What the current API lets a sender observe: the tailer reads bytes into
// data messages (read), sends them to targets (sent, retries included),
// targets acknowledge a stream offset (acked: delivered as far as the
// sender knows), and reply codes (NOT_READY waits, TIMEOUTs). Lag is what
// was read but not yet acknowledged, in bytes and in the age of its oldest
// byte (measured from the read, since the writer's time is not observable).
// Losses are counted by cause: tail events where bytes may have been missed
// (truncated, regrown, capped, gave-up, drain-expired; the amount is not
// knowable) and, per failed target, the bytes read but never acknowledged.

const metricsUsage = `	--metrics ADDR     serve Prometheus metrics on http://ADDR/metrics
	                   (e.g. 127.0.0.1:9090; port 0 picks one and prints it)
`

// metricsHandler serves reg at /metrics on addr until the returned stop is
// called. ready, if set, is told the address.
func serveMetrics(cmd, addr string, reg *prometheus.Registry, stderr io.Writer, ready func(string)) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usagef("%s: --metrics %s: %v", "", cmd, addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "simrun %s: metrics: %v\n", cmd, err)
		}
	}()
	fmt.Fprintf(stderr, "simrun %s: metrics on http://%s/metrics\n", cmd, ln.Addr())
	if ready != nil {
		ready(ln.Addr().String())
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}, nil
}

// lossEvents are the tail events after which bytes may be missing.
var lossEvents = map[logstream.TailEventKind]bool{
	logstream.TailTruncated: true, logstream.TailRegrown: true, logstream.TailCapped: true,
	logstream.TailGaveUp: true, logstream.TailDrainExpired: true,
}

// sendMetrics are the sender's metrics; progressProducer feeds them.
type sendMetrics struct {
	read       prometheus.Counter
	sent       *prometheus.CounterVec
	acked      *prometheus.CounterVec
	retries    *prometheus.CounterVec
	notReady   *prometheus.CounterVec
	timeouts   *prometheus.CounterVec
	replies    *prometheus.CounterVec
	losses     *prometheus.CounterVec
	lostBytes  *prometheus.CounterVec
	tailEvents *prometheus.CounterVec
	active     prometheus.Gauge
	streams    *prometheus.CounterVec
	lagBytes   *prometheus.Desc
	lagSeconds *prometheus.Desc

	mu      sync.Mutex
	readEnd int64      // stream offset just past the last byte read
	marks   []readMark // when each read ended, oldest first, trimmed as every target acknowledges
	targets map[string]*targetState
	names   []string
	now     func() time.Time
}

type readMark struct {
	end int64
	at  time.Time
}

type targetState struct {
	acked   int64
	sentEnd int64 // stream offset past the last data byte sent to the target
	eofSent bool
}

func newSendMetrics(reg prometheus.Registerer, targets []string) *sendMetrics {
	f := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logstream_" + name, Help: help}, labels)
		reg.MustRegister(v)
		return v
	}
	m := &sendMetrics{
		read:       prometheus.NewCounter(prometheus.CounterOpts{Name: "logstream_read_bytes_total", Help: "Bytes the tailer read from the file into data messages."}),
		sent:       f("sent_bytes_total", "Data bytes sent to a target, retries included.", "target"),
		acked:      f("acked_bytes_total", "Bytes a target acknowledged (delivered, as far as the sender knows).", "target"),
		retries:    f("retries_total", "Data and EOF messages sent to a target again (bytes or an EOF it was sent before).", "target"),
		notReady:   f("not_ready_total", "NOT_READY replies: the receiver had no handler yet and the sender waits and retries.", "target"),
		timeouts:   f("timeouts_total", "Messages that got no reply in time (TIMEOUT).", "target"),
		replies:    f("replies_total", "Replies by return code.", "target", "rc"),
		losses:     f("loss_events_total", "Events after which bytes may be lost, by cause: tail events (truncated, regrown, capped, gave-up, drain-expired) and failed targets (target:RC).", "cause"),
		lostBytes:  f("lost_bytes_total", "Bytes read but never acknowledged by a target whose stream failed, by the target's return code.", "target", "cause"),
		tailEvents: f("tail_events_total", "Tailer observations by kind (opened, rotated, truncated, ...).", "kind"),
		active:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "logstream_active_streams", Help: "Streams running."}),
		streams:    f("streams_total", "Streams ended, by return code.", "rc"),
		lagBytes: prometheus.NewDesc("logstream_lag_bytes", "Bytes read but not yet acknowledged by the target.",
			[]string{"target"}, nil),
		lagSeconds: prometheus.NewDesc("logstream_lag_seconds", "Age of the oldest byte read but not yet acknowledged by the target (0 when caught up).",
			[]string{"target"}, nil),
		targets: map[string]*targetState{},
		names:   slices.Clone(targets),
		now:     time.Now,
	}
	for _, t := range targets {
		m.targets[t] = &targetState{}
		for _, v := range []*prometheus.CounterVec{m.sent, m.acked, m.retries, m.notReady, m.timeouts} {
			v.WithLabelValues(t)
		}
	}
	reg.MustRegister(m.read, m.active, m)
	return m
}

// Describe implements prometheus.Collector for the lag metrics.
func (m *sendMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.lagBytes
	ch <- m.lagSeconds
}

// Collect implements prometheus.Collector: lag is computed at scrape time,
// so a target that stopped answering shows its lag growing.
func (m *sendMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for _, name := range m.names {
		t := m.targets[name]
		age := 0.0
		for _, mk := range m.marks {
			if mk.end > t.acked {
				age = max(0, now.Sub(mk.at).Seconds())
				break
			}
		}
		ch <- prometheus.MustNewConstMetric(m.lagBytes, prometheus.GaugeValue, float64(max(0, m.readEnd-t.acked)), name)
		ch <- prometheus.MustNewConstMetric(m.lagSeconds, prometheus.GaugeValue, age, name)
	}
}

// step notes a producer's step.
func (m *sendMetrics) step(now time.Time, s logstream.Step) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch s.Kind {
	case logstream.StepSend:
		msg := &s.Msg
		if msg.Kind == logstream.KindData && msg.End() > m.readEnd {
			m.read.Add(float64(msg.End() - max(m.readEnd, msg.Offset)))
			m.readEnd = msg.End()
			m.marks = append(m.marks, readMark{m.readEnd, now})
		}
		for _, name := range s.Targets {
			t := m.targets[name]
			if t == nil {
				continue
			}
			switch msg.Kind {
			case logstream.KindData:
				m.sent.WithLabelValues(name).Add(float64(len(msg.Data)))
				if msg.Offset < t.sentEnd {
					m.retries.WithLabelValues(name).Inc()
				}
				t.sentEnd = max(t.sentEnd, msg.End())
			case logstream.KindEOF:
				if t.eofSent {
					m.retries.WithLabelValues(name).Inc()
				}
				t.eofSent = true
			}
		}
	case logstream.StepDone:
		m.active.Set(0)
		m.streams.WithLabelValues(string(s.Result.RC)).Inc()
		for _, tr := range s.Result.Targets {
			t := m.targets[tr.Target]
			if tr.RC == logstream.OK || t == nil {
				continue
			}
			m.losses.WithLabelValues("target:" + string(tr.RC)).Inc()
			m.lostBytes.WithLabelValues(tr.Target, string(tr.RC)).Add(float64(max(0, m.readEnd-t.acked)))
		}
	}
}

// noteReply notes one target's reply.
func (m *sendMetrics) noteReply(name string, r logstream.Reply) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.targets[name]
	if t == nil {
		return
	}
	rc := r.RC
	if rc == "" {
		rc = logstream.OK
	}
	m.replies.WithLabelValues(name, string(rc)).Inc()
	switch rc {
	case logstream.NotReady:
		m.notReady.WithLabelValues(name).Inc()
	case logstream.Timeout:
		m.timeouts.WithLabelValues(name).Inc()
	}
	if rc == logstream.OK && r.Next > t.acked {
		m.acked.WithLabelValues(name).Add(float64(r.Next - t.acked))
		t.acked = r.Next
	}
	// Forget read marks every target has acknowledged.
	low := m.readEnd
	for _, t := range m.targets {
		low = min(low, t.acked)
	}
	i := 0
	for i < len(m.marks) && m.marks[i].end <= low {
		i++
	}
	m.marks = m.marks[i:]
}

// tail notes a tail event.
func (m *sendMetrics) tail(ev logstream.TailEvent) {
	m.tailEvents.WithLabelValues(ev.Kind.String()).Inc()
	if lossEvents[ev.Kind] {
		m.losses.WithLabelValues(ev.Kind.String()).Inc()
	}
}

// recvMetrics are the receiver's metrics.
type recvMetrics struct {
	received  *prometheus.CounterVec
	delivered *prometheus.CounterVec
	messages  *prometheus.CounterVec
	streams   *prometheus.CounterVec
	rejected  *prometheus.Desc
	srv       *netengine.Server
}

// rejectReasons are the TLS refusal reasons, exported at 0 from the start.
var rejectReasons = []string{netengine.RejectNotTLS, netengine.RejectNoCertificate, netengine.RejectUnknownAuthority,
	netengine.RejectExpired, netengine.RejectBadCertificate, netengine.RejectHandshake, netengine.RejectIdentity,
	netengine.RejectClaim}

func newRecvMetrics(reg prometheus.Registerer, srv *netengine.Server) *recvMetrics {
	f := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logstream_" + name, Help: help}, labels)
		reg.MustRegister(v)
		return v
	}
	m := &recvMetrics{
		received:  f("received_bytes_total", "Data bytes received in messages, duplicates included, by sending site.", "site"),
		delivered: f("delivered_bytes_total", "Bytes delivered to the output (each stream byte once), by sending site.", "site"),
		messages:  f("received_messages_total", "Messages that reached a stream, by kind.", "kind"),
		streams:   f("streams_total", "Streams ended, by return code.", "rc"),
		rejected: prometheus.NewDesc("logstream_tls_rejections_total", "Connections and streams refused by the TLS checks, by reason.",
			[]string{"reason"}, nil),
		srv: srv,
	}
	reg.MustRegister(m, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "logstream_active_streams", Help: "Streams being received."},
		func() float64 { return float64(srv.Open()) }))
	return m
}

// Describe implements prometheus.Collector for the TLS rejections.
func (m *recvMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.rejected }

// Collect implements prometheus.Collector: the Server's rejection counts.
func (m *recvMetrics) Collect(ch chan<- prometheus.Metric) {
	rej := m.srv.Rejections()
	for _, r := range rejectReasons {
		ch <- prometheus.MustNewConstMetric(m.rejected, prometheus.CounterValue, float64(rej[r]), r)
	}
}

// factory wraps f so that its consumers feed the metrics.
func (m *recvMetrics) factory(f logstream.ConsumerFactory) logstream.ConsumerFactory {
	return metricsFactory{f, m}
}

// done wraps a done callback to count ended streams.
func (m *recvMetrics) done(d logstream.DoneFunc) logstream.DoneFunc {
	return func(info *logstream.StreamInfo) {
		m.streams.WithLabelValues(string(info.RC)).Inc()
		d(info)
	}
}

type metricsFactory struct {
	logstream.ConsumerFactory
	m *recvMetrics
}

func (f metricsFactory) NewConsumer(now time.Time, info *logstream.StreamInfo) (logstream.Consumer, error) {
	c, err := f.ConsumerFactory.NewConsumer(now, info)
	if err != nil {
		return nil, err
	}
	site := netengine.SiteOf(info)
	if site == "" {
		site = "unknown"
	}
	return &metricsConsumer{Consumer: c, m: f.m, site: site}, nil
}

// metricsConsumer counts what its consumer receives and delivers. The
// Dispatcher never runs two Consume calls of one stream at once.
type metricsConsumer struct {
	logstream.Consumer
	m    *recvMetrics
	site string
	next int64
}

func (c *metricsConsumer) Consume(now time.Time, msg *logstream.Message) (bool, logstream.Reply) {
	c.m.messages.WithLabelValues(msg.Kind.String()).Inc()
	if msg.Kind == logstream.KindData {
		c.m.received.WithLabelValues(c.site).Add(float64(len(msg.Data)))
	}
	more, r := c.Consumer.Consume(now, msg)
	if r.Next > c.next {
		c.m.delivered.WithLabelValues(c.site).Add(float64(r.Next - c.next))
		c.next = r.Next
	}
	return more, r
}
