// Package startup shapes the Go runtime for the sandbox's processes before
// any other package's init runs: one P, and the main goroutine's stack grown
// once. Both save page faults, the start-up's main cost on a VM (10 to 20
// µs each), and resident memory. main imports it for its init; GrowStack
// does the same for a goroutine of the sandbox's.
//
// WARNING: it must stay initialised before the other packages. It imports
// only runtime, and its path sorts before "sync" and "syscall": the Go
// initialisation order (packages sorted by import path, each once its
// imports are done) then runs its init ahead of nearly every package's. An
// import added here could move it later.
package startup

import "runtime"

// Procs is the number of Ps the runtime started with; what a process that
// computes in parallel (the parent with --net user) gives back.
var Procs int

// stackIdx is 0; a variable, so that the growing functions' frames are not
// optimised away.
var stackIdx int

// growStack gives the main goroutine the 32 KB stack that the parent's
// deepest path needs. Grown on demand instead, from 2 KB in four doublings,
// each copy walks every frame on the stack and reads each one's tables in
// the binary's pclntab: scattered 64 KB windows of the file, which the
// kernel maps whole (its fault-around). Grown here, with a few frames on
// the stack, the parent's peak RSS was about 100 KB lower.
//
//go:noinline
func growStack() byte {
	var frame [30 << 10]byte
	frame[stackIdx] = 1
	return frame[stackIdx+1]
}

// GrowStack gives the calling goroutine an 8 KB stack in one copy. A
// goroutine that will need more than the 2 KB it starts with calls it
// first, while its stack holds one frame: each growth from deeper down walks
// every frame on the stack through the pclntab, as growStack says. The
// parent's supervisor's two readers grew so: 270 KB of its peak RSS.
//
//go:noinline
func GrowStack() byte {
	var frame [5 << 10]byte
	frame[stackIdx] = 1
	return frame[stackIdx+1]
}

func init() {
	// One P: the sandbox's processes wait far more than they compute,
	// and a second P makes the runtime wake spinning threads for each
	// goroutine that becomes ready (measured on case (a), 60 interleaved
	// runs: the same wall time, 2 ms (as bwrap) and 6 ms (as sandbox,
	// with its two id helpers) less CPU per start). Given up first
	// thing: a P given up later hands the spans it caches back to the
	// heap, whose lists of spans then take a page each (up to 160 KB
	// more RSS, measured).
	Procs = runtime.GOMAXPROCS(1)
	growStack()
}
