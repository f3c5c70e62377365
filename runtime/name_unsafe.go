package runtime

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// setProcessName sets the calling thread's comm (what ps and /proc/PID/comm
// show), which the exec of /proc/self/exe made "exe".
func setProcessName(name string) {
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return
	}
	unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(p)), 0, 0, 0)
}

// readOnlyBytes is s's bytes without a copy, for a write(2) to read. They
// must not be written.
func readOnlyBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// unsafeStringAddr is the address of s's bytes.
func unsafeStringAddr(s string) uintptr {
	return uintptr(unsafe.Pointer(unsafe.StringData(s)))
}
