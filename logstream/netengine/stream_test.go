package netengine

import (
	"context"
	"errors"
	"testing"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// streamLog runs logstream.StreamLog with cfg until the stream ends, calling
// Stop when stop closes (nil: never), and returns its Result. The error is
// StreamLog's (a bad config); Wait's must be nil exactly when the stream
// ended OK and a *logstream.StreamError otherwise.
func streamLog(tb testing.TB, ctx context.Context, cfg logstream.StreamConfig, stop <-chan struct{}) (logstream.Result, error) {
	s, err := logstream.StreamLog(ctx, cfg)
	if err != nil {
		return logstream.Result{}, err
	}
	select {
	case <-stop:
		s.Stop()
	case <-s.Done():
	}
	res, err := s.Wait()
	var se *logstream.StreamError
	if (res.RC == logstream.OK) != (err == nil) || (err != nil && !errors.As(err, &se)) {
		tb.Errorf("stream ended %s with error %v", res.RC, err)
	}
	return res, nil
}

// A Client only sends and a Server only receives: neither has the other
// half's method to fail with.
func TestHalfEngines(t *testing.T) {
	var cli any = &Client{}
	var srv any = &Server{}
	if _, ok := cli.(logstream.Receiver); ok {
		t.Error("Client implements logstream.Receiver")
	}
	if _, ok := srv.(logstream.Sender); ok {
		t.Error("Server implements logstream.Sender")
	}
}
