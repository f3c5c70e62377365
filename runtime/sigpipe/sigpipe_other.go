//go:build linux && !amd64 && !arm64

package sigpipe

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// install has os/signal feed the pipe where there is no handler in
// assembly. Notify ignores what it cannot catch: refused here as
// rt_sigaction would refuse it.
func install(fd int, sigs []syscall.Signal) error {
	for _, s := range sigs {
		if s == syscall.SIGKILL || s == syscall.SIGSTOP {
			return os.NewSyscallError("rt_sigaction", syscall.EINVAL)
		}
	}
	c := make(chan os.Signal, 8)
	for _, s := range sigs {
		signal.Notify(c, s)
	}
	go func() {
		for s := range c {
			unix.Write(fd, []byte{byte(s.(syscall.Signal))})
		}
	}()
	return nil
}
