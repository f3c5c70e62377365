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
