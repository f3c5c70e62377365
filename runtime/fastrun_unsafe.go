//go:build linux

package runtime

import (
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The Go runtime's fork hooks, as package syscall uses them around its own
// fork: before, every signal is blocked and the goroutine may not grow its
// stack; after, in the parent, both are undone.
//
//go:linkname beforeFork syscall.runtime_BeforeFork
func beforeFork()

//go:linkname afterFork syscall.runtime_AfterFork
func afterFork()

// fastArch: the architectures whose system calls the fast init's compiler
// knows (the *at calls, clone's argument order).
func fastArch() bool { return runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64" }

// start forks the fast init with fp's namespaces and returns its pid and a
// pidfd for it. ctl, report and stat are the child's ends of the pipes.
func (fp *fastProg) start(ctl, report, stat int) (pid, pidfd int, err error) {
	fp.slots[slotCtl], fp.slots[slotReport], fp.slots[slotStat] = uintptr(ctl), uintptr(report), uintptr(stat)
	keep := append(append([]int(nil), fp.keep...), ctl, report, stat)
	for i := 1; i < len(keep); i++ { // insertion sort: a few entries
		for j := i; j > 0 && keep[j] < keep[j-1]; j-- {
			keep[j], keep[j-1] = keep[j-1], keep[j]
		}
	}
	var gaps []uintptr // close_range pairs: first, last
	prev := -1
	for _, k := range keep {
		if k > prev+1 {
			gaps = append(gaps, uintptr(prev+1), uintptr(k-1))
		}
		prev = k
	}
	gaps = append(gaps, uintptr(prev+1), ^uintptr(0)>>32)
	var all [8]byte
	for i := range all {
		all[i] = 0xff
	}
	var pfd int32 = -1
	r, errno := fastFork(fp, gaps, &all, &pfd)
	runtime.KeepAlive(fp)
	if errno != 0 {
		return 0, -1, errno
	}
	return int(r), int(pfd), nil
}

// fastFork clones the fast init and, in the child, runs fp.ops.
//
// WARNING: from beforeFork on, the child may call nothing but raw system
// calls: it is a copy of a multi-threaded Go process with one thread left,
// whose runtime must not run (no allocation, no stack growth, no
// scheduler, no write barrier: every variable is declared before the fork,
// and only integers are stored). It never returns.
//
//go:noinline
//go:norace
//go:nocheckptr
func fastFork(fp *fastProg, gaps []uintptr, all *[8]byte, pidfd *int32) (pid uintptr, err syscall.Errno) {
	var (
		pc, n, i  int
		op        *fastOp
		a         [6]uintptr
		r1        uintptr
		e         syscall.Errno
		k         int
		ws        uintptr
		code      uintptr
		prog      uintptr
		pfds      [2]unix.PollFd
		buf       [128]byte
		status    [4]byte
		env       uintptr
		ignored   bool
		slots     = fp.slots
		ops       = fp.ops
		fallback  = fp.fallback
		bwrap     = fp.bwrap
		cloneArgs = fp.cloneFlags | unix.CLONE_PIDFD | uintptr(syscall.SIGCHLD)
	)
	beforeFork()
	pid, _, err = syscall.RawSyscall6(syscall.SYS_CLONE, cloneArgs, 0, uintptr(unsafe.Pointer(pidfd)), 0, 0, 0)
	if err != 0 || pid != 0 {
		afterFork()
		return pid, err
	}

	// The child. Every signal stays blocked (beforeFork blocked them, and
	// Go's handlers must never run here): the program gets an empty mask
	// before its execve, init takes SIGCHLD from a signalfd.
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(all)), 0, 8, 0, 0)
	for i = 0; i+1 < len(gaps); i += 2 {
		syscall.RawSyscall(unix.SYS_CLOSE_RANGE, gaps[i], gaps[i+1], 0)
	}
	for pc = 0; pc < len(ops); pc++ {
		op = &ops[pc]
		switch op.kind {
		case fkSys:
			a = op.args
			for k = 0; k < 6; k++ {
				if op.in[k] != 0 {
					a[k] = slots[op.in[k]-1]
				}
			}
			r1, _, e = syscall.RawSyscall6(op.nr, a[0], a[1], a[2], a[3], a[4], a[5])
			if e != 0 {
				ignored = op.ignore[0] == anyErrno || int16(e) == op.ignore[0] || (op.ignore[1] != 0 && int16(e) == op.ignore[1])
				if ignored {
					if op.out != 0 {
						slots[op.out-1] = ^uintptr(0)
					}
					continue
				}
				if op.skipIf[0] == anyErrno || int16(e) == op.skipIf[0] || (op.skipIf[1] != 0 && int16(e) == op.skipIf[1]) {
					pc = int(op.target) - 1
					continue
				}
				goto fail
			}
			if op.check && r1 != op.want {
				goto fail
			}
			if op.out != 0 {
				slots[op.out-1] = r1
			}
		case fkClose:
			if slots[op.in[0]-1] != ^uintptr(0) {
				syscall.RawSyscall(syscall.SYS_CLOSE, slots[op.in[0]-1], 0, 0)
				slots[op.in[0]-1] = ^uintptr(0)
			}
		case fkSkipIfNeg:
			if slots[op.in[0]-1] == ^uintptr(0) {
				pc = int(op.target) - 1
			}
		case fkOr16:
			*(*uint16)(op.ptr) |= uint16(op.args[1])
		case fkEq32:
			for k = 0; k < int(op.args[1]); k++ {
				if *(*uint32)(unsafe.Add(op.ptr, 4*k)) != *(*uint32)(unsafe.Add(op.dst, 4*k)) {
					goto fail
				}
			}
		case fkIsDir:
			if (*unix.Stat_t)(op.ptr).Mode&unix.S_IFMT == unix.S_IFDIR {
				pc = int(op.target) - 1
			}
		case fkSet:
			if op.in[0] != 0 {
				slots[op.out-1] = slots[op.in[0]-1]
			} else {
				slots[op.out-1] = op.args[0]
			}
		case fkJump:
			pc = int(op.target) - 1
		case fkFork:
			r1, _, e = syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
			if e != 0 {
				goto fail
			}
			if r1 != 0 {
				slots[op.out-1] = r1
				pc = int(op.target) - 1
			}
		case fkExec:
			env = *(*uintptr)(unsafe.Add(op.ptr, slots[op.in[2]-1]*unsafe.Sizeof(uintptr(0))))
			syscall.RawSyscall(syscall.SYS_EXECVE, op.args[0], op.args[1], env)
			goto fail
		case fkFail:
			goto fail
		case fkLLRule:
			// secure.addRule: a path missing inside (or out of the
			// program's reach) is skipped; a non-directory gets the file
			// rights only.
			r1, _, e = syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, op.args[0], unix.O_PATH|unix.O_CLOEXEC, 0, 0, 0)
			if e == syscall.ENOENT || e == syscall.ENOTDIR || e == syscall.EACCES || e == syscall.ELOOP {
				continue
			}
			if e != 0 {
				goto fail
			}
			_, _, e = syscall.RawSyscall(syscall.SYS_FSTAT, r1, uintptr(op.ptr), 0)
			a[0] = op.args[2]
			if (*unix.Stat_t)(op.ptr).Mode&unix.S_IFMT == unix.S_IFDIR {
				a[0] = op.args[1]
			}
			if e == 0 && a[0] != 0 {
				*(*uint64)(unsafe.Add(op.ptr, unsafe.Sizeof(unix.Stat_t{}))) = uint64(a[0])
				*(*int32)(unsafe.Add(op.ptr, unsafe.Sizeof(unix.Stat_t{})+8)) = int32(r1)
				_, _, e = syscall.RawSyscall6(unix.SYS_LANDLOCK_ADD_RULE, slots[slotRuleset], unix.LANDLOCK_RULE_PATH_BENEATH,
					uintptr(unsafe.Add(op.ptr, unsafe.Sizeof(unix.Stat_t{}))), 0, 0, 0)
			}
			syscall.RawSyscall(syscall.SYS_CLOSE, r1, 0, 0)
			if e != 0 {
				goto fail
			}
		case fkLLStreams:
			// secure.addStreamRule for fds 0-2; failures are ignored.
			for k = 0; k <= 2; k++ {
				_, _, e = syscall.RawSyscall(syscall.SYS_FSTAT, uintptr(k), uintptr(op.ptr), 0)
				if e != 0 {
					continue
				}
				ws = uintptr((*unix.Stat_t)(op.ptr).Mode & unix.S_IFMT)
				if ws != unix.S_IFREG && ws != unix.S_IFCHR && ws != unix.S_IFIFO {
					continue
				}
				r1, _, e = syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(k), syscall.F_GETFL, 0)
				if e != 0 || r1&unix.O_PATH != 0 {
					continue
				}
				n = 0
				switch r1 & unix.O_ACCMODE {
				case unix.O_RDONLY:
					n = 0 // read
				case unix.O_WRONLY:
					n = 2 // write
				case unix.O_RDWR:
					n = 4 // both
				default:
					continue
				}
				if ws == unix.S_IFCHR {
					n++
				}
				if op.args[n] == 0 {
					continue
				}
				*(*uint64)(unsafe.Add(op.ptr, unsafe.Sizeof(unix.Stat_t{}))) = uint64(op.args[n])
				*(*int32)(unsafe.Add(op.ptr, unsafe.Sizeof(unix.Stat_t{})+8)) = int32(k)
				syscall.RawSyscall6(unix.SYS_LANDLOCK_ADD_RULE, slots[slotRuleset], unix.LANDLOCK_RULE_PATH_BENEATH,
					uintptr(unsafe.Add(op.ptr, unsafe.Sizeof(unix.Stat_t{}))), 0, 0, 0)
			}
			ws = 0
		case fkCopy32:
			*(*uint32)(op.dst) = *(*uint32)(op.ptr)
		case fkCopyFD:
			// copyFromFD with pread: the shared offset stays where it is
			// (a[0] is the read position, r1 a read's size, a[1] a
			// write's).
			a[0], _, e = syscall.RawSyscall(syscall.SYS_LSEEK, op.args[0], 0, unix.SEEK_CUR)
			if e != 0 {
				goto fail
			}
			for {
				r1, _, e = syscall.RawSyscall6(syscall.SYS_PREAD64, op.args[0], uintptr(op.ptr), op.args[2], a[0], 0, 0)
				if e != 0 {
					goto fail
				}
				if r1 == 0 {
					break
				}
				a[0] += r1
				for k = 0; k < int(r1); k += int(a[1]) {
					a[1], _, e = syscall.RawSyscall(syscall.SYS_WRITE, slots[op.in[1]-1], uintptr(op.ptr)+uintptr(k), r1-uintptr(k))
					if e != 0 || a[1] == 0 {
						goto fail
					}
				}
			}
		case fkStore32:
			*(*int32)(op.ptr) = int32(slots[op.in[0]-1])
		case fkNlAck:
			// The first answer must be the acknowledgement: NLMSG_ERROR
			// with error 0 (struct nlmsgerr after the header).
			if *(*uint16)(unsafe.Add(op.ptr, 4)) != unix.NLMSG_ERROR {
				goto fail
			}
			k = int(*(*int32)(unsafe.Add(op.ptr, unix.NLMSG_HDRLEN)))
			if k != 0 {
				if op.args[0] == 1 && (k == -int(syscall.EACCES) || k == -int(syscall.EAFNOSUPPORT)) {
					pc = int(op.target) - 1
					continue
				}
				goto fail
			}
		case fkCapDrop:
			for r1 = 0; r1 <= op.args[0]; r1++ {
				if op.args[1]>>r1&1 == 1 {
					continue // kept
				}
				_, _, e = syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_CAPBSET_DROP, r1, 0, 0, 0, 0)
				if e != 0 && e != syscall.EINVAL {
					goto fail
				}
			}
		case fkCapCheck:
			for a[0] = 0; a[0] <= op.args[0]; a[0]++ {
				a[1] = op.args[1] >> a[0] & 1
				r1, _, e = syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_CAPBSET_READ, a[0], 0, 0, 0, 0)
				if e != 0 || r1 != a[1] {
					goto fail
				}
				r1, _, e = syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_IS_SET, a[0], 0, 0, 0)
				if e != 0 || r1 != a[1] {
					goto fail
				}
			}
		case fkReap:
			goto reap
		}
	}
	goto fail

reap:
	// pid 1's loop (init_linux.go's reap): forward what the parent sends
	// on ctl to the program, reap every child, report the program's
	// status; the bwrap personality then waits until none is left.
	prog = slots[slotProg]
	code = ^uintptr(0)
	// SIGCHLD (17): bit 16.
	buf[2] = 1
	r1, _, e = syscall.RawSyscall6(syscall.SYS_SIGNALFD4, ^uintptr(0), uintptr(unsafe.Pointer(&buf[0])), 8, unix.SFD_CLOEXEC|unix.SFD_NONBLOCK, 0, 0)
	if e != 0 {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, ExitSetup, 0, 0)
	}
	pfds[0].Fd, pfds[0].Events = int32(slots[slotCtl]), unix.POLLIN
	pfds[1].Fd, pfds[1].Events = int32(r1), unix.POLLIN
	for {
		for {
			r1, _, e = syscall.RawSyscall6(syscall.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(&ws)), unix.WNOHANG, 0, 0, 0)
			if e == syscall.EINTR {
				continue
			}
			if e == syscall.ECHILD {
				if code == ^uintptr(0) {
					code = ExitSetup
				}
				syscall.RawSyscall(syscall.SYS_EXIT_GROUP, code, 0, 0)
			}
			if e != 0 || r1 == 0 {
				break
			}
			if r1 != prog {
				continue
			}
			// ExitCode: the exit status, or 128+N for signal N.
			switch {
			case ws&0x7f == 0:
				code = (ws >> 8) & 0xff
			case ws&0x7f != 0x7f:
				code = 128 + ws&0x7f
			default:
				code = 255
			}
			status[0], status[1], status[2], status[3] = byte(code), 0, 0, 0
			syscall.RawSyscall(syscall.SYS_WRITE, slots[slotStat], uintptr(unsafe.Pointer(&status[0])), 4)
			syscall.RawSyscall(syscall.SYS_CLOSE, slots[slotStat], 0, 0)
			if !bwrap {
				syscall.RawSyscall(syscall.SYS_EXIT_GROUP, code, 0, 0)
			}
		}
		_, _, e = syscall.RawSyscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfds[0])), 2, 0, 0, 8, 0)
		if e != 0 && e != syscall.EINTR {
			syscall.RawSyscall(syscall.SYS_EXIT_GROUP, ExitSetup, 0, 0)
		}
		if pfds[0].Revents != 0 {
			n = 0
			r1, _, e = syscall.RawSyscall(syscall.SYS_READ, uintptr(pfds[0].Fd), uintptr(unsafe.Pointer(&buf[0])), 16)
			if e == 0 {
				n = int(r1)
			}
			if e == 0 && n == 0 {
				pfds[0].Fd = -1 // the parent is gone: reap on
			}
			for i = 0; i < n; i++ {
				syscall.RawSyscall(syscall.SYS_KILL, prog, uintptr(buf[i]), 0)
			}
		}
		if pfds[1].Revents != 0 {
			syscall.RawSyscall(syscall.SYS_READ, uintptr(pfds[1].Fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		}
	}

fail:
	// Ask the parent for the Go init, which will say what failed.
	if slots[slotReport] != ^uintptr(0) {
		syscall.RawSyscall(syscall.SYS_WRITE, slots[slotReport], uintptr(unsafe.Pointer(&fallback[0])), uintptr(len(fallback)))
	}
	syscall.RawSyscall(syscall.SYS_EXIT_GROUP, ExitSetup, 0, 0)
	return 0, 0
}
