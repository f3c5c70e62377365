//go:build linux

package runtime

import (
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"sandbox/fs"
	"sandbox/limits"
	"sandbox/net/vnet"
	"sandbox/runtime/nofile"
	"sandbox/secure"
	"sandbox/spec"
)

// The fast init: for the common sandbox (either personality: binds,
// symlinks, directories, tmpfs, /proc and /dev, the sandbox's own data
// files, --net user, the capability drop, Landlock and the default seccomp
// filter; nothing that needs the Go init's other work), init is not an
// exec of our binary
// but the parent's own fork, which runs a list of raw system calls compiled
// here, in the parent, from the plan: the same calls the Go init makes, in
// the same order. That spares a Go runtime start-up, the longest step of a
// sandbox's start after its own (see the README's start-up table).
//
// The forked child may run no Go code that allocates, grows its stack or
// touches the scheduler (its process has only the forking thread): it
// interprets the list in one function that calls nothing but raw system
// calls (fastrun_unsafe.go), with every buffer, string and struct prepared
// here. It reports nothing in words: on any failure it writes a fixed
// "fall back" report and exits, and the parent starts the sandbox again
// with the Go init, which then fails (or not) with its own exact message.
// Failures are rare (a missing source, an unknown command), and the retry
// repeats only what the first attempt did inside namespaces that are gone.

// fastOp is one step of the fast init.
type fastOp struct {
	kind uint8
	// out is the slot (index+1) that takes the call's result; 0 for none.
	out uint8
	// With check, the result must be want.
	check  bool
	target int32
	// in[i] is the slot (index+1) whose value replaces args[i]; 0 keeps it.
	in [6]uint8
	// An errno in ignore counts as success (out gets -1); one in skipIf
	// jumps to target (anyErrno: every one).
	ignore, skipIf [2]int16
	nr             uintptr
	args           [6]uintptr
	want           uintptr
	// ptr is the memory fkOr16, fkEq32, fkIsDir, fkCopy32, fkNlAck
	// and fkExec (its environment table) read, or fkStore32 writes; dst
	// is where fkCopy32 writes and what fkEq32 compares with.
	ptr, dst unsafe.Pointer
}

// anyErrno in skipIf or ignore matches every errno.
const anyErrno = -1

const (
	fkSys       = iota // a system call
	fkClose            // close the fd in slot in[0], unless it holds -1; the slot becomes -1
	fkSkipIfNeg        // jump to target if slot in[0] holds -1
	fkOr16             // *(*uint16)(ptr) |= args[1]
	fkEq32             // the args[1] uint32 words at ptr must equal those at dst
	fkIsDir            // jump to target if the stat_t at ptr is a directory
	fkSet              // slot out = args[0], or slot in[0] if given
	fkFork             // fork: the child goes on, the parent (out = pid) jumps to target
	fkExec             // execve(args[0], args[1], env number slot in[2] of the table at ptr)
	fkReap             // pid 1's loop (never returns)
	fkJump             // jump to target
	fkFail             // fail
	fkCapDrop          // prctl(PR_CAPBSET_DROP, c) for c = 0..args[0] not in the mask args[1], EINVAL allowed
	fkCapCheck         // PR_CAPBSET_READ and PR_CAP_AMBIENT_IS_SET give c's bit of the mask args[1] for c = 0..args[0]
	fkLLRule           // Landlock rule for path args[0]: rights args[1] on a directory, args[2] else (ptr: scratch)
	fkLLStreams        // Landlock rules for fds 0-2 by open mode: args[(read+2*write-1)*2+dev] (ptr: scratch)
	fkCopy32           // *(*uint32)(dst) = *(*uint32)(ptr)
	fkStore32          // *(*int32)(ptr) = slot in[0]
	fkNlAck            // the netlink answer at ptr is a success; with args[0], IPv6 being off jumps to target
	fkCopyFD           // fd args[0], from its offset (not moved), to the fd in slot in[1], through ptr (args[2] bytes)
)

// Slots the interpreter and the compiler agree on.
const (
	slotRoot     = iota // the new root (O_PATH)
	slotCtl             // control pipe, read end
	slotReport          // report pipe, write end
	slotStat            // status pipe, write end
	slotUmask           // the umask to restore
	slotTmp             // a directory of one step
	slotTmp2            // a file created as a mount point
	slotTree            // a detached mount tree
	slotSub             // a source opened by the op itself (/dev nodes, /proc/sys...)
	slotEnv             // which environment (working directory) was chosen
	slotProg            // the program's pid
	slotRuleset         // the Landlock ruleset
	slotTap             // the TAP device
	slotFirstSrc        // the sources of the binds, in op order
)

// fastProg is a compiled fast init.
type fastProg struct {
	ops   []fastOp
	slots []uintptr
	// keep is what stays open in the child besides the three pipes'
	// child ends (sorted): 0-2 and the caller's fds.
	keep []int
	// envs are the program's environments, one per working directory
	// tried; envTab points at them; argv is the program's.
	envs   [][]*byte
	envTab []uintptr
	argv   []*byte
	// bufs holds every buffer and string the ops point to; filter and
	// fprog the seccomp filter the ops load, userProgs the caller's
	// (their instructions are the plan's).
	bufs      [][]byte
	filter    []bpf.RawInstruction
	fprog     *unix.SockFprog
	userProgs []*unix.SockFprog
	// dataFDs are the caller's fds the data ops read (fkCopyFD).
	dataFDs []int
	// fallback is the report that asks the parent to start again with
	// the Go init.
	fallback []byte
	// cloneFlags: the namespaces; bwrap: reap until no child is left.
	cloneFlags uintptr
	bwrap      bool
}

// fastFallbackExit marks the report that asks for the Go init.
const (
	fastFallbackExit = 255
	fastFallbackMsg  = "fast init: fall back"
)

// fastEligible says whether plan can run with the fast init.
func fastEligible(plan *Plan) bool {
	s := plan.Spec
	// With a pid namespace, init forks the program; without one (or with
	// --as-pid-1) the sandbox's one process becomes the program.
	// canFork's other conditions hold for the fast init too; the
	// caller's filters are no obstacle: they are loaded in the program's
	// process, after the fork, just before execve (as bubblewrap does).
	if (plan.UseInit && !plan.PIDNS) || plan.CgroupPayload != "" || plan.LateCgroupNS || !s.Namespaces.User {
		return false
	}
	if (plan.NetBuiltin && plan.NetSock <= 0) || len(plan.Seccomp) > 4096 {
		return false
	}
	for _, f := range plan.UserFilters {
		if len(f) == 0 || len(f) > 4096 {
			return false // the Go init says why the kernel refuses it
		}
	}
	// The caller's fds that only the stages hold: --sync-fd, which init
	// keeps, and the data ops' (checked with their ops below).
	for _, fd := range plan.InitFDs {
		if fd != s.SyncFD && !slices.ContainsFunc(s.Ops, func(op spec.Op) bool { return op.FD == fd }) {
			return false
		}
	}
	// --userns-block-fd: the caller writes the maps of the pid it read
	// from --info-fd, which a fall-back would replace. The same with
	// --block-fd: the fast init writes the info only once the program
	// runs, which a caller that reads it before it unblocks would wait
	// for forever.
	infoFD := s.InfoFD != spec.NoFD || s.JSONStatusFD != spec.NoFD
	if s.UsernsBlockFD != spec.NoFD || (s.BlockFD != spec.NoFD && infoFD) || s.DisableUserns || s.AssertUsernsDisabled ||
		s.Limits.NeedsCgroup() || len(s.Command) == 0 {
		return false
	}
	for _, r := range s.Limits.Rlimits {
		if _, ok := resolveRlimit(r); !ok {
			return false // the Go init says why
		}
	}
	if !fastArch() {
		return false
	}
	for _, op := range s.Ops {
		switch op.Kind {
		case spec.OpBind, spec.OpROBind, spec.OpDevBind:
			if op.Source == "" || op.FD != spec.NoFD {
				return false
			}
		case spec.OpBindData, spec.OpROBindData, spec.OpFile:
			if op.FD != spec.NoFD && !regularFile(op.FD) {
				// A pipe's data, once read, would not be there for a
				// fall-back's Go init; a file's is read where it stands
				// (fkCopyFD).
				return false
			}
		case spec.OpChmod:
			if !haveFchmodat2() {
				return false // the Go init's /proc/self/fd path
			}
		case spec.OpSymlink, spec.OpDir, spec.OpTmpfs, spec.OpProc, spec.OpDev, spec.OpLockFile,
			spec.OpRemountRO, spec.OpMqueue:
		default:
			return false
		}
	}
	return true
}

// haveFchmodat2 says whether the kernel has fchmodat2 (Linux 6.6), which
// chmods an O_PATH fd: asked with a bad fd, it answers EBADF, an older
// kernel ENOSYS. Asked once, whatever the number of --chmod ops.
var haveFchmodat2 = sync.OnceValue(func() bool {
	_, _, e := unix.RawSyscall6(unix.SYS_FCHMODAT2, ^uintptr(0), 0, 0, 0, 0, 0)
	return e != unix.ENOSYS
})

// regularFile says whether fd is a regular file (a memfd is one).
func regularFile(fd int) bool {
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG
}

// fastCompiler builds a fastProg.
type fastCompiler struct {
	p     *fastProg
	plan  *Plan
	chunk []byte           // the free end of the last buffer
	strs  map[string]*byte // strings already in it
}

// str returns a C string in the program's memory (the same string once).
func (c *fastCompiler) str(s string) uintptr { return uintptr(unsafe.Pointer(c.strp(s))) }

func (c *fastCompiler) strp(s string) *byte {
	if p, ok := c.strs[s]; ok {
		return p
	}
	b := c.alloc(len(s) + 1)
	copy(b, s)
	c.strs[s] = &b[0]
	return &b[0]
}

// alloc returns n zeroed bytes, 8-aligned, from chunks that never move.
func (c *fastCompiler) alloc(n int) []byte {
	n8 := (n + 7) &^ 7
	if len(c.chunk)+n8 > cap(c.chunk) {
		c.chunk = make([]byte, 0, max(4096, n8))
		c.p.bufs = append(c.p.bufs, c.chunk[:cap(c.chunk)])
	}
	b := c.chunk[len(c.chunk) : len(c.chunk)+n : len(c.chunk)+n]
	c.chunk = c.chunk[:len(c.chunk)+n8]
	return b
}

func (c *fastCompiler) bufp(n int) unsafe.Pointer { return unsafe.Pointer(&c.alloc(n)[0]) }

func (c *fastCompiler) buf(n int) uintptr { return uintptr(c.bufp(n)) }

func (c *fastCompiler) emit(op fastOp) int {
	c.p.ops = append(c.p.ops, op)
	return len(c.p.ops) - 1
}

// sys emits a system call (its failure fails the init) and returns its index.
func (c *fastCompiler) sys(nr uintptr, args ...uintptr) int {
	op := fastOp{kind: fkSys, nr: nr}
	copy(op.args[:], args)
	return c.emit(op)
}

func (c *fastCompiler) op(i int) *fastOp { return &c.p.ops[i] }

// here is the index of the next op (a jump target).
func (c *fastCompiler) here() int32 { return int32(len(c.p.ops)) }

func (c *fastCompiler) closeSlot(slot int) {
	c.emit(fastOp{kind: fkClose, in: [6]uint8{uint8(slot + 1)}})
}

// resolve emits openat2(root, p, flags, RESOLVE_IN_ROOT|NO_MAGICLINKS) into
// slot, as Root.resolve.
func (c *fastCompiler) resolve(p string, flags int, slot int) int {
	how := (*unix.OpenHow)(c.bufp(int(unsafe.Sizeof(unix.OpenHow{}))))
	how.Flags = uint64(flags | unix.O_CLOEXEC)
	how.Resolve = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS
	i := c.sys(unix.SYS_OPENAT2, 0, c.str(rel(p)), uintptr(unsafe.Pointer(how)), unsafe.Sizeof(*how))
	c.op(i).in[0] = slotRoot + 1
	c.op(i).out = uint8(slot + 1)
	return i
}

func rel(p string) string {
	p = strings.TrimLeft(p, "/")
	if p == "" {
		return "."
	}
	return p
}

// mkdirIn emits mkdirat(dir of p, base of p, mode), EEXIST allowed.
func (c *fastCompiler) mkdirIn(p string, mode uint32) {
	c.resolve(path.Dir(p), unix.O_PATH|unix.O_DIRECTORY, slotTmp)
	i := c.sys(unix.SYS_MKDIRAT, 0, c.str(path.Base(p)), uintptr(mode))
	c.op(i).in[0] = slotTmp + 1
	c.op(i).ignore[0] = int16(unix.EEXIST)
	c.closeSlot(slotTmp)
}

// mkParents creates the missing parents of dest (Root.mkParents): every
// ancestor, top down, EEXIST allowed; one that is not a directory fails
// the next step's O_DIRECTORY.
func (c *fastCompiler) mkParents(op spec.Op, dest string) {
	p := path.Clean("/" + dest)
	var chain []string
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		chain = append(chain, d)
	}
	mode := fs.ParentMode(op, c.plan.Spec.Personality == spec.Bwrap)
	for i := len(chain) - 1; i >= 0; i-- {
		c.mkdirIn(chain[i], mode)
	}
}

// ensureDir makes dest a directory (Root.ensureDir): mkdir, EEXIST allowed,
// then it must open as a directory.
func (c *fastCompiler) ensureDir(op spec.Op, dest string, mode uint32) {
	c.mkParents(op, dest)
	p := path.Clean("/" + dest)
	if p != "/" {
		c.mkdirIn(p, mode)
	}
	c.resolve(p, unix.O_PATH|unix.O_DIRECTORY, slotTmp)
	c.closeSlot(slotTmp)
}

// ensureFile makes dest a file to mount on (Root.ensureFile): created 0444
// unless something is there; a directory there fails (EISDIR), as a
// symlink does (ELOOP, where the Go init follows it: the fallback does).
func (c *fastCompiler) ensureFile(op spec.Op, dest string) {
	c.mkParents(op, dest)
	p := path.Clean("/" + dest)
	c.resolve(path.Dir(p), unix.O_PATH|unix.O_DIRECTORY, slotTmp)
	i := c.sys(unix.SYS_OPENAT, 0, c.str(path.Base(p)), unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o444)
	c.op(i).in[0] = slotTmp + 1
	c.op(i).out = slotTmp2 + 1
	c.op(i).ignore[0] = int16(unix.EEXIST)
	c.closeSlot(slotTmp2)
	c.closeSlot(slotTmp)
}

// bind mounts a recursive clone of the tree in slot src on dest with attr
// (Root.bindFD with the new mount API; ENOSYS or EPERM fail, and the Go
// init's fallback to mount(2) takes over).
func (c *fastCompiler) bind(src int, dest string, attr uint64) {
	c.resolve(dest, unix.O_PATH, slotTmp)
	t := c.sys(unix.SYS_OPEN_TREE, 0, c.str(""), unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH|unix.AT_RECURSIVE)
	c.op(t).in[0] = uint8(src + 1)
	c.op(t).out = slotTree + 1
	ma := (*unix.MountAttr)(c.bufp(int(unsafe.Sizeof(unix.MountAttr{}))))
	ma.Attr_set = attr
	s := c.sys(unix.SYS_MOUNT_SETATTR, 0, c.str(""), unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, uintptr(unsafe.Pointer(ma)), unsafe.Sizeof(*ma))
	c.op(s).in[0] = slotTree + 1
	m := c.sys(unix.SYS_MOVE_MOUNT, 0, c.str(""), 0, c.str(""), unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	c.op(m).in[0], c.op(m).in[2] = slotTree+1, slotTmp+1
	c.closeSlot(slotTree)
	c.closeSlot(slotTmp)
	c.mounted(dest)
}

// mounted reopens the root after a mount on "/" (Root.mounted).
func (c *fastCompiler) mounted(dest string) {
	if path.Clean("/"+dest) != "/" {
		return
	}
	o := c.sys(unix.SYS_OPENAT, atFDCWD, c.str(fsRootDir), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
	c.op(o).out = slotTmp + 1
	c.closeSlot(slotRoot)
	c.emit(fastOp{kind: fkSet, out: slotRoot + 1, in: [6]uint8{slotTmp + 1}})
	c.emit(fastOp{kind: fkSet, out: slotTmp + 1, args: [6]uintptr{^uintptr(0)}})
}

// mountAt mounts a new filesystem on dest (Root.mountAt), with the
// directory as working directory: mount(2) on "." reaches what the Go
// init's /proc/self/fd/N reaches.
func (c *fastCompiler) mountAt(dest, fstype string, flags uintptr, data string) {
	c.resolve(dest, unix.O_PATH|unix.O_DIRECTORY, slotTmp)
	ch := c.sys(unix.SYS_FCHDIR, 0)
	c.op(ch).in[0] = slotTmp + 1
	var d uintptr
	if data != "" {
		d = c.str(data)
	}
	c.sys(unix.SYS_MOUNT, c.str(fstype), c.str("."), c.str(fstype), flags, d)
	c.closeSlot(slotTmp)
	c.mounted(dest)
}

// atFDCWD is AT_FDCWD as a system call argument.
const atFDCWD = ^uintptr(-unix.AT_FDCWD - 1) // -100 as the kernel reads it

// Where the Go init builds the root (fs/root_linux.go).
const (
	fsStageDir = "/tmp"
	fsRootDir  = "/tmp/root"
	fsDataDir  = "/tmp/data"
)

// compileFast compiles plan for the fast init; nil if it is not eligible.
// argv0 names the process (PR_SET_NAME), as the Go init does.
func compileFast(plan *Plan, argv0 string, cloneFlags uintptr) *fastProg {
	if !fastEligible(plan) {
		return nil
	}
	s := plan.Spec
	c := &fastCompiler{p: &fastProg{cloneFlags: cloneFlags, bwrap: s.Personality == spec.Bwrap}, plan: plan, strs: map[string]*byte{}}
	c.p.ops = make([]fastOp, 0, 96+48*len(s.Ops))
	srcSlot := map[int]int{}
	for i, op := range s.Ops {
		switch op.Kind {
		case spec.OpBind, spec.OpROBind, spec.OpDevBind:
			srcSlot[i] = slotFirstSrc + len(srcSlot)
		}
	}
	if slotFirstSrc+len(srcSlot) > 250 {
		return nil
	}
	c.p.slots = make([]uintptr, slotFirstSrc+len(srcSlot))
	for i := range c.p.slots {
		c.p.slots[i] = ^uintptr(0)
	}

	// The death signal (a parent that died before it is seen as EOF on
	// ctl: getppid says 0 in a new pid namespace), the name, the go-ahead
	// (the maps are written), not dumpable (the program runs as our uid).
	if s.DieWithParent {
		c.sys(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL))
	}
	c.sys(unix.SYS_PRCTL, unix.PR_SET_NAME, c.str(path.Base(argv0)))
	r := c.sys(unix.SYS_READ, 0, c.buf(8), 1)
	c.op(r).in[0] = slotCtl + 1
	c.op(r).check, c.op(r).want = true, 1
	c.sys(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 0)
	u := c.sys(unix.SYS_UMASK, 0)
	c.op(u).out = slotUmask + 1

	// setup (init_linux.go): hostname, loopback (net.LoopbackUp).
	if s.Namespaces.UTS && s.HostnameSet {
		c.sys(unix.SYS_SETHOSTNAME, c.str(s.Hostname), uintptr(len(s.Hostname)))
	}
	if s.Namespaces.Net {
		so := c.sys(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		c.op(so).out = slotTmp + 1
		ifr := c.bufp(40) // struct ifreq: the name, then the flags
		copy(unsafe.Slice((*byte)(ifr), 16), "lo")
		g := c.sys(unix.SYS_IOCTL, 0, unix.SIOCGIFFLAGS, uintptr(ifr))
		c.op(g).in[0] = slotTmp + 1
		c.emit(fastOp{kind: fkOr16, ptr: unsafe.Add(ifr, 16), args: [6]uintptr{1: unix.IFF_UP}})
		st := c.sys(unix.SYS_IOCTL, 0, unix.SIOCSIFFLAGS, uintptr(ifr))
		c.op(st).in[0] = slotTmp + 1
		c.closeSlot(slotTmp)
	}

	if plan.NetBuiltin {
		c.compileTAP(plan.NetSock)
	}

	// fs.Open: every source first, then the staging and root tmpfs.
	for i, op := range s.Ops {
		slot, ok := srcSlot[i]
		if !ok {
			continue
		}
		o := c.sys(unix.SYS_OPENAT, atFDCWD, c.str(op.Source), unix.O_PATH|unix.O_CLOEXEC)
		c.op(o).out = uint8(slot + 1)
		switch {
		case op.Default:
			c.op(o).ignore[0] = anyErrno // skipped on any error, as fs.Open does
		case op.Try:
			// Skipped when missing; otherwise the Go init reports it.
			c.op(o).ignore[0] = int16(unix.ENOENT)
		}
	}
	c.sys(unix.SYS_MOUNT, c.str(""), c.str("/"), c.str(""), unix.MS_SLAVE|unix.MS_REC, 0)
	c.sys(unix.SYS_MOUNT, c.str("tmpfs"), c.str(fsStageDir), c.str("tmpfs"), unix.MS_NOSUID|unix.MS_NODEV, c.str(""))
	c.sys(unix.SYS_MOUNT, c.str(""), c.str(fsStageDir), c.str(""), unix.MS_UNBINDABLE, 0)
	c.sys(unix.SYS_MKDIRAT, atFDCWD, c.str(fsDataDir), 0o700)
	c.sys(unix.SYS_MOUNT, c.str("tmpfs"), c.str(fsDataDir), c.str("tmpfs"), unix.MS_NOSUID|unix.MS_NODEV, c.str(""))
	c.sys(unix.SYS_MKDIRAT, atFDCWD, c.str(fsRootDir), 0o755)
	c.sys(unix.SYS_MOUNT, c.str("tmpfs"), c.str(fsRootDir), c.str("tmpfs"), unix.MS_NOSUID|unix.MS_NODEV, c.str(""))
	c.sys(unix.SYS_FCHMODAT, atFDCWD, c.str(fsRootDir), 0o755)
	ro := c.sys(unix.SYS_OPENAT, atFDCWD, c.str(fsRootDir), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
	c.op(ro).out = slotRoot + 1

	// fs.Apply, op by op.
	nData := 0
	for i, op := range s.Ops {
		switch op.Kind {
		case spec.OpBind, spec.OpROBind, spec.OpDevBind:
			c.compileBind(op, srcSlot[i])
		case spec.OpSymlink:
			c.mkParents(op, op.Dest)
			p := path.Clean("/" + op.Dest)
			c.resolve(path.Dir(p), unix.O_PATH|unix.O_DIRECTORY, slotTmp)
			// EEXIST fails: the Go init compares the targets.
			l := c.sys(unix.SYS_SYMLINKAT, c.str(op.Source), 0, c.str(path.Base(p)))
			c.op(l).in[1] = slotTmp + 1
			c.closeSlot(slotTmp)
		case spec.OpDir:
			mode := uint32(0o755)
			if op.Perms >= 0 {
				mode = uint32(op.Perms)
			}
			c.ensureDir(op, op.Dest, mode)
		case spec.OpTmpfs:
			c.ensureDir(op, op.Dest, 0o755)
			mode := op.Perms
			if mode < 0 {
				mode = 0o755
			}
			data := "mode=" + octalC(uint32(mode))
			if op.Size > 0 {
				data += ",size=" + itoa(op.Size)
			}
			c.mountAt(op.Dest, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, data)
		case spec.OpBindData, spec.OpROBindData:
			nData++
			c.compileBindData(op, nData)
		case spec.OpFile:
			c.compileFile(op)
		case spec.OpRemountRO:
			// Root.RemountRO: DEST's own mount (not its submounts). A
			// DEST that is not a mount point fails (EINVAL), as do
			// ENOSYS and EPERM, where the Go init says why or remounts
			// with mount(2).
			c.mkParents(op, op.Dest)
			c.resolve(op.Dest, unix.O_PATH, slotTmp)
			ma := (*unix.MountAttr)(c.bufp(int(unsafe.Sizeof(unix.MountAttr{}))))
			ma.Attr_set = unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV
			m := c.sys(unix.SYS_MOUNT_SETATTR, 0, c.str(""), unix.AT_EMPTY_PATH, uintptr(unsafe.Pointer(ma)), unsafe.Sizeof(*ma))
			c.op(m).in[0] = slotTmp + 1
			c.closeSlot(slotTmp)
		case spec.OpMqueue:
			c.ensureDir(op, op.Dest, 0o755)
			c.mountAt(op.Dest, "mqueue", 0, "")
		case spec.OpChmod:
			// Root.Chmod, symlinks followed inside the root: fchmodat2
			// (Linux 6.6) on the O_PATH fd, where the Go init goes
			// through /proc/self/fd (older kernels: fastEligible).
			c.resolve(op.Dest, unix.O_PATH, slotTmp)
			ch := c.sys(unix.SYS_FCHMODAT2, 0, c.str(""), uintptr(op.Perms), unix.AT_EMPTY_PATH)
			c.op(ch).in[0] = slotTmp + 1
			c.closeSlot(slotTmp)
		case spec.OpProc:
			c.compileProc(op)
		case spec.OpDev:
			c.compileDev(op)
		}
	}

	// The lock files, last (fs.Apply): a read lock on each, its fd kept
	// open by init for the sandbox's life (close-on-exec: not the
	// program's).
	for _, op := range s.Ops {
		if op.Kind == spec.OpLockFile {
			c.resolve(op.Dest, unix.O_RDONLY, slotTmp)
			lk := (*unix.Flock_t)(c.bufp(int(unsafe.Sizeof(unix.Flock_t{}))))
			lk.Type, lk.Whence = unix.F_RDLCK, 0
			l := c.sys(unix.SYS_FCNTL, 0, unix.F_SETLK, uintptr(unsafe.Pointer(lk)))
			c.op(l).in[0] = slotTmp + 1
			c.emit(fastOp{kind: fkSet, out: slotTmp + 1, args: [6]uintptr{^uintptr(0)}}) // kept
		}
	}

	// PivotRoot: the sources and the root closed, pivot_root(".", "."),
	// the old root made private and detached.
	for _, slot := range srcSlot {
		c.closeSlot(slot)
	}
	c.closeSlot(slotRoot)
	c.sys(unix.SYS_CHDIR, c.str(fsRootDir))
	c.sys(unix.SYS_PIVOT_ROOT, c.str("."), c.str("."))
	c.sys(unix.SYS_MOUNT, c.str(""), c.str("."), c.str(""), unix.MS_PRIVATE|unix.MS_REC, 0)
	c.sys(unix.SYS_UMOUNT2, c.str("."), unix.MNT_DETACH)
	c.sys(unix.SYS_CHDIR, c.str("/"))
	if plan.NetBuiltin {
		// waitNetwork: the stack's go-ahead, once it runs confined.
		w := c.sys(unix.SYS_READ, uintptr(plan.NetSock), c.buf(8), 1)
		c.op(w).check, c.op(w).want = true, 1
	}
	um := c.sys(unix.SYS_UMASK, 0)
	c.op(um).in[0] = slotUmask + 1

	if !plan.UseInit && s.NewSession {
		c.sys(unix.SYS_SETSID) // execProgram: before confine
	}

	// confine: the working directory (and PWD), then secure.DropCaps:
	// the bounding set, the ambient set, capset, the kept ones raised in
	// the ambient set (--cap-add: they survive the program's execve),
	// no_new_privs, and every set read back.
	c.compileCwd()
	last, keep := uintptr(plan.LastCap), uintptr(plan.Keep)
	c.emit(fastOp{kind: fkCapDrop, args: [6]uintptr{last, keep}})
	a := c.sys(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	c.op(a).ignore[0] = int16(unix.EINVAL)
	hdr := (*unix.CapUserHeader)(c.bufp(int(unsafe.Sizeof(unix.CapUserHeader{}))))
	hdr.Version = unix.LINUX_CAPABILITY_VERSION_3
	sets := (*[2]unix.CapUserData)(c.bufp(2 * int(unsafe.Sizeof(unix.CapUserData{}))))
	for i := range sets {
		w := uint32(plan.Keep >> (32 * i))
		sets[i] = unix.CapUserData{Effective: w, Permitted: w, Inheritable: w}
	}
	c.sys(unix.SYS_CAPSET, uintptr(unsafe.Pointer(hdr)), uintptr(unsafe.Pointer(sets)))
	for cp := uintptr(0); cp <= last; cp++ {
		if keep>>cp&1 == 1 {
			c.sys(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, cp, 0, 0)
		}
	}
	c.sys(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	hdr2 := (*unix.CapUserHeader)(c.bufp(int(unsafe.Sizeof(unix.CapUserHeader{}))))
	hdr2.Version = unix.LINUX_CAPABILITY_VERSION_3
	got := c.bufp(2 * int(unsafe.Sizeof(unix.CapUserData{})))
	c.sys(unix.SYS_CAPGET, uintptr(unsafe.Pointer(hdr2)), uintptr(got))
	c.emit(fastOp{kind: fkEq32, ptr: got, dst: unsafe.Pointer(sets), args: [6]uintptr{1: 6}})
	c.emit(fastOp{kind: fkCapCheck, args: [6]uintptr{last, keep}})
	if plan.Landlock {
		c.compileLandlock(secure.CompileLandlock(secure.LandlockRules(s.Ops), plan.LandlockABI))
	}
	if s.BlockFD != spec.NoFD {
		// waitFD: a byte or the end, then the fd is closed (the program
		// does not get it). Every signal is blocked here: no EINTR.
		r := c.sys(unix.SYS_READ, uintptr(s.BlockFD), c.buf(8), 1)
		c.op(r).ignore[0] = anyErrno
		cl := c.sys(unix.SYS_CLOSE, uintptr(s.BlockFD))
		c.op(cl).ignore[0] = anyErrno
	}
	if plan.Seccomp != nil {
		// secure.LoadFilter: no_new_privs must be set, then the filter.
		n := c.sys(unix.SYS_PRCTL, unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
		c.op(n).check, c.op(n).want = true, 1
		c.p.filter = plan.Seccomp
		c.p.fprog = &unix.SockFprog{Len: uint16(len(plan.Seccomp)), Filter: (*unix.SockFilter)(unsafe.Pointer(&plan.Seccomp[0]))}
		f := c.sys(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(c.p.fprog)))
		c.op(f).check = true // 0
	}

	// forkProgram: the program's process (setsid, death signal, the
	// caller's fds inherited, every signal unblocked, execve); init
	// closes the report (the parent reads EOF once the program's execve
	// has closed the last copy) and the caller's fds, then reaps.
	progFDs := c.programFDs()
	if !plan.UseInit {
		// execProgram: this process becomes the program.
		c.programExec(progFDs)
		return c.finish()
	}
	fork := c.emit(fastOp{kind: fkFork, out: slotProg + 1})
	if s.NewSession {
		c.sys(unix.SYS_SETSID)
	}
	c.sys(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL))
	c.programExec(progFDs)
	c.op(fork).target = c.here()
	c.closeSlot(slotReport)
	for _, fd := range progFDs {
		cl := c.sys(unix.SYS_CLOSE, uintptr(fd))
		c.op(cl).ignore[0] = int16(unix.EBADF)
	}
	c.emit(fastOp{kind: fkReap})
	return c.finish()
}

// programExec is the program's process's last steps, as one process
// becomes the program (execProgram) or init's child does (forkProgram):
// the caller's fds made inheritable, the limits, the signals, the caller's
// filters (last, as bubblewrap loads them), execve.
func (c *fastCompiler) programExec(fds []int) {
	for _, fd := range fds {
		c.sys(unix.SYS_FCNTL, uintptr(fd), unix.F_SETFD, 0)
	}
	c.restoreNofile()
	c.rlimits()
	c.unblockSignals()
	c.callerFilters()
	c.compileExec()
}

// resolveRlimit is what limits.ApplyRlimits would set for r in the
// program's process, which inherits this process's limits.
func resolveRlimit(r spec.Rlimit) (unix.Rlimit, bool) {
	cur, err := limits.Current(r.Resource)
	if err != nil {
		return cur, false
	}
	want, err := limits.Resolve(r, cur)
	return want, err == nil
}

// rlimits sets the --rlimit limits in the program's process (per process:
// init keeps its own), after the caller's soft limit on open files is back.
func (c *fastCompiler) rlimits() {
	for _, r := range c.plan.Spec.Limits.Rlimits {
		want, _ := resolveRlimit(r) // resolvable: fastEligible
		lim := (*unix.Rlimit)(c.bufp(int(unsafe.Sizeof(unix.Rlimit{}))))
		*lim = want
		c.sys(unix.SYS_PRLIMIT64, 0, uintptr(r.Resource), uintptr(unsafe.Pointer(lim)), 0)
	}
}

// callerFilters loads the caller's seccomp filters (--seccomp,
// --add-seccomp-fd), in order, stacked on ours, in the program's process
// just before its execve, as bubblewrap does: they may refuse what the
// setup or a fork needs. no_new_privs is set by then.
func (c *fastCompiler) callerFilters() {
	for _, prog := range c.plan.UserFilters {
		fprog := &unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
		c.p.userProgs = append(c.p.userProgs, fprog)
		f := c.sys(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(fprog)))
		c.op(f).check = true // 0
	}
}

// programFDs are the caller's fds the program inherits: all but
// --block-fd's, which init closed once it had waited on it.
func (c *fastCompiler) programFDs() []int {
	var fds []int
	for _, fd := range c.plan.PassFDs {
		if fd != c.plan.Spec.BlockFD {
			fds = append(fds, fd)
		}
	}
	return fds
}

// unblockSignals gives the program's process the default action for the
// signals the parent catches, then an empty mask, as syscall.ForkExec does
// for its children: the parent's handler (package sigpipe) is inherited
// until execve, and a signal between the unblocking and the execve would
// run it here, writing to a descriptor number this process may use for
// something else.
func (c *fastCompiler) unblockSignals() {
	dfl := c.buf(32) // struct sigaction: zeros are SIG_DFL, no flags
	for _, sig := range forwardedSignals {
		c.sys(unix.SYS_RT_SIGACTION, uintptr(sig), dfl, 0, 8)
	}
	c.sys(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, c.buf(8), 0, 8)
}

// restoreNofile gives the program the soft limit on open files the caller
// gave us, which the Go runtime raised for itself at start (package syscall
// restores it in what it starts, the way done here): when it was raised
// and no one has changed it since.
func (c *fastCompiler) restoreNofile() {
	if !nofile.OK || nofile.StartHard == 0 || nofile.StartSoft >= nofile.StartHard-1 {
		return // not raised
	}
	var now unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &now) != nil || now.Cur != nofile.StartHard-1 || now.Max != nofile.StartHard {
		return // changed since, as syscall.forkExec checks
	}
	lim := (*unix.Rlimit)(c.bufp(int(unsafe.Sizeof(unix.Rlimit{}))))
	lim.Cur, lim.Max = nofile.StartSoft, nofile.StartHard
	c.sys(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, uintptr(unsafe.Pointer(lim)), 0)
}

// finish lists the descriptors to keep and the fall-back report.
func (c *fastCompiler) finish() *fastProg {
	plan := c.plan
	c.p.keep = append(append([]int{0, 1, 2}, plan.PassFDs...), plan.InitFDs...)
	if plan.NetBuiltin {
		c.p.keep = append(c.p.keep, plan.NetSock)
	}
	sort.Ints(c.p.keep)
	rep, err := spec.MarshalWire(&Report{Msg: fastFallbackMsg, Exit: fastFallbackExit})
	if err != nil {
		return nil
	}
	c.p.fallback = rep
	return c.p
}

func (c *fastCompiler) compileBind(op spec.Op, slot int) {
	skip := c.emit(fastOp{kind: fkSkipIfNeg, in: [6]uint8{uint8(slot + 1)}})
	st := c.bufp(int(unsafe.Sizeof(unix.Stat_t{})))
	f := c.sys(unix.SYS_FSTAT, 0, uintptr(st))
	c.op(f).in[0] = uint8(slot + 1)
	// The mount point is a directory or a file, as the source.
	isDir := c.emit(fastOp{kind: fkIsDir, ptr: st})
	c.ensureFile(op, op.Dest)
	jmp := c.emit(fastOp{kind: fkJump})
	c.op(isDir).target = c.here()
	c.ensureDir(op, op.Dest, 0o755)
	c.op(jmp).target = c.here()
	attr := uint64(unix.MOUNT_ATTR_NOSUID)
	if op.Kind != spec.OpDevBind {
		attr |= unix.MOUNT_ATTR_NODEV
	}
	if op.Kind == spec.OpROBind {
		attr |= unix.MOUNT_ATTR_RDONLY
	}
	c.bind(slot, op.Dest, attr)
	c.op(skip).target = c.here()
}

// compileBindData is Root.BindData for data the sandbox made (the user
// network's resolv.conf): a file in the staging data tmpfs, bound and
// removed.
func (c *fastCompiler) compileBindData(op spec.Op, n int) {
	mode := uintptr(0o600)
	if op.Perms >= 0 {
		mode = uintptr(op.Perms)
	}
	tmp := c.str(fsDataDir + "/data-" + itoa(int64(n)))
	o := c.sys(unix.SYS_OPENAT, atFDCWD, tmp, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_CLOEXEC, mode)
	c.op(o).out = slotTmp2 + 1
	f := c.sys(unix.SYS_FCHMOD, 0, mode)
	c.op(f).in[0] = slotTmp2 + 1
	if op.FD != spec.NoFD {
		c.copyFD(op.FD, slotTmp2)
	} else if len(op.Data) > 0 {
		d := c.alloc(len(op.Data))
		copy(d, op.Data)
		w := c.sys(unix.SYS_WRITE, 0, uintptr(unsafe.Pointer(&d[0])), uintptr(len(d)))
		c.op(w).in[0] = slotTmp2 + 1
	}
	c.closeSlot(slotTmp2)
	c.ensureFile(op, op.Dest)
	s := c.sys(unix.SYS_OPENAT, atFDCWD, tmp, unix.O_PATH|unix.O_CLOEXEC)
	c.op(s).out = slotSub + 1
	attr := uint64(unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV)
	if op.Kind == spec.OpROBindData {
		attr |= unix.MOUNT_ATTR_RDONLY
	}
	c.bind(slotSub, op.Dest, attr)
	c.closeSlot(slotSub)
	u := c.sys(unix.SYS_UNLINKAT, atFDCWD, tmp, 0)
	c.op(u).ignore[0] = anyErrno
}

// compileFile is Root.File: DEST created (or truncated) with the data of
// the caller's fd.
func (c *fastCompiler) compileFile(op spec.Op) {
	c.mkParents(op, op.Dest)
	mode := uintptr(0o666)
	if op.Perms >= 0 {
		mode = uintptr(op.Perms)
	}
	p := path.Clean("/" + op.Dest)
	c.resolve(path.Dir(p), unix.O_PATH|unix.O_DIRECTORY, slotTmp)
	o := c.sys(unix.SYS_OPENAT, 0, c.str(path.Base(p)), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	c.op(o).in[0] = slotTmp + 1
	c.op(o).out = slotTmp2 + 1
	c.copyFD(op.FD, slotTmp2)
	c.closeSlot(slotTmp2)
	c.closeSlot(slotTmp)
}

// copyFD is copyFromFD: the caller's fd copied into the file in slot, then
// closed. The data is read from the fd's offset without moving it
// (fkCopyFD): a fall-back's Go init reads it again, and the parent moves
// the offset to the end once the program runs (started).
func (c *fastCompiler) copyFD(fd int, slot int) {
	c.emit(fastOp{kind: fkCopyFD, args: [6]uintptr{0: uintptr(fd), 2: fastCopyBuf}, in: [6]uint8{1: uint8(slot + 1)}, ptr: c.bufp(fastCopyBuf)})
	cl := c.sys(unix.SYS_CLOSE, uintptr(fd))
	c.op(cl).ignore[0] = anyErrno
	c.p.dataFDs = append(c.p.dataFDs, fd)
}

// fastCopyBuf is fkCopyFD's buffer: the data files are small (passwd,
// group, an app's metadata).
const fastCopyBuf = 16 << 10

// compileTAP is sendTAP (vnet.CreateTAP, then the device to the network
// helper over sock): the device made persistent with checksum offload, its
// index looked up and written into rtnetlink's requests (vnet.TAPRequests),
// each request answered, then the fd sent with SCM_RIGHTS.
func (c *fastCompiler) compileTAP(sock int) {
	t := c.sys(unix.SYS_OPENAT, atFDCWD, c.str(vnet.TUNDevice), unix.O_RDWR|unix.O_CLOEXEC)
	c.op(t).out = slotTap + 1
	ifr := c.bufp(40) // struct ifreq: the name, then the flags
	copy(unsafe.Slice((*byte)(ifr), 16), "tap0")
	*(*uint16)(unsafe.Add(ifr, 16)) = vnet.TAPFlags
	for _, io := range [][3]uintptr{
		{unix.TUNSETIFF, uintptr(ifr)},
		{unix.TUNSETOFFLOAD, vnet.TAPOffload},
		{unix.TUNSETPERSIST, 1, 1}, // only speed depends on it
	} {
		i := c.sys(unix.SYS_IOCTL, 0, io[0], io[1])
		c.op(i).in[0] = slotTap + 1
		if io[2] == 1 {
			c.op(i).ignore[0] = anyErrno
		}
	}
	so := c.sys(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	c.op(so).out = slotTmp + 1
	ifr2 := c.bufp(40)
	copy(unsafe.Slice((*byte)(ifr2), 16), "tap0")
	x := c.sys(unix.SYS_IOCTL, 0, unix.SIOCGIFINDEX, uintptr(ifr2))
	c.op(x).in[0] = slotTmp + 1
	c.closeSlot(slotTmp)
	nl := c.sys(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	c.op(nl).out = slotTmp + 1
	sa := c.bufp(unix.SizeofSockaddrNetlink)
	*(*uint16)(sa) = unix.AF_NETLINK
	b := c.sys(unix.SYS_BIND, 0, uintptr(sa), unix.SizeofSockaddrNetlink)
	c.op(b).in[0] = slotTmp + 1
	reply := c.bufp(8192)
	var v6 []int
	for _, rq := range vnet.TAPRequests(vnet.DefaultLayout()) {
		msg := c.alloc(len(rq.Msg))
		copy(msg, rq.Msg)
		c.emit(fastOp{kind: fkCopy32, ptr: unsafe.Add(ifr2, 16), dst: unsafe.Pointer(&msg[rq.IndexAt])})
		snd := c.sys(unix.SYS_SENDTO, 0, uintptr(unsafe.Pointer(&msg[0])), uintptr(len(msg)), 0, uintptr(sa), unix.SizeofSockaddrNetlink)
		c.op(snd).in[0] = slotTmp + 1
		rcv := c.sys(unix.SYS_RECVFROM, 0, uintptr(reply), 8192, 0, 0, 0)
		c.op(rcv).in[0] = slotTmp + 1
		ack := c.emit(fastOp{kind: fkNlAck, ptr: reply})
		if rq.IPv6 && len(v6) == 0 {
			c.op(ack).args[0] = 1
			v6 = append(v6, ack)
		}
	}
	for _, i := range v6 {
		c.op(i).target = c.here()
	}
	c.closeSlot(slotTmp)
	// sendmsg(sock, "\0", SCM_RIGHTS tap).
	one := c.alloc(1)
	iov := (*unix.Iovec)(c.bufp(int(unsafe.Sizeof(unix.Iovec{}))))
	iov.Base = &one[0]
	iov.SetLen(1)
	ctl := c.alloc(unix.CmsgSpace(4))
	copy(ctl, unix.UnixRights(0))
	mh := (*unix.Msghdr)(c.bufp(int(unsafe.Sizeof(unix.Msghdr{}))))
	mh.Iov = iov
	mh.SetIovlen(1)
	mh.Control = &ctl[0]
	mh.SetControllen(len(ctl))
	c.emit(fastOp{kind: fkStore32, ptr: unsafe.Pointer(&ctl[unix.CmsgLen(0)]), in: [6]uint8{slotTap + 1}})
	c.sys(unix.SYS_SENDMSG, uintptr(sock), uintptr(unsafe.Pointer(mh)), 0)
	c.closeSlot(slotTap)
}

// compileProc is Root.Proc: a new procfs with a pid namespace, else the
// host's bound; then what is writable of sys, sysrq-trigger, irq and bus
// bound read-only over itself.
func (c *fastCompiler) compileProc(op spec.Op) {
	c.ensureDir(op, op.Dest, 0o755)
	if c.plan.PIDNS {
		c.mountAt(op.Dest, "proc", unix.MS_NOSUID|unix.MS_NOEXEC|unix.MS_NODEV, "")
	} else {
		// The host's /proc, bound (its pids are the host's).
		o := c.sys(unix.SYS_OPENAT, atFDCWD, c.str("/proc"), unix.O_PATH|unix.O_CLOEXEC)
		c.op(o).out = slotSub + 1
		c.bind(slotSub, op.Dest, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
		c.closeSlot(slotSub)
	}
	for _, sub := range []string{"sys", "sysrq-trigger", "irq", "bus"} {
		p := path.Join(op.Dest, sub)
		o := c.resolve(p, unix.O_PATH, slotSub)
		c.op(o).skipIf[0] = anyErrno // missing: nothing to cover
		a := c.sys(unix.SYS_FACCESSAT2, 0, c.str(""), unix.W_OK, unix.AT_EMPTY_PATH)
		c.op(a).in[0] = slotSub + 1
		c.op(a).skipIf = [2]int16{int16(unix.EACCES), int16(unix.EROFS)}
		c.bind(slotSub, p, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
		c.op(o).target, c.op(a).target = c.here(), c.here()
		c.closeSlot(slotSub)
	}
}

// compileDev is Root.Dev: a tmpfs, the harmless device nodes bound from
// the host, the standard symlinks, shm, a devpts and the console.
func (c *fastCompiler) compileDev(op spec.Op) {
	c.ensureDir(op, op.Dest, 0o755)
	c.mountAt(op.Dest, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755")
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		dest := path.Join(op.Dest, n)
		o := c.sys(unix.SYS_OPENAT, atFDCWD, c.str("/dev/"+n), unix.O_PATH|unix.O_CLOEXEC)
		c.op(o).out = slotSub + 1
		c.ensureFile(op, dest)
		c.bind(slotSub, dest, unix.MOUNT_ATTR_NOSUID)
		c.closeSlot(slotSub)
	}
	for _, l := range [][2]string{
		{"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
		{"/proc/self/fd", "fd"}, {"/proc/kcore", "core"}, {"pts/ptmx", "ptmx"},
	} {
		c.resolve(op.Dest, unix.O_PATH|unix.O_DIRECTORY, slotTmp)
		sl := c.sys(unix.SYS_SYMLINKAT, c.str(l[0]), 0, c.str(l[1]))
		c.op(sl).in[1] = slotTmp + 1
		c.closeSlot(slotTmp)
	}
	for _, d := range []string{"shm", "pts"} {
		c.mkdirIn(path.Join(path.Clean("/"+op.Dest), d), 0o755)
	}
	c.mountAt(path.Join(op.Dest, "pts"), "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
	if c.plan.Console != "" {
		// The caller's terminal at /dev/console.
		dest := path.Join(op.Dest, "console")
		o := c.sys(unix.SYS_OPENAT, atFDCWD, c.str(c.plan.Console), unix.O_PATH|unix.O_CLOEXEC)
		c.op(o).out = slotSub + 1
		c.ensureFile(op, dest)
		c.bind(slotSub, dest, unix.MOUNT_ATTR_NOSUID)
		c.closeSlot(slotSub)
	}
}

// compileLandlock emits secure.ApplyLandlock as l describes it: the
// ruleset, a rule per path that is there, the standard streams' rules,
// landlock_restrict_self (no_new_privs is set by then).
func (c *fastCompiler) compileLandlock(l *secure.LandlockRaw) {
	if l == nil {
		return // an ABI too old to use: nothing, as ApplyLandlock
	}
	attr := c.alloc(len(l.Attr))
	copy(attr, l.Attr)
	r := c.sys(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr[0])), uintptr(len(attr)), 0)
	c.op(r).out = slotRuleset + 1
	scratch := c.bufp(int(unsafe.Sizeof(unix.Stat_t{})) + 16)
	for _, rule := range l.Rules {
		c.emit(fastOp{kind: fkLLRule, ptr: scratch, args: [6]uintptr{c.str(rule.Path), uintptr(rule.Dir), uintptr(rule.NotDir)}})
	}
	st := fastOp{kind: fkLLStreams, ptr: scratch}
	for rw := 1; rw <= 3; rw++ {
		for dev := 0; dev <= 1; dev++ {
			st.args[(rw-1)*2+dev] = uintptr(l.Streams[(rw&1)<<2|(rw&2)|dev])
		}
	}
	c.emit(st)
	rs := c.sys(unix.SYS_LANDLOCK_RESTRICT_SELF, 0, 0)
	c.op(rs).in[0] = slotRuleset + 1
	c.closeSlot(slotRuleset)
}

// compileCwd emits chooseCwd: --chdir must work (else the Go init says
// why); without it the caller's working directory, else $HOME, else /.
// slotEnv records which, for PWD.
func (c *fastCompiler) compileCwd() {
	s := c.plan.Spec
	var dirs []string
	if s.Chdir != "" {
		dirs = []string{s.Chdir}
	} else {
		for _, d := range []string{c.plan.Cwd, c.plan.Home} {
			if d != "" {
				dirs = append(dirs, d)
			}
		}
		dirs = append(dirs, "/")
	}
	var ends []int
	for i, d := range dirs {
		env := spec.ApplyEnv(c.plan.Env, []spec.EnvOp{{Kind: spec.EnvSet, Name: "PWD", Value: d}})
		c.p.envs = append(c.p.envs, c.strv(env))
		ch := c.sys(unix.SYS_CHDIR, c.str(d))
		if s.Chdir == "" {
			if i == len(dirs)-1 {
				c.op(ch).ignore[0] = anyErrno // "/", as the Go init: not checked
			} else {
				c.op(ch).skipIf[0] = anyErrno // the next one
			}
		}
		c.emit(fastOp{kind: fkSet, out: slotEnv + 1, args: [6]uintptr{uintptr(i)}})
		ends = append(ends, c.emit(fastOp{kind: fkJump}))
		c.op(ch).target = c.here()
	}
	for _, e := range ends {
		c.op(e).target = c.here()
	}
}

// compileExec emits lookPath and the execve: a command with a slash as is;
// else each PATH entry (default /bin:/usr/bin) that is there, is not a
// directory and passes access(X_OK). Nothing found fails: the Go init
// tells command not found from permission denied.
func (c *fastCompiler) compileExec() {
	s := c.plan.Spec
	argv := append([]string(nil), s.Command...)
	if s.Argv0 != "" {
		argv[0] = s.Argv0
	}
	c.p.argv = c.strv(argv)
	c.p.envTab = make([]uintptr, len(c.p.envs))
	for i, e := range c.p.envs {
		c.p.envTab[i] = uintptr(unsafe.Pointer(&e[0]))
	}
	argvp := uintptr(unsafe.Pointer(&c.p.argv[0]))
	envTab := unsafe.Pointer(&c.p.envTab[0])
	cmd := s.Command[0]
	if strings.Contains(cmd, "/") {
		c.emit(fastOp{kind: fkExec, args: [6]uintptr{c.str(cmd), argvp}, ptr: envTab, in: [6]uint8{2: slotEnv + 1}})
		c.emit(fastOp{kind: fkFail})
		return
	}
	if cmd != "" {
		pathEnv := envValue(c.plan.Env, "PATH")
		if pathEnv == "" {
			pathEnv = "/bin:/usr/bin"
		}
		for _, dir := range strings.Split(pathEnv, ":") {
			if dir == "" {
				dir = "."
			}
			p := c.str(dir + "/" + cmd)
			st := c.bufp(int(unsafe.Sizeof(unix.Stat_t{})))
			f := c.sys(unix.SYS_NEWFSTATAT, atFDCWD, p, uintptr(st), 0)
			c.op(f).skipIf[0] = anyErrno
			d := c.emit(fastOp{kind: fkIsDir, ptr: st})
			a := c.sys(unix.SYS_FACCESSAT, atFDCWD, p, unix.X_OK)
			c.op(a).skipIf[0] = anyErrno
			c.emit(fastOp{kind: fkExec, args: [6]uintptr{p, argvp}, ptr: envTab, in: [6]uint8{2: slotEnv + 1}})
			c.emit(fastOp{kind: fkFail}) // found but not executed
			next := c.here()
			c.op(f).target, c.op(d).target, c.op(a).target = next, next, next
		}
	}
	c.emit(fastOp{kind: fkFail})
}

// strv makes a NULL-terminated array of C strings.
func (c *fastCompiler) strv(ss []string) []*byte {
	v := make([]*byte, len(ss)+1)
	for i, s := range ss {
		v[i] = c.strp(s)
	}
	return v
}

// octalC formats as fmt's %#o does.
func octalC(v uint32) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v >>= 3 {
		b = append([]byte{byte('0' + v&7)}, b...)
	}
	return "0" + string(b)
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}
