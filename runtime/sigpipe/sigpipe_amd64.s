#include "textflag.h"

// handler is called by the kernel in the C ABI, on the thread's signal
// stack, with every signal blocked: DI is the signal's number. It writes
// that number as one byte to wfd; the kernel restores every register at
// rt_sigreturn, so it saves none.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0
	ADJSP	$16
	MOVB	DI, 0(SP)
	MOVQ	·wfd(SB), DI
	MOVQ	SP, SI
	MOVL	$1, DX
	MOVL	$1, AX // SYS_write
	SYSCALL
	ADJSP	$-16
	RET

// restorer is where handler returns (SA_RESTORER: amd64 has no other way
// back).
TEXT ·restorer(SB),NOSPLIT|NOFRAME,$0
	MOVL	$15, AX // SYS_rt_sigreturn
	SYSCALL
	INT	$3 // not reached

// func entries() (handler, restorer uintptr)
TEXT ·entries(SB),NOSPLIT,$0-16
	LEAQ	·handler(SB), AX
	MOVQ	AX, handler+0(FP)
	LEAQ	·restorer(SB), AX
	MOVQ	AX, restorer+8(FP)
	RET
