package runtime

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// defaultSignals gives init, as pid 1 of its pid namespace, the default
// action for the signals it must survive. The kernel drops a signal whose
// action is the default for a namespace's init (SIGNAL_UNKILLABLE), whoever
// sends it: the program, a terminal's whole foreground group, the host (only
// SIGKILL and SIGSTOP from an ancestor namespace get through). That is what
// absorbSignals does for an init without a pid namespace, without its
// signal thread and channel round trips (1.9 ms of init's start, measured),
// and execve passes SIG_DFL on to the program as it should.
//
// The Go runtime's handlers for these signals are replaced behind its back,
// which is safe as long as init never asks os/signal about them: nothing
// else reinstalls a handler.
func defaultSignals() error {
	// A struct sigaction of zeros is SIG_DFL, no flags, an empty mask, on
	// every architecture's layout.
	var dfl [4]uint64
	for _, s := range forwardedSignals {
		_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(s), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
		if e != 0 {
			return e
		}
	}
	return nil
}
