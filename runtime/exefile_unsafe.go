package runtime

import "unsafe"

// readOnlyBytes is s's bytes without a copy, for a write(2) to read. They
// must not be written.
func readOnlyBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// unsafeStringAddr is the address of s's bytes.
func unsafeStringAddr(s string) uintptr {
	return uintptr(unsafe.Pointer(unsafe.StringData(s)))
}
