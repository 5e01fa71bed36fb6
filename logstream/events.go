package logstream

import (
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/fsnotify/fsnotify"
	"github.com/spf13/afero"
)

// fileEvents is the real driver's file-system event source (inotify,
// kqueue... through fsnotify): it watches the log's directory and turns
// events into wake-ups of the sending loop. A write to the log only wakes
// it (there is data to read); anything else (create, rename, remove, a
// lost-event overflow) also marks a change, so that the tailer looks at the
// path and the rotated names at once (Tailer.Changed). Polling goes on
// regardless: events only shorten the wait.
type fileEvents struct {
	w       *fsnotify.Watcher
	wake    chan struct{} // capacity 1: wake-ups coalesce
	changed atomic.Bool   // a non-write event: the tailer must look at the names
	written atomic.Bool   // any event: the producer must ask the tailer now
	quit    chan struct{}
	wg      sync.WaitGroup
}

// watchEvents starts watching the directory of path on fsys, or returns nil
// when fsys is not the OS file system or the platform gives no events.
// stop, if not nil, also wakes the loop once when it closes.
func watchEvents(fsys afero.Fs, path string, stop <-chan struct{}) *fileEvents {
	if _, ok := fsys.(*afero.OsFs); !ok {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil
	}
	if err := w.Add(filepath.Dir(path)); err != nil {
		w.Close()
		return nil
	}
	e := &fileEvents{w: w, wake: make(chan struct{}, 1), quit: make(chan struct{})}
	clean := filepath.Clean(path)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Op != fsnotify.Write || filepath.Clean(ev.Name) != clean {
					e.changed.Store(true)
				}
				e.written.Store(true)
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
				// Overflow or a watch error: events may have been lost.
				e.changed.Store(true)
				e.written.Store(true)
			case <-stop:
				stop = nil
			case <-e.quit:
				return
			}
			select {
			case e.wake <- struct{}{}:
			default:
			}
		}
	}()
	return e
}

// close stops watching and waits for the goroutine.
func (e *fileEvents) close() {
	if e == nil {
		return
	}
	close(e.quit)
	e.w.Close()
	e.wg.Wait()
}
