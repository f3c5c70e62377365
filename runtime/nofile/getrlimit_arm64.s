#include "textflag.h"

// func getrlimit(resource uintptr, lim unsafe.Pointer) (errno uintptr)
// prlimit64(0, resource, NULL, lim): arm64 has no getrlimit.
TEXT ·getrlimit(SB),NOSPLIT,$0-24
	MOVD	$0, R0
	MOVD	resource+0(FP), R1
	MOVD	$0, R2
	MOVD	lim+8(FP), R3
	MOVD	$261, R8 // SYS_prlimit64
	SVC
	CMN	$4095, R0
	BCC	ok
	NEG	R0, R0
	MOVD	R0, errno+16(FP)
	RET
ok:
	MOVD	$0, errno+16(FP)
	RET
