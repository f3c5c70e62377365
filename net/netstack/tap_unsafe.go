package netstack

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// readv reads into iovs from the non-blocking fd (readv(2)); golang.org/x/sys
// has only a Readv that builds a new iovec array on every call. Raw: the
// read never blocks.
func readv(fd int, iovs []unix.Iovec) (int, unix.Errno) {
	n, _, errno := unix.RawSyscall(unix.SYS_READV, uintptr(fd), uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)))
	return int(n), errno
}
