package secure

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// DenyFilesystem confines the calling process, every thread of it, to no
// filesystem access at all: nothing beneath any path can be opened, listed,
// executed, created or removed any more (descriptors already open keep
// working), and from Landlock ABI 6 signals and abstract unix sockets stop at
// the process's own domain. It sets no_new_privs first. It returns the ABI
// used: 0, with nothing done, when Landlock is unavailable.
//
// It is for a long-running helper that has opened everything it needs, such
// as the network helper, which handles the sandbox's packets: should those
// ever take it over, it could not reach the user's files or run a program.
// Threads the Go runtime starts later are cloned from confined ones and
// inherit the domain.
//
// Preconditions: a cgo-free binary (syscall.AllThreadsSyscall).
func DenyFilesystem() (abi int, err error) {
	abi = LandlockABI()
	if abi < 1 {
		return 0, nil
	}
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); e != 0 {
		return 0, fmt.Errorf("set no_new_privs on every thread: %w", e)
	}
	attr := rulesetAttr{handledFS: handledFS(abi), scoped: landlockScopes(abi)}
	rs, err := landlockCreateRuleset(&attr, abi)
	if err != nil {
		return 0, fmt.Errorf("create landlock ruleset (abi %d): %w", abi, err)
	}
	defer unix.Close(rs)
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(rs), 0, 0); e != 0 {
		return 0, fmt.Errorf("landlock_restrict_self on every thread: %w", e)
	}
	return abi, nil
}
