package subject

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// event is something a site process did: wrote a line, failed to, or exited.
type event struct {
	site *site
	at   time.Time // when the harness read it (monotonic)
	raw  []byte    // the line, without its newline (nil for exit and read errors)
	err  error     // a read error (oversized line, closed pipe)
	exit bool
	// status is the exit status text, for exit events.
	status string
}

// site is one subject process. Its stdout is read by one goroutine that sends
// events to the harness; its stdin is written by another from a bounded
// queue, so that a site that stops reading cannot block the harness.
type site struct {
	name string
	role string
	cmd  *exec.Cmd

	in     chan []byte // lines to write to stdin
	inDone chan struct{}
	stdin  io.WriteCloser

	errMu  sync.Mutex
	errBuf []byte // last bytes of stderr
	errLog io.Writer

	exited chan struct{} // closed when Wait returned
	status string

	killOnce sync.Once
	closeIn  sync.Once
	// lines counts the lines read from stdout (for error messages).
	lines int
}

// inQueue bounds the lines waiting to be written to one site's stdin.
const inQueue = 1 << 14

// stderrKeep is how much of a site's stderr is kept for error messages.
const stderrKeep = 4 << 10

// startSite starts command (run by /bin/sh -c) as site name, in its own
// process group so that killing it kills everything it started. Events go to
// events. errLog, if set, gets the site's stderr lines prefixed by its name.
func startSite(name, role, command string, env []string, events chan<- event, quit <-chan struct{}, errLog io.Writer) (*site, error) {
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// Our own pipes, so that Wait returns when the site exits even if a
	// process it started still holds its stdout or stderr.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	s := &site{name: name, role: role, cmd: cmd, in: make(chan []byte, inQueue), inDone: make(chan struct{}),
		stdin: stdin, exited: make(chan struct{}), errLog: errLog}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("%w: site %s: start %q: %w", ErrSite, name, command, err)
	}
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		defer outR.Close()
		s.readStdout(outR, events, quit)
	}()
	go func() {
		defer errR.Close()
		s.readStderr(errR)
	}()
	go s.writeStdin()
	go func() {
		err := cmd.Wait()
		select { // let the reader pass on the site's last lines
		case <-outDone:
		case <-time.After(200 * time.Millisecond):
		}
		s.status = "exit 0"
		if err != nil {
			s.status = err.Error()
		}
		close(s.exited)
		select {
		case events <- event{site: s, at: time.Now(), exit: true, status: s.status}:
		case <-quit:
		}
	}()
	return s, nil
}

func (s *site) readStdout(r io.Reader, events chan<- event, quit <-chan struct{}) {
	br := bufio.NewReaderSize(r, 64<<10)
	emit := func(ev event) {
		select {
		case events <- ev:
		case <-quit:
		}
	}
	for {
		line, err := readLine(br)
		if err == nil || (len(line) > 0 && errors.Is(err, io.EOF)) {
			emit(event{site: s, at: time.Now(), raw: line})
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				emit(event{site: s, at: time.Now(), err: err})
				io.Copy(io.Discard, r) // keep the pipe drained until exit
			}
			return
		}
	}
}

// errLineTooLong is returned by readLine for a line over MaxLine.
var errLineTooLong = errors.New("line too long")

// readLine reads one line without its newline, failing (with the line's
// start) on a line longer than MaxLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > MaxLine+1 {
			return line[:200], fmt.Errorf("%w: %w: more than %d bytes without a newline: %s", ErrProtocol, errLineTooLong, MaxLine, Quote(line[:120]))
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return line, err
		}
		return line[:len(line)-1], nil
	}
}

func (s *site) readStderr(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			s.errMu.Lock()
			s.errBuf = append(s.errBuf, line...)
			if len(s.errBuf) > stderrKeep {
				s.errBuf = append([]byte(nil), s.errBuf[len(s.errBuf)-stderrKeep:]...)
			}
			s.errMu.Unlock()
			if s.errLog != nil {
				fmt.Fprintf(s.errLog, "[%s] %s", s.name, line)
			}
		}
		if err != nil {
			return
		}
	}
}

// stderrTail returns the last lines the site wrote to stderr.
func (s *site) stderrTail() string {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return string(s.errBuf)
}

func (s *site) writeStdin() {
	defer close(s.inDone)
	for b := range s.in {
		if _, err := s.stdin.Write(b); err != nil {
			for range s.in { // drop the rest: the site is gone
			}
			return
		}
	}
	s.stdin.Close()
}

// send queues l for the site's stdin. It fails when the site stopped
// reading and the queue is full.
func (s *site) send(l *Line) error {
	select {
	case <-s.exited:
		return nil // the exit event reports it
	default:
	}
	defer func() { recover() }() // in closed after close: the run is over
	select {
	case s.in <- encode(l):
		return nil
	default:
		return fmt.Errorf("%w: site %s stopped reading its input (%d lines queued)", ErrSite, s.name, inQueue)
	}
}

// closeInput closes the site's stdin after the queued lines.
func (s *site) closeInput() {
	s.closeIn.Do(func() { close(s.in) })
}

// kill kills the site's whole process group.
func (s *site) kill() {
	s.killOnce.Do(func() {
		if s.cmd.Process != nil {
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		}
	})
}

// stop ends the site: stdin closed, then (after grace) its process group
// killed, and waits for it to be reaped, at most grace+5s.
func (s *site) stop(grace time.Duration) error {
	s.closeInput()
	select {
	case <-s.exited:
	case <-time.After(grace):
	}
	// The group may hold other processes even when the site's shell exited.
	s.kill()
	select {
	case <-s.exited:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("%w: site %s (pid %d) not reaped 5s after SIGKILL", ErrSite, s.name, s.cmd.Process.Pid)
	}
}
