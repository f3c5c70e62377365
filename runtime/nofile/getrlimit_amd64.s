#include "textflag.h"

// func getrlimit(resource uintptr, lim unsafe.Pointer) (errno uintptr)
TEXT ·getrlimit(SB),NOSPLIT,$0-24
	MOVQ	resource+0(FP), DI
	MOVQ	lim+8(FP), SI
	MOVQ	$97, AX // SYS_getrlimit
	SYSCALL
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	NEGQ	AX
	MOVQ	AX, errno+16(FP)
	RET
ok:
	MOVQ	$0, errno+16(FP)
	RET
