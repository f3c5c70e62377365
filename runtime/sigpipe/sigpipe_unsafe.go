//go:build linux && (amd64 || arm64)

package sigpipe

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// wfd is the pipe's write end, read by handler.
var wfd int

// handler and restorer are in sigpipe_*.s: the signal handler, which
// writes its signal's number to wfd, and the return to the interrupted code
// (rt_sigreturn). entries gives their addresses (ABI0, the code the kernel
// jumps to, not a Go func value's wrapper).
func handler()
func restorer()
func entries() (handler, restorer uintptr)

// The kernel's struct sigaction on amd64 and arm64.
type sigaction struct {
	handler, flags, restorer, mask uint64
}

const (
	saRestorer = 0x04000000
	saOnstack  = 0x08000000
	saRestart  = 0x10000000
)

// install points sigs at handler.
//
// WARNING: SA_ONSTACK is not optional. The signal may land on any of the
// runtime's threads, in the middle of a goroutine whose stack has no room
// for the kernel's signal frame; the runtime gives every thread it starts
// a signal stack, for its own handlers and now for this one. Every signal
// is blocked while the handler runs, so it never shares that stack with the
// runtime's handlers. SA_RESTART, as the runtime's own handlers: no
// goroutine sees EINTR because of us.
func install(fd int, sigs []syscall.Signal) error {
	wfd = fd
	h, r := entries()
	act := sigaction{handler: uint64(h), flags: saOnstack | saRestart | saRestorer, restorer: uint64(r), mask: ^uint64(0)}
	old := make([]sigaction, len(sigs))
	for i, s := range sigs {
		_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(s), uintptr(unsafe.Pointer(&act)), uintptr(unsafe.Pointer(&old[i])), 8, 0, 0)
		if e != 0 {
			// The ones installed get their old actions back: the caller
			// closes the pipe, whose number may be reused.
			for j, done := range sigs[:i] {
				unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(done), uintptr(unsafe.Pointer(&old[j])), 0, 8, 0, 0)
			}
			return os.NewSyscallError("rt_sigaction", e)
		}
	}
	return nil
}
