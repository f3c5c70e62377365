package secure

import (
	"errors"
	"fmt"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// LoadFilter installs prog as a seccomp filter on the calling thread with
// seccomp(SECCOMP_SET_MODE_FILTER) and no flags: no SECCOMP_FILTER_FLAG_TSYNC,
// so other threads are untouched, and the filter passes to the program
// through execve. Filters stack: each call adds one and every filter
// loaded runs on every call, the strictest verdict winning.
//
// Preconditions: the OS thread is locked (runtime.LockOSThread) and is the
// thread that will execve; no_new_privs is set on it.
//
// WARNING: load the sandbox's own filter after no_new_privs and Landlock, as
// the last step before execve, and the caller's --seccomp/--add-seccomp-fd
// programs after it. Anything that runs after the filter runs under it (the
// default policy refuses mount, pivot_root, chroot, keyctl ...).
func LoadFilter(prog []bpf.RawInstruction) error {
	return loadFilter(prog, 0)
}

// LoadFilterAllThreads installs prog on every thread of the process at once
// (SECCOMP_FILTER_FLAG_TSYNC); threads started later inherit it. It is for
// a long-running Go helper, whose goroutines move between threads.
//
// Preconditions: no_new_privs is set on the calling thread (the kernel then
// sets it on the others too); no thread has a filter the others lack.
func LoadFilterAllThreads(prog []bpf.RawInstruction) error {
	return loadFilter(prog, unix.SECCOMP_FILTER_FLAG_TSYNC)
}

func loadFilter(prog []bpf.RawInstruction, flags uintptr) error {
	if len(prog) == 0 || len(prog) > bpfMaxInsns {
		return fmt.Errorf("load seccomp filter: it has %d instructions, the kernel takes 1 to %d", len(prog), bpfMaxInsns)
	}
	nnp, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
	if err != nil {
		return fmt.Errorf("load seccomp filter: read no_new_privs: %w", err)
	}
	if nnp != 1 {
		// Without it the kernel refuses an unprivileged caller (EACCES) and
		// lets a privileged one through; require it of both.
		return errors.New("load seccomp filter: no_new_privs is not set on this thread (set it first)")
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	if err := setModeFilter(filter, flags); err != nil {
		if err == unix.EINVAL {
			return fmt.Errorf("load seccomp filter: seccomp(SECCOMP_SET_MODE_FILTER): %w (the kernel rejected the program or lacks CONFIG_SECCOMP_FILTER)", err)
		}
		return fmt.Errorf("load seccomp filter: seccomp(SECCOMP_SET_MODE_FILTER): %w", err)
	}
	return nil
}
