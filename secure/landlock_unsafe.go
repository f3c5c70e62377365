//go:build linux

package secure

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// rulesetAttr is struct landlock_ruleset_attr up to the fields we set.
type rulesetAttr struct {
	handledFS  uint64 // ABI 1
	handledNet uint64 // ABI 4
	scoped     uint64 // ABI 6
}

// rulesetAttrSize is how much of rulesetAttr the given ABI knows. An older
// kernel would accept the whole struct as long as the fields it does not know
// are zero (copy_struct_from_user), but passing only what it knows keeps a
// stray field from turning into E2BIG.
func rulesetAttrSize(abi int) uintptr {
	var a rulesetAttr
	switch {
	case abi >= 6:
		return unsafe.Sizeof(a)
	case abi >= 4:
		return unsafe.Offsetof(a.scoped)
	}
	return unsafe.Offsetof(a.handledNet)
}

// landlockVersion asks the kernel for its Landlock ABI version.
func landlockVersion() (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0, errno
	}
	return int(v), nil
}

// landlockCreateRuleset returns a new ruleset fd (close-on-exec).
func landlockCreateRuleset(attr *rulesetAttr, abi int) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(attr)), rulesetAttrSize(abi), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// landlockAddPathRule grants access beneath the file or directory open on fd.
func landlockAddPathRule(ruleset int, access uint64, fd int) error {
	// The kernel reads the packed 12-byte struct; the Go struct's trailing
	// padding is not read.
	attr := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
	_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&attr)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// landlockRestrictSelf enforces the ruleset on the calling thread.
func landlockRestrictSelf(ruleset int) error {
	_, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
