package limits

import (
	"fmt"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"sandbox/runtime/nofile"
	"sandbox/spec"
)

// Resolve turns an --rlimit into the values to set, given the current ones:
// a kept half stays, a soft limit above a kept hard one is an error.
func Resolve(r spec.Rlimit, cur unix.Rlimit) (unix.Rlimit, error) {
	want := unix.Rlimit{Cur: r.Soft, Max: r.Hard}
	if r.KeepSoft {
		want.Cur = min(cur.Cur, want.Max)
	}
	if r.KeepHard {
		want.Max = cur.Max
	}
	if want.Cur > want.Max {
		return want, fmt.Errorf("soft limit %s is above the hard limit %s", rlimText(want.Cur), rlimText(want.Max))
	}
	return want, nil
}

// CheckRlimits refuses, before anything starts, what setrlimit would refuse
// in the sandbox: a hard limit above the current one, which only a process
// privileged in the host's user namespace may raise.
func CheckRlimits(rs []spec.Rlimit, privileged bool) error {
	for _, r := range rs {
		cur, err := Current(r.Resource)
		if err != nil {
			return fmt.Errorf("--rlimit %s: %w", r.Name, err)
		}
		want, err := Resolve(r, cur)
		if err != nil {
			return fmt.Errorf("--rlimit %s: %w", r.Name, err)
		}
		if want.Max > cur.Max && !privileged {
			return fmt.Errorf("--rlimit %s: the hard limit %s is above this user's hard limit %s, which only root can raise",
				r.Name, rlimText(want.Max), rlimText(cur.Max))
		}
	}
	return nil
}

// ApplyRlimits sets the limits on the calling process (the exec stage, just
// before it executes the program, which inherits them).
func ApplyRlimits(rs []spec.Rlimit) error {
	for _, r := range rs {
		cur, err := Current(r.Resource)
		if err != nil {
			return fmt.Errorf("--rlimit %s: %w", r.Name, err)
		}
		want, err := Resolve(r, cur)
		if err == nil {
			// syscall's Setrlimit, not x/sys's: only it tells the Go
			// runtime that NOFILE was set on purpose, so that Exec does not
			// restore the soft limit the process started with.
			err = syscall.Setrlimit(r.Resource, &syscall.Rlimit{Cur: want.Cur, Max: want.Max})
		}
		if err != nil {
			return fmt.Errorf("--rlimit %s: %w", r.Name, err)
		}
	}
	return nil
}

// Current is the process's limit on resource as the caller set it: the Go
// runtime raises its own soft limit on open files at start, and the one a
// kept soft limit keeps is the one the process started with.
func Current(resource int) (unix.Rlimit, error) {
	var cur unix.Rlimit
	if err := unix.Getrlimit(resource, &cur); err != nil {
		return cur, err
	}
	if resource == unix.RLIMIT_NOFILE && nofile.OK && cur.Max == nofile.StartHard {
		cur.Cur = nofile.StartSoft
	}
	return cur, nil
}

// RlimitText shows an --rlimit as SOFT:HARD, a kept half empty.
func RlimitText(r spec.Rlimit) string {
	half := func(v uint64, keep bool) string {
		if keep {
			return ""
		}
		return rlimText(v)
	}
	return half(r.Soft, r.KeepSoft) + ":" + half(r.Hard, r.KeepHard)
}

func rlimText(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}
