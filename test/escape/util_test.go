package escape

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func syscallSignal(n int) os.Signal { return syscall.Signal(n) }

// inheritedFDs lists this process's descriptors from 3 up that lack
// close-on-exec (os/exec passes those on to the sandbox, and it to the
// program, as the caller's own).
func inheritedFDs() []int {
	var out []int
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		var fd int
		if _, err := fmt.Sscan(e.Name(), &fd); err != nil || fd < 3 {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			out = append(out, fd)
		}
	}
	return out
}
