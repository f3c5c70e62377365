package runtime

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// errFastFallback: the fast init could not build the sandbox, and the Go
// init is to start it again (and say what failed, if anything does).
var errFastFallback = errors.New("fast init: fall back to the Go init")

// fastInit is a running fast init.
type fastInit struct {
	pid, pidfd int
	// callerFDs are the caller's descriptors the sandbox holds (the
	// program's and --sync-fd), closed here once the program runs.
	callerFDs []int
	// info is for --info-fd and --json-status-fd, written once the
	// program runs: a fall-back's Go init writes its own.
	info *sandboxInfo
	// dataFDs are the caller's files the data ops copied without moving
	// their offset (a fall-back's Go init reads them again).
	dataFDs []int
	once    sync.Once
	ws      syscall.WaitStatus
}

// kill sends SIGKILL through the pidfd, which names init even once it has
// been reaped.
func (f *fastInit) kill() { unix.PidfdSendSignal(f.pidfd, unix.SIGKILL, nil, 0) }

// wait reaps init once and returns its status, to every caller.
func (f *fastInit) wait() syscall.WaitStatus {
	f.once.Do(func() {
		for {
			_, err := syscall.Wait4(f.pid, &f.ws, 0, nil)
			if err != syscall.EINTR {
				return
			}
		}
	})
	return f.ws
}

// runFast starts the sandbox with the fast init (fast_unsafe.go). It returns
// errFastFallback, with the fast init gone, when the Go init must start it
// again.
func (p *parent) runFast(fp *fastProg) (int, error) {
	// Raw pipes, not os.Pipe: the child's ends must stay blocking (the
	// fast init waits in read(2)), and O_NONBLOCK, which the runtime's
	// poller sets, belongs to the open file both processes share.
	var fds [6]int
	for i := 0; i < 3; i++ {
		if err := unix.Pipe2(fds[2*i:2*i+2], unix.O_CLOEXEC); err != nil {
			for _, fd := range fds[:2*i] {
				unix.Close(fd)
			}
			return 0, errFastFallback
		}
	}
	ctlR, ctlW, reportR, reportW, statR, statW := fds[0], fds[1], fds[2], fds[3], fds[4], fds[5]
	pid, pidfd, err := fp.start(ctlR, reportW, statW)
	unix.Close(ctlR)
	unix.Close(reportW)
	unix.Close(statW)
	if err != nil {
		// The Go init's clone says why, with its hints.
		unix.Close(ctlW)
		unix.Close(reportR)
		unix.Close(statR)
		return 0, errFastFallback
	}
	p.fast = &fastInit{pid: pid, pidfd: pidfd, callerFDs: append(append([]int(nil), p.plan.PassFDs...), p.plan.InitFDs...),
		info: p.readInfo(pid), dataFDs: fp.dataFDs}
	p.ctlW, p.reportR, p.stat = pollable(ctlW, "ctl"), pollable(reportR, "report"), pollable(statR, "status")
	files := []*os.File{p.ctlW, p.reportR, p.stat}
	p.closers = append(p.closers, files...)
	p.logStart()
	if err := p.writeIDs(pid); err != nil {
		return p.abort(err)
	}
	if err := p.netReady(pid); err != nil {
		return p.abort(err)
	}
	if _, err := p.ctlW.Write([]byte{0}); err != nil {
		return p.abort(fmt.Errorf("release the sandbox: %w", err))
	}
	p.watchNet(p.fast.kill) // this fast init's, whatever p holds later
	code, err := p.supervise(pid)
	if err == errFastFallback {
		p.killInit()
		p.waitInit()
		for _, f := range files {
			f.Close()
		}
		p.fast = nil
	}
	return code, err
}

// pollable wraps a pipe end for the runtime's poller.
func pollable(fd int, name string) *os.File {
	unix.SetNonblock(fd, true)
	return os.NewFile(uintptr(fd), name)
}

// started: the program runs. The caller's fds now live in the sandbox
// (the Go init's path closes them as soon as init has them; the fast
// init's keeps them until then, for a fallback). The fast init's
// --info-fd and --json-status-fd are written now, not at the clone as the
// Go init's are: a fall-back would have named an init that is gone. They
// name the same process either way, which lives as long as the sandbox.
func (p *parent) started() error {
	if p.fast == nil {
		return nil
	}
	// The data files read to their end, where the Go init and bubblewrap
	// leave a caller's offset (a shell's `3<file` shares it).
	for _, fd := range p.fast.dataFDs {
		unix.Seek(fd, 0, unix.SEEK_END)
	}
	for _, fd := range p.fast.callerFDs {
		unix.Close(fd)
	}
	p.fast.callerFDs = nil
	return p.writeInfo(p.fast.info)
}

// setupFailed turns init's report into the error Run returns.
func (p *parent) setupFailed(rep Report) error {
	if p.fast != nil && rep.Exit == fastFallbackExit && rep.Msg == fastFallbackMsg {
		return errFastFallback
	}
	return &SetupError{Msg: rep.Msg, BwrapMsg: rep.BwrapMsg, Hint: rep.Hint, Exit: rep.Exit}
}
