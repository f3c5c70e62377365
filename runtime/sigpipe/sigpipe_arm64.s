#include "textflag.h"

// handler is called by the kernel in the C ABI, on the thread's signal
// stack, with every signal blocked: R0 is the signal's number and LR the
// restorer. It writes that number as one byte to wfd; the kernel restores
// every register at rt_sigreturn, so it saves none.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0
	SUB	$16, RSP
	MOVB	R0, (RSP)
	MOVD	·wfd(SB), R0
	MOVD	RSP, R1
	MOVD	$1, R2
	MOVD	$64, R8 // SYS_write
	SVC
	ADD	$16, RSP
	RET

// restorer is where handler returns (SA_RESTORER, rather than the vDSO's
// trampoline).
TEXT ·restorer(SB),NOSPLIT|NOFRAME,$0
	MOVD	$139, R8 // SYS_rt_sigreturn
	SVC
	BRK

// func entries() (handler, restorer uintptr)
TEXT ·entries(SB),NOSPLIT,$0-16
	MOVD	$·handler(SB), R0
	MOVD	R0, handler+0(FP)
	MOVD	$·restorer(SB), R0
	MOVD	R0, restorer+8(FP)
	RET
