package secure

// The seccomp layer: the sandbox's default deny list (which --allow loosens by
// group), a small compiler from that list to classic BPF for the running
// architecture, and the parser for the raw filters bwrap's --seccomp and
// --add-seccomp-fd take. Loading is in seccomp_linux.go.
//
// The filter's shape (seccomp(2), "Pitfalls"; Documentation/userspace-api/seccomp_filter.rst):
//
//	ld arch; jeq NATIVE -> native; jeq COMPAT -> compat; ret KILL_PROCESS
//	native: ld nr; [x86_64: jge 0x40000000 -> ENOSYS]; one check per named call; ret ALLOW
//	compat: ld nr; one check per named call; ret ALLOW
//
// Each ABI has its own syscall numbers (i386's 310 is unshare, x86_64's is
// process_vm_readv), so a filter that checks numbers without checking arch
// first is bypassed by int 0x80. Argument checks compare the low 32 bits only:
// ioctl's request, clone's flags and personality's persona are 32-bit in the
// kernel, so TIOCSTI|1<<32 is TIOCSTI (the CVE-2019-10063 class of bypass).
//
// Paths that only look at arch and nr end in constant verdicts, so the
// kernel's per-syscall action cache (Linux 5.11+, seccomp_cache_prepare)
// lets allowed calls such as read and write skip the filter entirely.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/net/bpf"
)

// Group names loosened by --allow. Each lifts the rules of its group and
// nothing else; the rules without a group cannot be lifted.
const (
	GroupPtrace      = "ptrace"
	GroupUserns      = "userns"
	GroupPerf        = "perf"
	GroupKeyring     = "keyring"
	GroupBPF         = "bpf"
	GroupMount       = "mount"
	GroupIOUring     = "io_uring"
	GroupPersonality = "personality"
	GroupUserfaultfd = "userfaultfd"
)

// Groups returns every group name, sorted, for --help and validation.
func Groups() []string {
	var gs []string
	for _, r := range defaultDenyRules {
		if r.group != "" && !slices.Contains(gs, r.group) {
			gs = append(gs, r.group)
		}
	}
	slices.Sort(gs)
	return gs
}

// sysErrno is the error a refused call returns. Both values are the same on
// every architecture we compile for (asm-generic/errno-base.h, errno.h).
type sysErrno uint16

const (
	errEPERM  sysErrno = 1
	errENOSYS sysErrno = 38
)

func (e sysErrno) String() string {
	switch e {
	case errEPERM:
		return "EPERM"
	case errENOSYS:
		return "ENOSYS"
	}
	return fmt.Sprintf("errno %d", uint16(e))
}

// argMatch says when a rule applies to a call it names.
type argMatch uint8

const (
	matchAlways    argMatch = iota // whatever the arguments
	matchArgIn                     // the argument's low 32 bits equal one of the values
	matchArgNotIn                  // ... equal none of the values
	matchArgAnyBit                 // ... share a bit with the one value
)

// argValue is a constant an argument is compared with, and its name.
type argValue struct {
	name string
	v    uint32
}

// denyRule refuses calls with an errno. Rules are checked in order; the first
// that applies decides.
type denyRule struct {
	group   string // "" when --allow cannot lift it
	calls   []string
	match   argMatch
	arg     int    // argument index, for the arg matches
	argName string // what the argument is, for Describe
	values  []argValue
	errno   sysErrno
	why     string
}

// Values of the arguments the rules check. TIOCSTI and TIOCLINUX are the same
// on x86 and arm (asm-generic/ioctls.h); the flags are arch-independent.
const (
	tiocsti      = 0x5412
	tioclinux    = 0x541c
	cloneNewuser = 0x10000000
	perLinux     = 0
	personaQuery = 0xffffffff
)

// defaultDenyRules is the sandbox's default deny list. Argument-checked calls
// come first (ioctl first of all: it is frequent and cannot be cached).
var defaultDenyRules = []denyRule{
	{calls: []string{"ioctl"}, match: matchArgIn, arg: 1, argName: "request",
		values: []argValue{{"TIOCSTI", tiocsti}, {"TIOCLINUX", tioclinux}}, errno: errEPERM,
		why: "TIOCSTI pushes bytes into a terminal's input and TIOCLINUX can paste the console selection: a program could type commands into the shell that started the sandbox (CVE-2017-5226)"},
	{group: GroupUserns, calls: []string{"clone", "unshare"}, match: matchArgAnyBit, arg: 0, argName: "flags",
		values: []argValue{{"CLONE_NEWUSER", cloneNewuser}}, errno: errEPERM,
		why: "a nested user namespace makes the program root over new namespaces, which opens kernel code (netfilter, file systems, mount) that is otherwise privileged"},
	{group: GroupUserns, calls: []string{"clone3"}, errno: errENOSYS,
		why: "clone3 passes its flags in memory, out of the filter's sight; ENOSYS makes libc fall back to clone, whose flags are checked"},
	{group: GroupPersonality, calls: []string{"personality"}, match: matchArgNotIn, arg: 0, argName: "persona",
		values: []argValue{{"PER_LINUX", perLinux}, {"query", personaQuery}}, errno: errEPERM,
		why: "other personalities turn off address-space randomisation (ADDR_NO_RANDOMIZE) or make readable memory executable (READ_IMPLIES_EXEC)"},
	{group: GroupPtrace, calls: []string{"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd"}, errno: errEPERM,
		why: "read and write another process's memory or take its file descriptors; without --unshare-pid that includes the user's processes outside the sandbox"},
	{group: GroupKeyring, calls: []string{"keyctl", "add_key", "request_key"}, errno: errEPERM,
		why: "kernel keyrings are not namespaced and the session keyring is inherited: keys the user holds outside (Kerberos tickets, disk and file-system keys) would be reachable"},
	{group: GroupBPF, calls: []string{"bpf"}, errno: errEPERM,
		why: "the eBPF verifier and JIT are a large kernel attack surface; most distributions turn unprivileged BPF off for that reason"},
	{group: GroupPerf, calls: []string{"perf_event_open"}, errno: errEPERM,
		why: "performance events leak timing and kernel addresses and have a long history of privilege escalations"},
	{group: GroupUserfaultfd, calls: []string{"userfaultfd"}, errno: errEPERM,
		why: "pauses the kernel in the middle of a copy from user memory, the usual tool for winning kernel races (vm.unprivileged_userfaultfd=0 refuses it the same way)"},
	{group: GroupIOUring, calls: []string{"io_uring_setup", "io_uring_enter", "io_uring_register"}, errno: errEPERM,
		why: "io_uring performs operations in kernel workers where seccomp cannot see them, and has had many privilege escalations; enter and register are refused too, so a ring passed in from outside is useless"},
	{group: GroupMount, calls: []string{"mount", "umount", "umount2", "pivot_root", "chroot"}, errno: errEPERM,
		why: "change the sandbox's view of the file system; a program that kept CAP_SYS_ADMIN could remount a read-only bind read-write"},
	{group: GroupMount, calls: []string{"fsopen", "fsconfig", "fsmount", "fspick", "open_tree", "open_tree_attr", "move_mount", "mount_setattr"}, errno: errENOSYS,
		why: "the new mount API does the same; ENOSYS makes libmount and others fall back to mount(2), which then answers EPERM"},
	{calls: []string{"kexec_load", "kexec_file_load", "reboot"}, errno: errEPERM,
		why: "replace or stop the running kernel (in a pid namespace, reboot ends the namespace's init)"},
	{calls: []string{"init_module", "finit_module", "delete_module"}, errno: errEPERM,
		why: "load and unload kernel modules"},
	{calls: []string{"acct", "quotactl", "quotactl_fd", "swapon", "swapoff"}, errno: errEPERM,
		why: "administer the host: process accounting, disk quotas, swap"},
	{calls: []string{"syslog"}, errno: errEPERM,
		why: "reads and clears the kernel log, which shows host activity and kernel addresses"},
	{calls: []string{"iopl", "ioperm"}, errno: errEPERM,
		why: "raw access to hardware I/O ports"},
	{calls: []string{"open_by_handle_at"}, errno: errEPERM,
		why: "opens a file from a handle without a path lookup, past the sandbox's mounts (the 2014 \"shocker\" container escape); name_to_handle_at stays allowed, it only reads"},
	{calls: []string{"uselib", "nfsservctl", "lookup_dcookie", "vm86", "vm86old"}, errno: errENOSYS,
		why: "obsolete (a.out libraries, the in-kernel NFS daemon, oprofile, virtual-8086 mode); ENOSYS is what current kernels answer anyway"},
}

// Policy is a seccomp deny list: the default rules minus the groups allowed.
type Policy struct {
	rules   []denyRule // the rules in force, in order
	allowed []string   // the groups lifted, sorted
}

// DefaultPolicy is the sandbox's default deny list minus the allowed groups.
// An unknown group is an error that names it and lists the valid ones.
func DefaultPolicy(allow []string) (*Policy, error) {
	valid := Groups()
	p := &Policy{}
	for _, g := range allow {
		if !slices.Contains(valid, g) {
			return nil, fmt.Errorf("unknown seccomp group %q (valid groups: %s)", g, strings.Join(valid, ", "))
		}
		if !slices.Contains(p.allowed, g) {
			p.allowed = append(p.allowed, g)
		}
	}
	slices.Sort(p.allowed)
	for _, r := range defaultDenyRules {
		if r.group == "" || !slices.Contains(p.allowed, r.group) {
			p.rules = append(p.rules, r)
		}
	}
	return p, nil
}

// Describe renders the policy in words, one line per rule, for
// `sandbox --print-policy`. Rules lifted by --allow are listed as allowed.
func (p *Policy) Describe() string {
	var b strings.Builder
	b.WriteString("default: allow every system call no rule below names\n")
	b.WriteString("architecture: checked first; amd64 checks x86_64 and i386, arm64 checks aarch64 and arm, each with its own syscall numbers; any other architecture kills the process\n")
	b.WriteString("x32: x86_64 calls numbered 0x40000000 and up (the x32 ABI, whose numbers the rules do not list) fail with ENOSYS\n")
	for _, r := range defaultDenyRules {
		lifted := r.group != "" && slices.Contains(p.allowed, r.group)
		b.WriteString(describeRule(r, lifted))
		b.WriteByte('\n')
	}
	return b.String()
}

func describeRule(r denyRule, lifted bool) string {
	names := make([]string, len(r.calls))
	for i, c := range r.calls {
		names[i] = c + onlyOn(c)
	}
	var s strings.Builder
	if lifted {
		s.WriteString("allow ")
	} else {
		s.WriteString("refuse ")
	}
	s.WriteString(strings.Join(names, ", "))
	vals := make([]string, len(r.values))
	for i, v := range r.values {
		vals[i] = fmt.Sprintf("%s (%#x)", v.name, v.v)
	}
	switch r.match {
	case matchArgIn:
		fmt.Fprintf(&s, " when %s (low 32 bits) is %s", r.argName, strings.Join(vals, " or "))
	case matchArgNotIn:
		fmt.Fprintf(&s, " unless %s (low 32 bits) is %s", r.argName, strings.Join(vals, " or "))
	case matchArgAnyBit:
		fmt.Fprintf(&s, " when %s (low 32 bits) include %s", r.argName, strings.Join(vals, " or "))
	}
	switch {
	case lifted:
		fmt.Fprintf(&s, " [--allow %s; otherwise %s]", r.group, r.errno)
	case r.group != "":
		fmt.Fprintf(&s, " with %s [--allow %s lifts this]", r.errno, r.group)
	default:
		fmt.Fprintf(&s, " with %s [always]", r.errno)
	}
	s.WriteString(": " + r.why)
	return s.String()
}

// onlyOn names the ABIs that have call when not all of them do.
func onlyOn(call string) string {
	all := []syscallABI{abiX86_64, abiI386, abiAarch64, abiARM}
	var have []string
	for _, a := range all {
		if _, ok := a.table()[call]; ok {
			have = append(have, a.name)
		}
	}
	if len(have) == len(all) {
		return ""
	}
	return " (only " + strings.Join(have, ", ") + ")"
}

//go:generate go test -run ^TestPrebuiltFilters$ -update-prebuilt .

// DefaultFilter returns the default policy's filter (no group allowed) for
// the running architecture, compiled at build time (seccomp_prebuilt.go;
// TestPrebuiltFilters keeps it equal to what Compile makes), or nil on an
// architecture without one. Every sandbox start without --allow needs it:
// compiling it took 0.9 ms and 70 KB of allocations per start. The slice
// shares the package's array: read it, never write it.
func DefaultFilter() []bpf.RawInstruction {
	switch runtime.GOARCH {
	case "amd64":
		return prebuiltAMD64[:]
	case "arm64":
		return prebuiltARM64[:]
	}
	return nil
}

// Compile returns the filter for the running architecture, ready to load.
func (p *Policy) Compile() ([]bpf.RawInstruction, error) {
	return p.CompileFor(runtime.GOARCH)
}

// CompileFor is Compile for a given Go architecture: "amd64" or "arm64".
func (p *Policy) CompileFor(arch string) ([]bpf.RawInstruction, error) {
	if p == nil {
		return nil, errors.New("compile seccomp policy: no policy")
	}
	t, ok := filterTargets[arch]
	if !ok {
		return nil, fmt.Errorf("compile seccomp policy: no syscall table for %s (have amd64, arm64)", arch)
	}
	prog, err := compileFilter(p.rules, t)
	if err != nil {
		return nil, fmt.Errorf("compile seccomp policy for %s: %w", arch, err)
	}
	return prog, nil
}

// Kernel ABI constants (include/uapi/linux/seccomp.h, linux/filter.h).
const (
	retKillProcess = 0x80000000
	retErrno       = 0x00050000
	retAllow       = 0x7fff0000

	// Offsets in struct seccomp_data: int nr; __u32 arch; __u64
	// instruction_pointer; __u64 args[6]. A 64-bit field's low word is at
	// its offset on little-endian ABIs, which all of ours are.
	offNr         = 0
	offArch       = 4
	offArgs       = 16
	seccompDataSz = 64
	auditArchLE   = 0x40000000

	bpfMaxInsns = 4096 // BPF_MAXINSNS
)

// compileFilter turns rules into a filter for t.
func compileFilter(rules []denyRule, t filterTarget) ([]bpf.RawInstruction, error) {
	var a bpfAsm
	native, compat := a.newLabel(), a.newLabel()
	a.load(offArch)
	a.jumpIf(bpf.JumpEqual, t.native.audit, native, fallThrough)
	a.jumpIf(bpf.JumpEqual, t.compat.audit, compat, fallThrough)
	a.ret(retKillProcess)
	for _, x := range []struct {
		l asmLabel
		a syscallABI
	}{{native, t.native}, {compat, t.compat}} {
		if x.a.audit&auditArchLE == 0 {
			return nil, fmt.Errorf("%s is big-endian: argument offsets would be wrong", x.a.name)
		}
		a.bind(x.l)
		a.abiBlock(rules, x.a)
	}
	prog, err := a.assemble()
	if err != nil {
		return nil, err
	}
	if err := checkFilter(prog); err != nil {
		return nil, fmt.Errorf("compiler bug: %w", err)
	}
	return prog, nil
}

// syscallRules is one syscall number and the rules that name it, in order.
type syscallRules struct {
	nr    uint32
	rules []denyRule
}

// rulesByNumber groups rules by x's syscall numbers, in order of first mention,
// leaving out calls x does not have.
func rulesByNumber(rules []denyRule, x syscallABI) []syscallRules {
	var out []syscallRules
	for _, r := range rules {
		for _, c := range r.calls {
			nr, ok := x.table()[c]
			if !ok {
				continue
			}
			i := slices.IndexFunc(out, func(s syscallRules) bool { return s.nr == nr })
			if i < 0 {
				out = append(out, syscallRules{nr: nr})
				i = len(out) - 1
			}
			out[i].rules = append(out[i].rules, r)
		}
	}
	return out
}

// abiBlock emits the checks for one ABI. A holds nothing useful on entry;
// every path ends in a return.
func (a *bpfAsm) abiBlock(rules []denyRule, x syscallABI) {
	a.refusals = nil
	a.load(offNr)
	if x.nrLimit != 0 {
		a.jumpIf(bpf.JumpGreaterOrEqual, x.nrLimit, a.refuse(errENOSYS), fallThrough)
	}
	for _, s := range rulesByNumber(rules, x) {
		if s.rules[0].match == matchAlways {
			a.jumpIf(bpf.JumpEqual, s.nr, a.refuse(s.rules[0].errno), fallThrough)
			continue
		}
		other := a.newLabel()
		a.jumpIf(bpf.JumpEqual, s.nr, fallThrough, other)
		a.argChecks(s.rules)
		a.bind(other)
	}
	a.ret(retAllow)
	for _, r := range a.refusals {
		a.bind(r.l)
		a.ret(retErrno | uint32(r.e))
	}
}

// refusal is a shared "return errno e" at the end of an ABI block.
type refusal struct {
	e sysErrno
	l asmLabel
}

// refuse returns the label of the current block's shared refusal with e.
func (a *bpfAsm) refuse(e sysErrno) asmLabel {
	for _, r := range a.refusals {
		if r.e == e {
			return r.l
		}
	}
	a.refusals = append(a.refusals, refusal{e, a.newLabel()})
	return a.refusals[len(a.refusals)-1].l
}

// argChecks emits the body for one syscall whose number is known to match:
// each rule in order, then allow.
func (a *bpfAsm) argChecks(rules []denyRule) {
	loaded := -1
	load := func(arg int) {
		if loaded != arg {
			a.load(uint32(offArgs + 8*arg))
			loaded = arg
		}
	}
	for _, r := range rules {
		switch r.match {
		case matchAlways:
			a.ret(retErrno | uint32(r.errno))
			return
		case matchArgIn:
			load(r.arg)
			for _, v := range r.values {
				a.jumpIf(bpf.JumpEqual, v.v, a.refuse(r.errno), fallThrough)
			}
		case matchArgAnyBit:
			load(r.arg)
			a.jumpIf(bpf.JumpBitsSet, r.values[0].v, a.refuse(r.errno), fallThrough)
		case matchArgNotIn:
			load(r.arg)
			pass := a.newLabel()
			for _, v := range r.values {
				a.jumpIf(bpf.JumpEqual, v.v, pass, fallThrough)
			}
			a.ret(retErrno | uint32(r.errno))
			a.bind(pass)
		}
	}
	a.ret(retAllow)
}

// asmLabel names a position in a bpfAsm program; fallThrough is the next instruction.
type asmLabel int

const fallThrough asmLabel = -1

type asmOp uint8

const (
	asmBind   asmOp = iota // binds label jt here; not an instruction
	asmLoad                // A = seccomp_data word at k
	asmJumpIf              // if A cond k goto jt else goto jf
	asmJump                // goto jt
	asmRet                 // return k
)

type asmNode struct {
	op     asmOp
	k      uint32
	cond   bpf.JumpTest
	jt, jf asmLabel
}

// bpfAsm is a tiny assembler with forward labels. Conditional jumps reach at
// most 255 instructions; assemble rewrites farther ones through an
// unconditional jump, whose offset is 32 bits.
type bpfAsm struct {
	nodes    []asmNode
	labels   int
	refusals []refusal // the current ABI block's shared refusals
}

func (a *bpfAsm) newLabel() asmLabel { a.labels++; return asmLabel(a.labels - 1) }
func (a *bpfAsm) bind(l asmLabel)    { a.nodes = append(a.nodes, asmNode{op: asmBind, jt: l}) }
func (a *bpfAsm) load(off uint32)    { a.nodes = append(a.nodes, asmNode{op: asmLoad, k: off}) }
func (a *bpfAsm) ret(k uint32)       { a.nodes = append(a.nodes, asmNode{op: asmRet, k: k}) }
func (a *bpfAsm) jumpIf(cond bpf.JumpTest, k uint32, jt, jf asmLabel) {
	a.nodes = append(a.nodes, asmNode{op: asmJumpIf, cond: cond, k: k, jt: jt, jf: jf})
}

// assemble lays the program out, relaxing far conditional jumps until all
// fit, and encodes it.
func (a *bpfAsm) assemble() ([]bpf.RawInstruction, error) {
	for {
		at, pcs := a.layout()
		changed, err := a.relax(at, pcs)
		if err != nil {
			return nil, err
		}
		if !changed {
			return a.encode(at, pcs)
		}
	}
}

// layout returns each label's instruction index and each node's.
func (a *bpfAsm) layout() (at, pcs []int) {
	at = make([]int, a.labels)
	for i := range at {
		at[i] = -1
	}
	pcs = make([]int, len(a.nodes))
	pc := 0
	for i, n := range a.nodes {
		pcs[i] = pc
		if n.op == asmBind {
			at[n.jt] = pc
			continue
		}
		pc++
	}
	return at, pcs
}

// jumpOffset is how many instructions a jump at pc skips to reach l.
func jumpOffset(at []int, pc int, l asmLabel) (int, error) {
	if l == fallThrough {
		return 0, nil
	}
	if at[l] < 0 {
		return 0, fmt.Errorf("label %d is never bound", l)
	}
	d := at[l] - pc - 1
	if d < 0 {
		return 0, fmt.Errorf("jump at %d goes backwards to %d", pc, at[l])
	}
	return d, nil
}

// relax rewrites each conditional jump with a target beyond 255 as a short
// jump to an unconditional one placed right after it.
func (a *bpfAsm) relax(at, pcs []int) (bool, error) {
	var out []asmNode
	changed := false
	for i, n := range a.nodes {
		if n.op != asmJumpIf {
			out = append(out, n)
			continue
		}
		dt, err := jumpOffset(at, pcs[i], n.jt)
		if err != nil {
			return false, err
		}
		df, err := jumpOffset(at, pcs[i], n.jf)
		if err != nil {
			return false, err
		}
		if dt <= 255 && df <= 255 {
			out = append(out, n)
			continue
		}
		changed = true
		var tail []asmNode
		if dt > 255 {
			t := a.newLabel()
			tail = append(tail, asmNode{op: asmBind, jt: t}, asmNode{op: asmJump, jt: n.jt})
			n.jt = t
		}
		if df > 255 {
			f := a.newLabel()
			tail = append(tail, asmNode{op: asmBind, jt: f}, asmNode{op: asmJump, jt: n.jf})
			n.jf = f
		}
		if n.jt == fallThrough || n.jf == fallThrough {
			after := a.newLabel()
			tail = append(tail, asmNode{op: asmBind, jt: after})
			if n.jt == fallThrough {
				n.jt = after
			}
			if n.jf == fallThrough {
				n.jf = after
			}
		}
		out = append(out, n)
		out = append(out, tail...)
	}
	a.nodes = out
	return changed, nil
}

func (a *bpfAsm) encode(at, pcs []int) ([]bpf.RawInstruction, error) {
	var prog []bpf.RawInstruction
	for i, n := range a.nodes {
		var ins bpf.Instruction
		switch n.op {
		case asmBind:
			continue
		case asmLoad:
			ins = bpf.LoadAbsolute{Off: n.k, Size: 4}
		case asmRet:
			ins = bpf.RetConstant{Val: n.k}
		case asmJump:
			d, err := jumpOffset(at, pcs[i], n.jt)
			if err != nil {
				return nil, err
			}
			ins = bpf.Jump{Skip: uint32(d)}
		case asmJumpIf:
			dt, err := jumpOffset(at, pcs[i], n.jt)
			if err != nil {
				return nil, err
			}
			df, err := jumpOffset(at, pcs[i], n.jf)
			if err != nil {
				return nil, err
			}
			ins = bpf.JumpIf{Cond: n.cond, Val: n.k, SkipTrue: uint8(dt), SkipFalse: uint8(df)}
		}
		raw, err := ins.Assemble()
		if err != nil {
			return nil, fmt.Errorf("assemble %v: %w", ins, err)
		}
		prog = append(prog, raw)
	}
	if len(prog) > bpfMaxInsns {
		return nil, fmt.Errorf("program has %d instructions, the kernel takes at most %d", len(prog), bpfMaxInsns)
	}
	return prog, nil
}

// Classic BPF opcode parts (include/uapi/linux/bpf_common.h).
const (
	bpfLD   = 0x00
	bpfJMP  = 0x05
	bpfRET  = 0x06
	bpfW    = 0x00
	bpfABS  = 0x20
	bpfJA   = 0x00
	bpfJEQ  = 0x10
	bpfJGT  = 0x20
	bpfJGE  = 0x30
	bpfJSET = 0x40
	bpfK    = 0x00
)

// checkFilter checks what the compiler emits against the rules the kernel
// applies to a seccomp filter (sk_chk_filter, seccomp_check_filter), for the
// subset of instructions we use: word loads inside seccomp_data, forward
// jumps that stay inside the program, constant returns, and a return last.
func checkFilter(prog []bpf.RawInstruction) error {
	if len(prog) == 0 || len(prog) > bpfMaxInsns {
		return fmt.Errorf("program has %d instructions, want 1 to %d", len(prog), bpfMaxInsns)
	}
	for pc, ins := range prog {
		in := func(skip uint32) bool { return uint64(pc)+1+uint64(skip) < uint64(len(prog)) }
		switch {
		case ins.Op == bpfLD|bpfW|bpfABS:
			if ins.K%4 != 0 || ins.K >= seccompDataSz {
				return fmt.Errorf("instruction %d loads offset %d, outside seccomp_data or unaligned", pc, ins.K)
			}
		case ins.Op == bpfJMP|bpfJA:
			if !in(ins.K) {
				return fmt.Errorf("instruction %d jumps past the end", pc)
			}
		case ins.Op == bpfJMP|bpfJEQ|bpfK, ins.Op == bpfJMP|bpfJGT|bpfK,
			ins.Op == bpfJMP|bpfJGE|bpfK, ins.Op == bpfJMP|bpfJSET|bpfK:
			if !in(uint32(ins.Jt)) || !in(uint32(ins.Jf)) {
				return fmt.Errorf("instruction %d jumps past the end", pc)
			}
		case ins.Op == bpfRET|bpfK:
		default:
			return fmt.Errorf("instruction %d has opcode %#x, which the compiler never emits", pc, ins.Op)
		}
	}
	if last := prog[len(prog)-1]; last.Op != bpfRET|bpfK {
		return errors.New("program does not end with a return")
	}
	return nil
}

// ParseRawFilter turns the bytes given to --seccomp or --add-seccomp-fd (an
// array of struct sock_filter, 8 bytes each, in host byte order) into
// instructions. It does not check them: the kernel does when they are loaded.
func ParseRawFilter(b []byte) ([]bpf.RawInstruction, error) {
	// The capitalised wording is bubblewrap's, which callers may compare.
	if len(b)%8 != 0 {
		return nil, errors.New("Invalid seccomp data, must be multiple of 8")
	}
	if len(b) == 0 {
		return nil, errors.New("Invalid seccomp data, must not be empty")
	}
	prog := make([]bpf.RawInstruction, len(b)/8)
	for i := range prog {
		f := b[8*i : 8*i+8]
		prog[i] = bpf.RawInstruction{
			Op: binary.NativeEndian.Uint16(f[0:2]),
			Jt: f[2],
			Jf: f[3],
			K:  binary.NativeEndian.Uint32(f[4:8]),
		}
	}
	return prog, nil
}
