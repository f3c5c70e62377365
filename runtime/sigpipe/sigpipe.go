//go:build linux

// Package sigpipe turns caught signals into bytes on a pipe: the self-pipe
// of C programs, for a Go process that must not pay for os/signal.
//
// os/signal's first Notify starts a locked signal-mask goroutine, which
// costs the process two more threads (that goroutine's and the runtime's
// template thread, which LockOSThread starts) and a round trip to it per
// signal. The sandbox's parent lives for milliseconds and catches seven
// signals: on amd64 and arm64 a handler in assembly writes the signal's
// number to a pipe instead, and the runtime never hears of the signals.
// Elsewhere os/signal feeds the same pipe.
package sigpipe

import (
	"errors"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// catchFD is the pipe's read end, held here for the process's life: its
// finalizer would close it, and the handler's writes would then raise
// SIGPIPE.
var (
	mu      sync.Mutex
	catchFD *os.File
)

// Catch installs the handler for sigs and returns the pipe's read end,
// non-blocking and close-on-exec: each caught signal arrives as one byte, its
// number. The handler stays for the process's life, and os/signal must not be
// used for these signals after it: its handler would replace ours. A signal
// finding the pipe full is dropped, as the kernel coalesces a pending one.
// Catch may be called once per process.
func Catch(sigs ...syscall.Signal) (*os.File, error) {
	mu.Lock()
	defer mu.Unlock()
	if catchFD != nil {
		return nil, errors.New("sigpipe: Catch called twice")
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, os.NewSyscallError("pipe2", err)
	}
	if err := install(fds[1], sigs); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, err
	}
	catchFD = os.NewFile(uintptr(fds[0]), "sigpipe")
	return catchFD, nil
}

// Forward reads f, a pipe from Catch, until it closes, and sends each
// signal to out.
func Forward(f *os.File, out chan<- os.Signal) {
	var b [16]byte
	for {
		n, err := f.Read(b[:])
		for _, s := range b[:n] {
			out <- syscall.Signal(s)
		}
		if err != nil {
			return
		}
	}
}
