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

// writev writes iovs to the non-blocking fd as one frame (writev(2)). Raw:
// the TAP takes or drops a frame at once. Unlike rawfile's writer, it lets
// iovs and what they point to stay on the caller's stack.
func writev(fd int, iovs []unix.Iovec) unix.Errno {
	_, _, errno := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)))
	return errno
}

// iovec points at b, which must not be empty.
func iovec(b []byte) unix.Iovec {
	iov := unix.Iovec{Base: &b[0]}
	iov.SetLen(len(b))
	return iov
}
