package logstream_test

import (
	"context"
	"errors"
	"testing"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// failingSender is an engine that fails before streaming.
type failingSender struct{ err error }

func (s failingSender) StreamObjects(context.Context, string, string, logstream.StreamContext, []string, logstream.Producer) (logstream.Result, error) {
	return logstream.Result{}, s.err
}

// An engine's own failure reaches Wait as a *StreamError that wraps it; a
// stream whose targets failed is a *StreamError without a cause.
func TestStreamErrors(t *testing.T) {
	w := newWorld(t)
	boom := errors.New("boom")
	s, err := logstream.StreamLog(context.Background(), logstream.StreamConfig{Sender: failingSender{boom},
		Channel: "c", Topic: "t", Targets: []string{"a"}, FileName: logPath, Fs: w.fs})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Wait()
	var se *logstream.StreamError
	if !errors.As(err, &se) || !errors.Is(err, boom) {
		t.Fatalf("engine failure: %v", err)
	}
	se = &logstream.StreamError{Result: logstream.Result{RC: logstream.Error, Targets: []logstream.TargetResult{
		{Target: "a", RC: logstream.OK}, {Target: "b", RC: logstream.Timeout, Reason: "3 lost attempts"}}}}
	if got, want := se.Error(), "logstream: stream ended ERROR; b: TIMEOUT (3 lost attempts)"; got != want || se.Unwrap() != nil {
		t.Fatalf("%q, want %q", got, want)
	}
}
