//go:build linux && (amd64 || arm64)

// Package nofile keeps the soft limit on open files the process started
// with. The Go runtime raises its own soft limit during package syscall's
// initialisation and restores the original only in what it starts through
// os/exec or syscall.ForkExec; the sandbox's fast init forks and execs the
// program itself, and hands it the caller's limit, as bubblewrap does.
//
// WARNING: this package imports nothing but unsafe, and its path sorts
// before "syscall": the Go initialisation order (packages sorted by import
// path, each once its imports are done) runs its init before syscall's,
// hence before the raise. An import added here could move it after.
package nofile

import "unsafe"

// rlimitNofile is RLIMIT_NOFILE on amd64 and arm64.
const rlimitNofile = 7

// Start is the soft and hard limit at start; OK says it was read.
var (
	StartSoft, StartHard uint64
	OK                   bool
)

// getrlimit is the raw getrlimit(2) (prlimit64 on arm64, which has no
// getrlimit), in getrlimit_*.s: package syscall may not be used here.
func getrlimit(resource uintptr, lim unsafe.Pointer) (errno uintptr)

func init() {
	var lim [2]uint64
	if getrlimit(rlimitNofile, unsafe.Pointer(&lim)) == 0 {
		StartSoft, StartHard, OK = lim[0], lim[1], true
	}
}
