// Package fs builds the sandbox's root filesystem from the ordered operations
// of a spec: a fresh tmpfs root, binds of host paths (recursive, read-only
// where asked), /proc, a minimal /dev, tmpfs, mqueue, overlays, directories,
// files and symlinks, then pivot_root into it.
//
// Apply walks the ops in argv order and calls a Builder, so the order and
// the skip rules are tested against a recording fake; the Linux Builder does
// the system calls.
package fs

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"sandbox/spec"
)

// Builder performs the operations on the new root. Paths are sandbox paths.
type Builder interface {
	// SourceMissing reports whether the host source of op i does not exist.
	SourceMissing(i int) bool
	Bind(i int, op spec.Op) error
	RemountRO(op spec.Op) error
	Proc(op spec.Op) error
	Dev(op spec.Op) error
	Tmpfs(op spec.Op) error
	Mqueue(op spec.Op) error
	Dir(op spec.Op) error
	File(op spec.Op) error
	BindData(op spec.Op) error
	Symlink(op spec.Op) error
	Chmod(op spec.Op) error
	Overlay(i int, op spec.Op) error
	// LockFile is applied after the root is complete.
	LockFile(op spec.Op) error
}

// OpError is the failure of one operation. BwrapMsg is bubblewrap's wording
// of the same failure.
type OpError struct {
	Op   spec.Op
	Path string
	Err  error
	// What is a short description of the failed step ("mount", "mkdir").
	What string
	// Bwrap, when set, is bubblewrap's exact message for this failure.
	Bwrap string
}

func (e *OpError) Error() string {
	if e.What == "source" {
		return fmt.Sprintf("--%s %s: %v", e.Op.Kind, e.Path, e.Err)
	}
	return fmt.Sprintf("--%s %s: can't %s: %v", e.Op.Kind, e.Path, e.What, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

// BwrapMsg renders the error the way bubblewrap words it.
func (e *OpError) BwrapMsg() string {
	if e.Bwrap != "" {
		return e.Bwrap
	}
	err := ErrText(e.Err)
	switch e.What {
	case "source":
		return fmt.Sprintf("Can't find source path %s: %s", e.Path, err)
	case "chmod":
		return fmt.Sprintf("Can't chmod %#o %s: %s", e.Op.Perms, e.Path, err)
	case "open lock file", "lock file":
		return fmt.Sprintf("Unable to %s %s: %s", e.What, e.Path, err)
	case "remount readonly on":
		return fmt.Sprintf("Can't remount readonly on %s: %s", newroot(e.Path), err)
	case "make overlay mount on":
		return fmt.Sprintf("Can't make overlay mount on %s: %s", newroot(e.Path), err)
	}
	if strings.HasPrefix(e.What, "mount ") {
		return fmt.Sprintf("Can't %s %s: %s", e.What, newroot(e.Path), err)
	}
	if strings.HasPrefix(e.What, "bind mount ") {
		src := strings.TrimSuffix(strings.TrimPrefix(e.What, "bind mount "), " on")
		return fmt.Sprintf("Can't bind mount /oldroot%s on %s: Unable to mount source on destination: %s", src, newroot(e.Path), err)
	}
	return fmt.Sprintf("Can't %s %s: %s", e.What, e.Path, err)
}

// newroot is where bubblewrap's messages place a sandbox path.
func newroot(p string) string { return "/newroot/" + strings.TrimLeft(p, "/") }

// ErrText is strerror(3)'s wording of the errno inside err (as glibc
// capitalises it); other errors keep their text.
func ErrText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		s := en.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// Apply applies ops in order. Ops whose host source is missing are skipped
// when they are -try forms, and fail otherwise. Lock files are taken last.
func Apply(ops []spec.Op, b Builder) error {
	for i, op := range ops {
		if err := applyOne(i, op, b); err != nil {
			return err
		}
	}
	for _, op := range ops {
		if op.Kind == spec.OpLockFile {
			if err := b.LockFile(op); err != nil {
				return err
			}
		}
	}
	return nil
}

func applyOne(i int, op spec.Op, b Builder) error {
	switch op.Kind {
	case spec.OpBind, spec.OpROBind, spec.OpDevBind:
		if b.SourceMissing(i) {
			if op.Try {
				return nil
			}
			return &OpError{Op: op, Path: op.Source, What: "source", Err: syscall.ENOENT}
		}
		return b.Bind(i, op)
	case spec.OpBindFD, spec.OpROBindFD:
		return b.Bind(i, op)
	case spec.OpRemountRO:
		return b.RemountRO(op)
	case spec.OpProc:
		return b.Proc(op)
	case spec.OpDev:
		return b.Dev(op)
	case spec.OpTmpfs:
		return b.Tmpfs(op)
	case spec.OpMqueue:
		return b.Mqueue(op)
	case spec.OpDir:
		return b.Dir(op)
	case spec.OpFile:
		return b.File(op)
	case spec.OpBindData, spec.OpROBindData:
		return b.BindData(op)
	case spec.OpSymlink:
		return b.Symlink(op)
	case spec.OpChmod:
		return b.Chmod(op)
	case spec.OpOverlay, spec.OpTmpOverlay, spec.OpROOverlay:
		return b.Overlay(i, op)
	case spec.OpLockFile:
		return nil // taken after the root is complete
	}
	return fmt.Errorf("unknown operation %q", op.Kind)
}

// ParentMode is the mode of the missing parent directories an op creates:
// 0755, or with bwrap's rules (bwrap) derived from the op's perms as
// bubblewrap does (0 for ops without --perms, giving 0700).
func ParentMode(op spec.Op, bwrap bool) uint32 {
	if !bwrap {
		return 0o755
	}
	perms := op.Perms
	if perms < 0 {
		switch op.Kind {
		case spec.OpDir, spec.OpTmpfs:
			perms = 0o755
		case spec.OpFile:
			perms = 0o666
		case spec.OpBindData, spec.OpROBindData:
			perms = 0o600
		default:
			perms = 0
		}
	}
	mode := uint32(0o755)
	if perms&0o070 == 0 {
		mode &^= 0o050
	}
	if perms&0o007 == 0 {
		mode &^= 0o005
	}
	return mode
}
