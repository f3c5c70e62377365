package runtime

// stackIdx is 0; a variable, so that growStack's frame is not optimised
// away.
var stackIdx int

// growStack gives the calling goroutine an 8 KB stack in one copy. A
// goroutine that will need more than the 2 KB it starts with calls it
// first, while its stack holds one frame: each growth from deeper down
// walks every frame on the stack and reads its tables in the binary's
// pclntab, whose pages the kernel maps in 64 KB windows around each fault
// (see package startup, which does this for the main goroutine). The
// supervisor's two readers grew so: 270 KB of the parent's peak RSS.
//
//go:noinline
func growStack() byte {
	var frame [5 << 10]byte
	frame[stackIdx] = 1
	return frame[stackIdx+1]
}
