//go:build linux

package sigpipe

import (
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// action reads sig's action.
func action(t *testing.T, sig syscall.Signal) (a [4]uint64) {
	t.Helper()
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&a)), 8, 0, 0); e != 0 {
		t.Fatal(e)
	}
	return a
}
