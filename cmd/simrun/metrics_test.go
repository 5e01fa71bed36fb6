package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// scrape GETs http://addr/metrics and parses the text exposition format.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return fams
}

// value returns the value of family name's sample whose labels include
// labels ("k=v" each); ok is false when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		}
	}
	return 0, false
}

// TestMetricsEndpoints runs 'simrun receive' and 'simrun live' in process
// over mutual TLS with --metrics on loopback, makes the receiver refuse a
// plain-TCP client, streams a file, and scrapes and parses both endpoints.
func TestMetricsEndpoints(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	quiet := &Main{Stdout: io.Discard, Stderr: io.Discard}
	if err := (&CertsCommand{main: quiet}).Run(context.Background(), []string{"--out", pki, "--sites", "site-1"}); err != nil {
		t.Fatal(err)
	}
	tlsArgs := func(side string) []string {
		return []string{"--cert", filepath.Join(pki, side+".pem"), "--key", filepath.Join(pki, side+"-key.pem"), "--ca", filepath.Join(pki, "ca.pem")}
	}

	ctx, cancel := context.WithCancel(context.Background())
	ready, rmetrics := make(chan string, 1), make(chan string, 1)
	rout := newSyncBuf()
	res := make(chan error, 1)
	go func() {
		res <- (&ReceiveCommand{main: &Main{Stdout: rout, Stderr: rout}, ready: func(a string) { ready <- a },
			metricsReady: func(a string) { rmetrics <- a }}).Run(ctx,
			append([]string{"--listen", "127.0.0.1:0", "--out", filepath.Join(dir, "out"), "--metrics", "127.0.0.1:0"}, tlsArgs("server")...))
	}()
	maddr := <-rmetrics // the metrics are up before the receiver is ready
	raddr := <-ready

	// A plain-TCP client: refused at the handshake; EOF once it is counted.
	c, err := net.Dial("tcp", raddr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("LSN\x01 plain frames"))
	io.Copy(io.Discard, c)
	c.Close()

	content := bytes.Repeat([]byte("a metrics line\n"), 5000)
	file := filepath.Join(dir, "app.log")
	if err := os.WriteFile(file, content, 0o644); err != nil {
		t.Fatal(err)
	}
	sigs := make(chan os.Signal, 1)
	sigs <- os.Interrupt // stop at once: drain the file, then EOF
	var live map[string]*dto.MetricFamily
	lout := newSyncBuf()
	lc := &LiveCommand{main: &Main{Stdout: lout, Stderr: lout}, signals: sigs}
	lmetrics := make(chan string, 1)
	lc.metricsReady = func(a string) { lmetrics <- a }
	lc.ended = func() { live = scrape(t, <-lmetrics) }
	if err := lc.Run(context.Background(), append([]string{"--file", file, "--to", "recv=" + raddr, "--site", "site-1",
		"--poll", "10ms", "--chunk", "16KiB", "--metrics", "127.0.0.1:0"}, tlsArgs("site-1")...)); err != nil {
		t.Fatalf("live: %v\n%s", err, lout)
	}
	recv := scrape(t, maddr)
	cancel()
	if err := <-res; err != nil {
		t.Fatalf("receive: %v\n%s", err, rout)
	}

	n := float64(len(content))
	for _, c := range []struct {
		fams   map[string]*dto.MetricFamily
		name   string
		labels []string
		want   float64
	}{
		{live, "logstream_read_bytes_total", nil, n},
		{live, "logstream_sent_bytes_total", []string{"target=recv"}, n},
		{live, "logstream_acked_bytes_total", []string{"target=recv"}, n},
		{live, "logstream_lag_bytes", []string{"target=recv"}, 0},
		{live, "logstream_lag_seconds", []string{"target=recv"}, 0},
		{live, "logstream_retries_total", []string{"target=recv"}, 0},
		{live, "logstream_not_ready_total", []string{"target=recv"}, 0},
		{live, "logstream_timeouts_total", []string{"target=recv"}, 0},
		{live, "logstream_streams_total", []string{"rc=OK"}, 1},
		{live, "logstream_active_streams", nil, 0},
		{live, "logstream_tail_events_total", []string{"kind=opened"}, 1},
		{recv, "logstream_delivered_bytes_total", []string{"site=site-1"}, n},
		{recv, "logstream_received_bytes_total", []string{"site=site-1"}, n},
		{recv, "logstream_received_messages_total", []string{"kind=eof"}, 1},
		{recv, "logstream_streams_total", []string{"rc=OK"}, 1},
		{recv, "logstream_active_streams", nil, 0},
		{recv, "logstream_tls_rejections_total", []string{"reason=not-tls"}, 1},
		{recv, "logstream_tls_rejections_total", []string{"reason=claim"}, 0},
	} {
		side := "live"
		if c.fams["logstream_tls_rejections_total"] != nil {
			side = "receive"
		}
		if got, ok := value(c.fams, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s: %s%v = %v (present %v), want %v", side, c.name, c.labels, got, ok, c.want)
		}
	}
	if !strings.Contains(rout.String(), "metrics on http://") {
		t.Errorf("receive did not print its metrics address:\n%s", rout)
	}
}

// TestSendMetrics feeds the sender's metrics a scripted stream: a retry
// after NOT_READY, timeouts, a lag that ages, and a
// target that fails with bytes unacknowledged.
func TestSendMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newSendMetrics(reg, []string{"a", "b"})
	t0 := time.Unix(1000, 0)
	now := t0
	m.now = func() time.Time { return now }
	send := func(off int64, data string, targets ...string) {
		m.step(now, logstream.Step{Kind: logstream.StepSend, Targets: targets,
			Msg: logstream.Message{Kind: logstream.KindData, Offset: off, Size: len(data), Data: []byte(data)}})
	}
	send(0, "hello", "a", "b")
	m.noteReply("a", logstream.Reply{RC: logstream.OK, Next: 5})
	m.noteReply("b", logstream.Reply{RC: logstream.NotReady})
	now = t0.Add(3 * time.Second)
	send(0, "hello", "b") // the retry after NOT_READY
	m.noteReply("b", logstream.Reply{RC: logstream.Timeout})
	send(5, "world", "a", "b")
	m.noteReply("a", logstream.Reply{Next: 10})
	m.noteReply("b", logstream.Reply{RC: logstream.Timeout})
	now = t0.Add(10 * time.Second)
	m.tail(logstream.TailEvent{Kind: logstream.TailTruncated})
	got := gather(t, reg)
	m.step(now, logstream.Step{Kind: logstream.StepDone, Result: logstream.Result{RC: logstream.Error, Targets: []logstream.TargetResult{
		{Target: "a", RC: logstream.OK, Acked: 10}, {Target: "b", RC: logstream.CommunicationError}}}})
	done := gather(t, reg)
	for _, c := range []struct {
		fams   map[string]*dto.MetricFamily
		name   string
		labels []string
		want   float64
	}{
		{got, "logstream_read_bytes_total", nil, 10},
		{got, "logstream_sent_bytes_total", []string{"target=a"}, 10},
		{got, "logstream_sent_bytes_total", []string{"target=b"}, 15},
		{got, "logstream_acked_bytes_total", []string{"target=a"}, 10},
		{got, "logstream_acked_bytes_total", []string{"target=b"}, 0},
		{got, "logstream_retries_total", []string{"target=b"}, 1}, // hello again; world is new
		{got, "logstream_retries_total", []string{"target=a"}, 0},
		{got, "logstream_not_ready_total", []string{"target=b"}, 1},
		{got, "logstream_timeouts_total", []string{"target=b"}, 2},
		{got, "logstream_replies_total", []string{"target=a", "rc=OK"}, 2},
		{got, "logstream_lag_bytes", []string{"target=a"}, 0},
		{got, "logstream_lag_bytes", []string{"target=b"}, 10},
		{got, "logstream_lag_seconds", []string{"target=a"}, 0},
		{got, "logstream_lag_seconds", []string{"target=b"}, 10},
		{got, "logstream_loss_events_total", []string{"cause=truncated"}, 1},
		{done, "logstream_lost_bytes_total", []string{"target=b", "cause=COMMUNICATION_ERROR"}, 10},
		{done, "logstream_loss_events_total", []string{"cause=target:COMMUNICATION_ERROR"}, 1},
		{done, "logstream_streams_total", []string{"rc=ERROR"}, 1},
	} {
		if v, ok := value(c.fams, c.name, c.labels...); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
}

// gather renders reg in the text format and parses it back, as a scrape
// would.
func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, f := range fams {
		if _, err := expfmt.MetricFamilyToText(&b, f); err != nil {
			t.Fatal(err)
		}
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	out, err := p.TextToMetricFamilies(&b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return out
}
