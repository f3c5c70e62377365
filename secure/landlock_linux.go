package secure

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// LandlockABI returns the kernel's Landlock ABI version, or 0 when Landlock
// is unavailable: not built in (ENOSYS), disabled at boot (EOPNOTSUPP), or
// refused by a seccomp filter around us.
func LandlockABI() int {
	v, err := landlockVersion()
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// ApplyLandlock restricts the calling thread to the rules, handling every
// filesystem right the running ABI knows (rights the kernel lacks are dropped)
// and, from ABI 6, confining abstract unix sockets and signals to the
// sandbox's own Landlock domain. Network rights are not handled. It returns
// the ABI used: 0, with nothing done, when Landlock is unavailable or older
// than ABI 2 (see minLandlockABI).
//
// Rules whose path does not exist inside (or cannot be reached) are skipped.
// A rule on a non-directory carries only file rights. The inherited standard
// streams (fds 0-2) get a rule on their own inode with the rights their open
// mode already gives, so /dev/stdout, /dev/stderr and /proc/self/fd/N still
// open when they are a terminal or a file from outside the sandbox.
//
// Inside the domain the kernel also refuses mount, umount and pivot_root
// (EPERM), so a sandbox nested in this one needs --no-landlock outside. The
// signal scope leaves the program's own children (they inherit the domain)
// and kernel-sent signals (terminal, SIGCHLD) alone; it only stops signals to
// processes outside, such as the sandbox's init or, without a pid namespace,
// the user's other processes.
//
// Preconditions: called on the locked OS thread that will execve the
// program (the domain is per thread and execve keeps it), after pivot_root,
// with no_new_privs set (or CAP_SYS_ADMIN).
//
// WARNING: call it after the capability drop (which sets no_new_privs, and
// after which the rule paths are opened with the program's own rights) and
// before seccomp, whose policy may refuse the landlock calls.
func ApplyLandlock(rules []PathRule) (abi int, err error) {
	return applyLandlockAt(rules, LandlockABI())
}

// applyLandlockAt is ApplyLandlock as if the kernel had the given ABI (tests
// run older ABIs on a newer kernel, which accepts their rulesets).
func applyLandlockAt(rules []PathRule, abi int) (int, error) {
	if abi < minLandlockABI {
		return 0, nil
	}
	attr := rulesetAttr{handledFS: handledFS(abi), scoped: landlockScopes(abi)}
	rs, err := landlockCreateRuleset(&attr, abi)
	if err != nil {
		return 0, fmt.Errorf("create landlock ruleset (abi %d): %w", abi, err)
	}
	defer unix.Close(rs)
	for _, r := range rules {
		if err := addRule(rs, r, abi); err != nil {
			return 0, err
		}
	}
	for fd := 0; fd <= 2; fd++ {
		addStreamRule(rs, fd, abi)
	}
	if err := landlockRestrictSelf(rs); err != nil {
		if errors.Is(err, unix.EPERM) {
			return 0, fmt.Errorf("landlock_restrict_self: %w (no_new_privs must be set first)", err)
		}
		return 0, fmt.Errorf("landlock_restrict_self: %w", err)
	}
	return abi, nil
}

// addRule adds one PathRule; a path that is missing inside is skipped.
func addRule(rs int, r PathRule, abi int) error {
	fd, err := unix.Open(r.Path, unix.O_PATH|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.EACCES), errors.Is(err, unix.ELOOP):
		return nil // not there, or the program cannot reach it either
	case err != nil:
		return fmt.Errorf("open landlock rule path %s: %w", r.Path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat landlock rule path %s: %w", r.Path, err)
	}
	access := ruleAccess(r, st.Mode&unix.S_IFMT == unix.S_IFDIR, abi)
	if access == 0 {
		return nil
	}
	if err := landlockAddPathRule(rs, access, fd); err != nil {
		return fmt.Errorf("add landlock rule for %s: %w", r.Path, err)
	}
	return nil
}

// addStreamRule lets the program open standard stream fd again by its
// /proc/self/fd link, with no more rights than the fd's open mode. Pipes
// and sockets live on internal filesystems that Landlock does not restrict
// (and that take no rule: EBADFD); directories never get a stream rule, as
// it would grant everything beneath them. Failures only leave the stream
// unopenable by name, so they are ignored.
func addStreamRule(rs, fd, abi int) {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return
	}
	typ := st.Mode & unix.S_IFMT
	if typ != unix.S_IFREG && typ != unix.S_IFCHR && typ != unix.S_IFIFO {
		return
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_PATH != 0 {
		return
	}
	acc := fl & unix.O_ACCMODE
	read := acc == unix.O_RDONLY || acc == unix.O_RDWR
	write := acc == unix.O_WRONLY || acc == unix.O_RDWR
	if access := streamAccess(read, write, typ == unix.S_IFCHR, abi); access != 0 {
		landlockAddPathRule(rs, access, fd)
	}
}
