package netengine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream"
)

// ErrBadFileName is returned for a stream whose file name could leave the
// output directory.
var ErrBadFileName = errors.New("netengine: unsafe file name")

// SafeFileName returns the name a received stream is stored under: the
// stream context's logstream.KeyFileName, or else the stream ID. It accepts
// only a plain base name: not empty, ".", "..", or anything with a path
// separator, a NUL or a leading dot-dot; it never cleans a bad name into a
// good one.
func SafeFileName(info *logstream.StreamInfo) (string, error) {
	name, ok := info.Ctx[logstream.KeyFileName]
	if !ok {
		name = info.ID
	}
	if name == "" || name == "." || name == ".." || len(name) > 255 ||
		strings.ContainsAny(name, `/\`+"\x00") || filepath.Base(name) != name || !filepath.IsLocal(name) {
		return "", fmt.Errorf("%w: %q", ErrBadFileName, name)
	}
	return name, nil
}

// DirSink stores each received log stream in a file of its own in one
// directory. It is a logstream.ConsumerFactory; register it with
// Server.RegisterStreamProcessing and DirSink.Done. Files are opened through
// an os.Root, so no name or symbolic link makes it write outside the
// directory, and never overwritten: a name already taken gets a numeric
// suffix (app.log.1, app.log.2, ...).
type DirSink struct {
	root *os.Root
	opt  logstream.ReceiveOptions
	// OnStart and OnDone, if set, are told when a stream starts (with the
	// file it goes to) and when it ends (info.RC set; bytes is what was
	// written so far: a write that blocked when the stream ended is not
	// waited for, and the file is closed when it returns).
	OnStart func(info *logstream.StreamInfo, path string)
	OnDone  func(info *logstream.StreamInfo, path string, bytes int64)

	mu    sync.Mutex
	files map[string]*sinkConsumer
}

// NewDirSink returns a DirSink writing into dir (which must exist) whose
// streams end with TIMEOUT after opt's idle timeout without a message (the
// zero ReceiveOptions: logstream.DefaultIdleTimeout; NoIdleTimeout: never)
// and hold at most opt.ReorderBytes of chunks that arrive out of order.
func NewDirSink(dir string, opt logstream.ReceiveOptions) (*DirSink, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}

	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &DirSink{root: root, opt: opt, files: map[string]*sinkConsumer{}}, nil
}

// Close releases the directory handle; call it after the Server shut down.
func (d *DirSink) Close() error { return d.root.Close() }

// Dir returns the output directory.
func (d *DirSink) Dir() string { return d.root.Name() }

type sinkConsumer struct {
	*logstream.LogConsumer
	f    *os.File
	name string
	n    atomic.Int64 // read by Done, which may run while a write blocks
	err  error
}

// NewConsumer implements logstream.ConsumerFactory. A stream with an unsafe
// name is refused (the sender gets EXECUTION_EXCEPTION) and no file is
// created.
func (d *DirSink) NewConsumer(now time.Time, info *logstream.StreamInfo) (logstream.Consumer, error) {
	name, err := SafeFileName(info)
	if err != nil {
		return nil, err
	}
	var f *os.File
	final := name
	for i := 0; ; i++ {
		if i > 0 {
			final = name + "." + strconv.Itoa(i)
		}
		f, err = d.root.OpenFile(final, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i >= 1000 {
			return nil, err
		}
	}
	c := &sinkConsumer{f: f, name: final}
	lf := &logstream.LogConsumerFactory{ReceiveOptions: d.opt, Chunk: func(b []byte, _ *logstream.StreamInfo) error {
		if c.err != nil {
			return c.err
		}
		n, err := f.Write(b)
		c.n.Add(int64(n))
		c.err = err
		return err
	}}
	c.LogConsumer = lf.NewLogConsumer(now, info)
	d.mu.Lock()
	d.files[info.ID] = c
	d.mu.Unlock()
	if d.OnStart != nil {
		d.OnStart(info, filepath.Join(d.Dir(), final))
	}
	return c, nil
}

// Finalize closes the stream's file.
func (c *sinkConsumer) Finalize(rc logstream.ReturnCode) {
	c.LogConsumer.Finalize(rc)
	if err := c.f.Close(); err != nil && c.err == nil {
		c.err = err
	}
}

// Done is the done callback to register with the DirSink.
func (d *DirSink) Done(info *logstream.StreamInfo) {
	d.mu.Lock()
	c := d.files[info.ID]
	delete(d.files, info.ID)
	d.mu.Unlock()
	if c == nil || d.OnDone == nil {
		return
	}
	d.OnDone(info, filepath.Join(d.Dir(), c.name), c.n.Load())
}
