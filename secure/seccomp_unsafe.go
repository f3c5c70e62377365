//go:build linux

package secure

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setModeFilter calls seccomp(SECCOMP_SET_MODE_FILTER, flags, &sock_fprog)
// for filter, which must not be empty. The kernel copies the program. With
// SECCOMP_FILTER_FLAG_TSYNC a positive result is the id of a thread that
// could not be synchronised, returned as ESRCH.
func setModeFilter(filter []unix.SockFilter, flags uintptr) error {
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(filter)
	if errno != 0 {
		return errno
	}
	if r != 0 {
		return unix.ESRCH
	}
	return nil
}
