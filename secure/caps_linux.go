package secure

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// LastCap returns the highest capability number the running kernel knows,
// probed with PR_CAPBSET_READ (which fails with EINVAL past it), so that no
// /proc is needed inside the sandbox.
func LastCap() int {
	last := 0
	for c := 0; c < 64; c++ {
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err != nil {
			break
		}
		last = c
	}
	return last
}

// Current returns the calling thread's effective and permitted sets.
func Current() (eff, perm CapSet, err error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, 0, fmt.Errorf("capget: %w", err)
	}
	eff = CapSet(data[0].Effective) | CapSet(data[1].Effective)<<32
	perm = CapSet(data[0].Permitted) | CapSet(data[1].Permitted)<<32
	return eff, perm, nil
}

// DropCaps reduces the bounding, permitted, effective, inheritable and
// ambient sets of the calling thread to keep, sets no_new_privs, then reads
// every set back and fails unless it is exactly what was asked.
//
// Preconditions: the OS thread is locked and is the one that will execve;
// the thread holds CAP_SETPCAP (to shrink the bounding set).
//
// WARNING: the order matters. The bounding set must be cut while CAP_SETPCAP
// is still effective; capset comes after it; ambient raises need the caps in
// permitted and inheritable, so they come last.
func DropCaps(keep CapSet, last int) error {
	for c := 0; c <= last; c++ {
		if keep.Has(c) {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	data[0].Effective, data[1].Effective = uint32(keep), uint32(keep>>32)
	data[0].Permitted, data[1].Permitted = uint32(keep), uint32(keep>>32)
	data[0].Inheritable, data[1].Inheritable = uint32(keep), uint32(keep>>32)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	for c := 0; c <= last; c++ {
		if keep.Has(c) {
			if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
				return fmt.Errorf("raise ambient capability %d: %w", c, err)
			}
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	return verifyCaps(keep, last)
}

// verifyCaps fails closed when any set differs from keep.
func verifyCaps(keep CapSet, last int) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	get := func(lo, hi uint32) CapSet { return CapSet(lo) | CapSet(hi)<<32 }
	sets := map[string]CapSet{
		"effective":   get(data[0].Effective, data[1].Effective),
		"permitted":   get(data[0].Permitted, data[1].Permitted),
		"inheritable": get(data[0].Inheritable, data[1].Inheritable),
	}
	var bnd, amb CapSet
	for c := 0; c <= last; c++ {
		if v, _ := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); v == 1 {
			bnd |= 1 << uint(c)
		}
		if v, _ := unix.PrctlRetInt(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_IS_SET, uintptr(c), 0, 0); v == 1 {
			amb |= 1 << uint(c)
		}
	}
	sets["bounding"], sets["ambient"] = bnd, amb
	for name, got := range sets {
		if got&AllCaps(last) != keep {
			return fmt.Errorf("capability check failed: %s set is %#x, want %#x", name, uint64(got), uint64(keep))
		}
	}
	if v, _ := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); v != 1 {
		return fmt.Errorf("no_new_privs is not set")
	}
	return nil
}
