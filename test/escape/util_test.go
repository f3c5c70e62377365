package escape

import (
	"os"
	"syscall"
)

func syscallSignal(n int) os.Signal { return syscall.Signal(n) }
