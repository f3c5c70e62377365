// Package secure holds the last steps before the program runs: the
// capability sets it keeps and no_new_privs. (The seccomp and Landlock layers
// will live here too.)
package secure

import (
	"sandbox/spec"
)

// CapSet is a set of capabilities as a bit mask (bit N = capability N).
type CapSet uint64

// Has reports whether capability n is in the set.
func (c CapSet) Has(n int) bool { return c&(1<<uint(n)) != 0 }

// AllCaps returns the set of capabilities 0..last.
func AllCaps(last int) CapSet {
	if last >= 63 {
		return ^CapSet(0)
	}
	return CapSet(1)<<uint(last+1) - 1
}

// ResolveCaps applies --cap-add/--cap-drop in order to start and returns the
// set the program keeps. last is the highest capability the kernel knows.
func ResolveCaps(start CapSet, ops []spec.CapOp, last int) CapSet {
	set := start
	for _, op := range ops {
		var bits CapSet
		if op.Name == spec.CapAll {
			bits = AllCaps(last)
		} else if n := spec.CapNumber(op.Name); n >= 0 && n <= last {
			bits = 1 << uint(n)
		}
		if op.Add {
			set |= bits
		} else {
			set &^= bits
		}
	}
	return set & AllCaps(last)
}

// Named returns the capabilities added by name (not through ALL).
func Named(ops []spec.CapOp, last int) CapSet {
	var set CapSet
	for _, op := range ops {
		if n := spec.CapNumber(op.Name); op.Add && n >= 0 && n <= last {
			set |= 1 << uint(n)
		}
	}
	return set
}
