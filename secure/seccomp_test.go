package secure

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

// Verdicts.
const (
	vAllow  = retAllow
	vEPERM  = retErrno | 1
	vENOSYS = retErrno | 38
	vKill   = retKillProcess
)

func verdictName(v uint32) string {
	switch v {
	case vAllow:
		return "ALLOW"
	case vEPERM:
		return "ERRNO(EPERM)"
	case vENOSYS:
		return "ERRNO(ENOSYS)"
	case vKill:
		return "KILL_PROCESS"
	}
	return fmt.Sprintf("%#x", v)
}

// seccompData is struct seccomp_data as the kernel fills it.
type seccompData struct {
	nr   uint32
	arch uint32
	ip   uint64
	args [6]uint64
}

// bytes lays d out for golang.org/x/net/bpf's VM. The kernel loads each
// 32-bit word in host order, the VM loads big-endian; so each word is put
// big-endian at its offset, and a 64-bit field's low word goes first, as on
// the little-endian ABIs we compile for.
func (d seccompData) bytes() []byte {
	b := make([]byte, seccompDataSz)
	put := func(off int, v uint32) { binary.BigEndian.PutUint32(b[off:], v) }
	put(offNr, d.nr)
	put(offArch, d.arch)
	put(8, uint32(d.ip))
	put(12, uint32(d.ip>>32))
	for i, a := range d.args {
		put(offArgs+8*i, uint32(a))
		put(offArgs+8*i+4, uint32(a>>32))
	}
	return b
}

// filterVM runs a compiled program.
type filterVM struct{ vm *bpf.VM }

func newFilterVM(t testing.TB, prog []bpf.RawInstruction) filterVM {
	t.Helper()
	insns, ok := bpf.Disassemble(prog)
	if !ok {
		t.Fatalf("program has instructions x/net/bpf cannot decode")
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatalf("bpf.NewVM: %v", err)
	}
	return filterVM{vm}
}

func (f filterVM) run(t testing.TB, d seccompData) uint32 {
	t.Helper()
	v, err := f.vm.Run(d.bytes())
	if err != nil {
		t.Fatalf("run filter on %+v: %v", d, err)
	}
	return uint32(v)
}

// filterModel is the policy's meaning written directly, without BPF: the compiled
// filter must agree with it on every input.
func filterModel(rules []denyRule, t filterTarget, d seccompData) uint32 {
	var x syscallABI
	switch d.arch {
	case t.native.audit:
		x = t.native
	case t.compat.audit:
		x = t.compat
	default:
		return vKill
	}
	if x.nrLimit != 0 && d.nr >= x.nrLimit {
		return vENOSYS
	}
	for _, r := range rules {
		for _, c := range r.calls {
			if nr, ok := x.table()[c]; !ok || nr != d.nr {
				continue
			}
			v := uint32(d.args[r.arg])
			var hit bool
			switch r.match {
			case matchAlways:
				hit = true
			case matchArgIn:
				hit = slices.ContainsFunc(r.values, func(a argValue) bool { return a.v == v })
			case matchArgNotIn:
				hit = !slices.ContainsFunc(r.values, func(a argValue) bool { return a.v == v })
			case matchArgAnyBit:
				hit = v&r.values[0].v != 0
			}
			if hit {
				return retErrno | uint32(r.errno)
			}
		}
	}
	return vAllow
}

func mustDefaultPolicy(t testing.TB, allow ...string) *Policy {
	t.Helper()
	p, err := DefaultPolicy(allow)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustCompile(t testing.TB, p *Policy, arch string) []bpf.RawInstruction {
	t.Helper()
	prog, err := p.CompileFor(arch)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func TestGroups(t *testing.T) {
	want := []string{GroupBPF, GroupIOUring, GroupKeyring, GroupMount, GroupPerf,
		GroupPersonality, GroupPtrace, GroupUserfaultfd, GroupUserns}
	if got := Groups(); !slices.Equal(got, want) {
		t.Errorf("Groups() = %v, want %v", got, want)
	}
	if !slices.IsSorted(Groups()) {
		t.Error("Groups() is not sorted")
	}
}

func TestDefaultPolicyUnknownGroup(t *testing.T) {
	for _, bad := range []string{"nosuch", "", "PTRACE", "all"} {
		_, err := DefaultPolicy([]string{GroupPtrace, bad})
		if err == nil {
			t.Errorf("DefaultPolicy(%q) succeeded", bad)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, fmt.Sprintf("%q", bad)) {
			t.Errorf("error %q does not name %q", msg, bad)
		}
		for _, g := range Groups() {
			if !strings.Contains(msg, g) {
				t.Errorf("error %q does not list group %s", msg, g)
			}
		}
	}
	if _, err := DefaultPolicy([]string{GroupMount, GroupMount}); err != nil {
		t.Errorf("a group given twice: %v", err)
	}
}

// TestTables checks that every call a rule names is in the tables, that the
// tables hold nothing else, and which calls each ABI lacks.
func TestTables(t *testing.T) {
	named := map[string]bool{}
	for _, r := range defaultDenyRules {
		for _, c := range r.calls {
			if named[c] {
				t.Errorf("%s is named by two rules", c)
			}
			named[c] = true
		}
	}
	missing := map[string][]string{
		"x86_64":  {"umount", "vm86", "vm86old"},
		"i386":    {"kexec_file_load"},
		"aarch64": {"ioperm", "iopl", "umount", "uselib", "vm86", "vm86old"},
		"arm":     {"ioperm", "iopl", "umount", "vm86", "vm86old"},
	}
	for _, x := range []syscallABI{abiX86_64, abiI386, abiAarch64, abiARM} {
		var lacks []string
		for c := range named {
			if _, ok := x.table()[c]; !ok {
				lacks = append(lacks, c)
			}
		}
		slices.Sort(lacks)
		if !slices.Equal(lacks, missing[x.name]) {
			t.Errorf("%s lacks %v, want %v", x.name, lacks, missing[x.name])
		}
		seen := map[uint32]string{}
		for c, nr := range x.table() {
			if !named[c] {
				t.Errorf("%s table lists %s, which no rule names", x.name, c)
			}
			if other, ok := seen[nr]; ok {
				t.Errorf("%s: %s and %s share number %d", x.name, c, other, nr)
			}
			seen[nr] = c
		}
	}
}

// Spot checks with literal numbers from the kernel's tables, independent of
// seccomp_tables.go.
func TestCompileSpotChecks(t *testing.T) {
	const (
		x86_64, i386, aarch64, arm = auditArchX86_64, auditArchI386, auditArchAarch64, auditArchARM
	)
	tests := []struct {
		name   string
		goarch string
		d      seccompData
		want   uint32
	}{
		{"x86_64 read", "amd64", seccompData{nr: 0, arch: x86_64}, vAllow},
		{"x86_64 write", "amd64", seccompData{nr: 1, arch: x86_64}, vAllow},
		{"x86_64 openat", "amd64", seccompData{nr: 257, arch: x86_64}, vAllow},
		{"x86_64 getpid", "amd64", seccompData{nr: 39, arch: x86_64}, vAllow},
		{"x86_64 execve", "amd64", seccompData{nr: 59, arch: x86_64}, vAllow},
		{"x86_64 seccomp", "amd64", seccompData{nr: 317, arch: x86_64}, vAllow},
		{"x86_64 name_to_handle_at", "amd64", seccompData{nr: 303, arch: x86_64}, vAllow},
		{"x86_64 keyctl", "amd64", seccompData{nr: 250, arch: x86_64}, vEPERM},
		{"x86_64 bpf", "amd64", seccompData{nr: 321, arch: x86_64}, vEPERM},
		{"x86_64 ptrace", "amd64", seccompData{nr: 101, arch: x86_64}, vEPERM},
		{"x86_64 process_vm_readv", "amd64", seccompData{nr: 310, arch: x86_64}, vEPERM},
		{"x86_64 clone3", "amd64", seccompData{nr: 435, arch: x86_64}, vENOSYS},
		{"x86_64 fsopen", "amd64", seccompData{nr: 430, arch: x86_64}, vENOSYS},
		{"x86_64 mount", "amd64", seccompData{nr: 165, arch: x86_64}, vEPERM},
		{"x86_64 uselib", "amd64", seccompData{nr: 134, arch: x86_64}, vENOSYS},
		{"x86_64 unshare NEWUSER", "amd64", seccompData{nr: 272, arch: x86_64, args: [6]uint64{0x10000000}}, vEPERM},
		{"x86_64 unshare NEWNS", "amd64", seccompData{nr: 272, arch: x86_64, args: [6]uint64{0x20000}}, vAllow},
		{"x86_64 clone thread", "amd64", seccompData{nr: 56, arch: x86_64, args: [6]uint64{0x3d0f00}}, vAllow},
		{"x86_64 clone NEWUSER|SIGCHLD", "amd64", seccompData{nr: 56, arch: x86_64, args: [6]uint64{0x10000011}}, vEPERM},
		{"x86_64 clone NEWUSER bit in high word", "amd64", seccompData{nr: 56, arch: x86_64, args: [6]uint64{0x10000000 << 32}}, vAllow},
		{"x86_64 personality 0", "amd64", seccompData{nr: 135, arch: x86_64}, vAllow},
		{"x86_64 personality query", "amd64", seccompData{nr: 135, arch: x86_64, args: [6]uint64{0xffffffff}}, vAllow},
		{"x86_64 personality query, 64-bit -1", "amd64", seccompData{nr: 135, arch: x86_64, args: [6]uint64{^uint64(0)}}, vAllow},
		{"x86_64 personality PER_LINUX32", "amd64", seccompData{nr: 135, arch: x86_64, args: [6]uint64{8}}, vEPERM},
		{"x86_64 personality ADDR_NO_RANDOMIZE", "amd64", seccompData{nr: 135, arch: x86_64, args: [6]uint64{0x0040000}}, vEPERM},
		{"x86_64 ioctl TCGETS", "amd64", seccompData{nr: 16, arch: x86_64, args: [6]uint64{0, 0x5401}}, vAllow},
		{"x86_64 ioctl TIOCSTI", "amd64", seccompData{nr: 16, arch: x86_64, args: [6]uint64{0, 0x5412}}, vEPERM},
		{"x86_64 ioctl TIOCSTI|1<<32", "amd64", seccompData{nr: 16, arch: x86_64, args: [6]uint64{0, 0x5412 | 1<<32}}, vEPERM},
		{"x86_64 ioctl TIOCLINUX|0xffffffff<<32", "amd64", seccompData{nr: 16, arch: x86_64, args: [6]uint64{0, 0x541c | 0xffffffff<<32}}, vEPERM},
		{"x86_64 ioctl TCGETS|1<<32", "amd64", seccompData{nr: 16, arch: x86_64, args: [6]uint64{0, 0x5401 | 1<<32}}, vAllow},
		{"x86_64 ioctl fd=TIOCSTI", "amd64", seccompData{nr: 16, arch: x86_64, args: [6]uint64{0x5412, 0x5401}}, vAllow},
		{"x32 read", "amd64", seccompData{nr: 0x40000000, arch: x86_64}, vENOSYS},
		{"x32 keyctl", "amd64", seccompData{nr: 0x40000000 | 250, arch: x86_64}, vENOSYS},
		{"x86_64 nr -1", "amd64", seccompData{nr: 0xffffffff, arch: x86_64}, vENOSYS},
		{"x86_64 nr 0x3fffffff", "amd64", seccompData{nr: 0x3fffffff, arch: x86_64}, vAllow},
		{"i386 read", "amd64", seccompData{nr: 3, arch: i386}, vAllow},
		{"i386 getpid", "amd64", seccompData{nr: 20, arch: i386}, vAllow},
		{"i386 keyctl", "amd64", seccompData{nr: 288, arch: i386}, vEPERM},
		{"i386 unshare NEWUSER", "amd64", seccompData{nr: 310, arch: i386, args: [6]uint64{0x10000000}}, vEPERM},
		{"i386 clone NEWUSER", "amd64", seccompData{nr: 120, arch: i386, args: [6]uint64{0x10000011}}, vEPERM},
		{"i386 clone plain", "amd64", seccompData{nr: 120, arch: i386, args: [6]uint64{0x11}}, vAllow},
		{"i386 clone3", "amd64", seccompData{nr: 435, arch: i386}, vENOSYS},
		{"i386 ioctl TIOCSTI", "amd64", seccompData{nr: 54, arch: i386, args: [6]uint64{0, 0x5412}}, vEPERM},
		{"i386 ioctl TCGETS", "amd64", seccompData{nr: 54, arch: i386, args: [6]uint64{0, 0x5401}}, vAllow},
		{"i386 vm86", "amd64", seccompData{nr: 166, arch: i386}, vENOSYS},
		{"i386 umount", "amd64", seccompData{nr: 22, arch: i386}, vEPERM},
		{"i386 has no x32 limit", "amd64", seccompData{nr: 0x40000003, arch: i386}, vAllow},
		{"i386 272 is fadvise64_64, not unshare", "amd64", seccompData{nr: 272, arch: i386, args: [6]uint64{0x10000000}}, vAllow},
		{"aarch64 under amd64 killed", "amd64", seccompData{nr: 0, arch: aarch64}, vKill},
		{"arm under amd64 killed", "amd64", seccompData{nr: 0, arch: arm}, vKill},
		{"arch 0 killed", "amd64", seccompData{nr: 0, arch: 0}, vKill},
		{"x86_64 without 64-bit flag killed", "amd64", seccompData{nr: 0, arch: 0x4000003e}, vKill},
		{"aarch64 read", "arm64", seccompData{nr: 63, arch: aarch64}, vAllow},
		{"aarch64 keyctl", "arm64", seccompData{nr: 219, arch: aarch64}, vEPERM},
		{"aarch64 unshare NEWUSER", "arm64", seccompData{nr: 97, arch: aarch64, args: [6]uint64{0x10000000}}, vEPERM},
		{"aarch64 clone3", "arm64", seccompData{nr: 435, arch: aarch64}, vENOSYS},
		{"aarch64 ioctl TIOCSTI|1<<32", "arm64", seccompData{nr: 29, arch: aarch64, args: [6]uint64{1, 0x5412 | 1<<32}}, vEPERM},
		{"aarch64 has no x32 limit", "arm64", seccompData{nr: 0x40000000, arch: aarch64}, vAllow},
		{"arm keyctl", "arm64", seccompData{nr: 311, arch: arm}, vEPERM},
		{"arm unshare NEWUSER", "arm64", seccompData{nr: 337, arch: arm, args: [6]uint64{0x10000000}}, vEPERM},
		{"arm read", "arm64", seccompData{nr: 3, arch: arm}, vAllow},
		{"x86_64 under arm64 killed", "arm64", seccompData{nr: 0, arch: x86_64}, vKill},
		{"i386 under arm64 killed", "arm64", seccompData{nr: 3, arch: i386}, vKill},
	}
	p := mustDefaultPolicy(t)
	vms := map[string]filterVM{
		"amd64": newFilterVM(t, mustCompile(t, p, "amd64")),
		"arm64": newFilterVM(t, mustCompile(t, p, "arm64")),
	}
	for _, tt := range tests {
		if got := vms[tt.goarch].run(t, tt.d); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, verdictName(got), verdictName(tt.want))
		}
	}
}

// callProbe is a call with arguments that make its rule apply.
type callProbe struct {
	call string
	d    seccompData
}

// triggers returns, for every call in rules present in x, arguments that
// make the rule refuse it.
func triggers(rules []denyRule, x syscallABI) []callProbe {
	var ps []callProbe
	for _, r := range rules {
		for _, c := range r.calls {
			nr, ok := x.table()[c]
			if !ok {
				continue
			}
			var arg uint64
			switch r.match {
			case matchArgIn, matchArgAnyBit:
				arg = uint64(r.values[len(r.values)-1].v) | 0xdead<<32
			case matchArgNotIn:
				arg = 8 // PER_LINUX32
			}
			d := seccompData{nr: nr, arch: x.audit}
			d.args[r.arg] = arg
			ps = append(ps, callProbe{c, d})
		}
	}
	return ps
}

// TestEveryRuleOnEveryABI runs each rule's trigger on each ABI and wants
// the rule's errno.
func TestEveryRuleOnEveryABI(t *testing.T) {
	p := mustDefaultPolicy(t)
	for goarch, tg := range filterTargets {
		vm := newFilterVM(t, mustCompile(t, p, goarch))
		for _, x := range []syscallABI{tg.native, tg.compat} {
			n := 0
			for _, r := range defaultDenyRules {
				for _, pr := range triggers([]denyRule{r}, x) {
					n++
					want := retErrno | uint32(r.errno)
					if got := vm.run(t, pr.d); got != want {
						t.Errorf("%s %s: %s, want %s", x.name, pr.call, verdictName(got), verdictName(want))
					}
				}
			}
			if n < 40 {
				t.Errorf("%s: only %d calls checked", x.name, n)
			}
		}
	}
}

// TestAllowGroup checks that each --allow group lifts exactly its own calls:
// the verdicts that change between the default policy and the loosened one
// are those of the group's calls, on every ABI.
func TestAllowGroup(t *testing.T) {
	base := mustDefaultPolicy(t)
	for _, g := range Groups() {
		loose := mustDefaultPolicy(t, g)
		var want []string
		for _, r := range defaultDenyRules {
			if r.group == g {
				want = append(want, r.calls...)
			}
		}
		for goarch, tg := range filterTargets {
			bvm := newFilterVM(t, mustCompile(t, base, goarch))
			lvm := newFilterVM(t, mustCompile(t, loose, goarch))
			for _, x := range []syscallABI{tg.native, tg.compat} {
				for _, pr := range triggers(defaultDenyRules, x) {
					b, l := bvm.run(t, pr.d), lvm.run(t, pr.d)
					lifted := slices.Contains(want, pr.call)
					switch {
					case lifted && l != vAllow:
						t.Errorf("--allow %s: %s %s is %s, want ALLOW", g, x.name, pr.call, verdictName(l))
					case !lifted && l != b:
						t.Errorf("--allow %s: %s %s changed from %s to %s", g, x.name, pr.call, verdictName(b), verdictName(l))
					}
				}
			}
		}
	}
}

func TestAllowEveryGroup(t *testing.T) {
	p := mustDefaultPolicy(t, Groups()...)
	for goarch, tg := range filterTargets {
		vm := newFilterVM(t, mustCompile(t, p, goarch))
		for _, x := range []syscallABI{tg.native, tg.compat} {
			for _, pr := range triggers(defaultDenyRules, x) {
				got := vm.run(t, pr.d)
				if want := filterModel(p.rules, tg, pr.d); got != want {
					t.Errorf("all groups allowed: %s %s is %s, want %s", x.name, pr.call, verdictName(got), verdictName(want))
				}
			}
		}
	}
}

func TestDescribe(t *testing.T) {
	d := mustDefaultPolicy(t).Describe()
	lines := strings.Split(strings.TrimSuffix(d, "\n"), "\n")
	if want := len(defaultDenyRules) + 3; len(lines) != want {
		t.Errorf("Describe has %d lines, want %d (one per rule plus default, architecture, x32):\n%s", len(lines), want, d)
	}
	for _, word := range []string{"x86_64", "i386", "aarch64", "arm", "kills the process", "0x40000000", "ENOSYS"} {
		if !strings.Contains(d, word) {
			t.Errorf("Describe does not mention %q", word)
		}
	}
	for i, r := range defaultDenyRules {
		line := lines[i+3]
		if !strings.HasPrefix(line, "refuse ") {
			t.Errorf("default policy line %q does not start with refuse", line)
		}
		for _, c := range r.calls {
			if !strings.Contains(line, c) {
				t.Errorf("line %q does not name %s", line, c)
			}
		}
		for _, v := range r.values {
			if !strings.Contains(line, v.name) || !strings.Contains(line, fmt.Sprintf("%#x", v.v)) {
				t.Errorf("line %q does not name %s (%#x)", line, v.name, v.v)
			}
		}
		if !strings.Contains(line, r.errno.String()) {
			t.Errorf("line %q does not say %s", line, r.errno)
		}
		if r.group != "" && !strings.Contains(line, "--allow "+r.group) {
			t.Errorf("line %q does not say --allow %s", line, r.group)
		}
	}
	loose := mustDefaultPolicy(t, GroupPtrace).Describe()
	for _, line := range strings.Split(loose, "\n") {
		if strings.Contains(line, "process_vm_readv") && !strings.HasPrefix(line, "allow ") {
			t.Errorf("with --allow ptrace: %q", line)
		}
		if strings.Contains(line, "keyctl") && !strings.HasPrefix(line, "refuse ") {
			t.Errorf("with --allow ptrace: %q", line)
		}
	}
	if !strings.Contains(d, "vm86 (only i386)") || !strings.Contains(d, "kexec_file_load (only x86_64, aarch64, arm)") {
		t.Errorf("Describe does not say which ABIs lack a call:\n%s", d)
	}
}

func TestProgramShape(t *testing.T) {
	for _, allow := range [][]string{nil, Groups()} {
		p := mustDefaultPolicy(t, allow...)
		for _, goarch := range []string{"amd64", "arm64"} {
			prog := mustCompile(t, p, goarch)
			if err := checkFilter(prog); err != nil {
				t.Errorf("%s: %v", goarch, err)
			}
			if len(prog) > 200 {
				t.Errorf("%s: %d instructions; the policy grew, is that intended?", goarch, len(prog))
			}
			t.Logf("%s, allow %v: %d instructions", goarch, allow, len(prog))
			again := mustCompile(t, p, goarch)
			if !slices.Equal(prog, again) {
				t.Errorf("%s: two compilations differ", goarch)
			}
		}
	}
}

func TestCompileForUnknownArch(t *testing.T) {
	for _, arch := range []string{"386", "arm", "riscv64", ""} {
		if _, err := mustDefaultPolicy(t).CompileFor(arch); err == nil {
			t.Errorf("CompileFor(%q) succeeded", arch)
		}
	}
	var nilPolicy *Policy
	if _, err := nilPolicy.CompileFor("amd64"); err == nil {
		t.Error("nil policy compiled")
	}
}

// constAllow follows prog the way the kernel's seccomp_is_const_allow does
// when it fills the per-syscall action cache: it knows nr and arch only, and
// gives up on any other load. It reports whether the verdict is a constant
// ALLOW, that is whether the kernel will skip the filter for this call.
func constAllow(prog []bpf.RawInstruction, arch, nr uint32) bool {
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		ins := prog[pc]
		switch ins.Op {
		case bpfLD | bpfW | bpfABS:
			switch ins.K {
			case offNr:
				a = nr
			case offArch:
				a = arch
			default:
				return false
			}
		case bpfRET | bpfK:
			return ins.K == retAllow
		case bpfJMP | bpfJA:
			pc += int(ins.K)
		case bpfJMP | bpfJEQ | bpfK, bpfJMP | bpfJGE | bpfK, bpfJMP | bpfJGT | bpfK, bpfJMP | bpfJSET | bpfK:
			var ok bool
			switch ins.Op &^ bpfJMP {
			case bpfJEQ:
				ok = a == ins.K
			case bpfJGE:
				ok = a >= ins.K
			case bpfJGT:
				ok = a > ins.K
			case bpfJSET:
				ok = a&ins.K != 0
			}
			if ok {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		default:
			return false
		}
	}
	return false
}

func TestAllowedCallsAreCacheable(t *testing.T) {
	p := mustDefaultPolicy(t)
	cases := []struct {
		goarch string
		x      syscallABI
		nrs    []uint32 // read, write, openat, getpid, futex
	}{
		{"amd64", abiX86_64, []uint32{0, 1, 257, 39, 202}},
		{"amd64", abiI386, []uint32{3, 4, 295, 20, 240}},
		{"arm64", abiAarch64, []uint32{63, 64, 56, 172, 98}},
		{"arm64", abiARM, []uint32{3, 4, 322, 20, 240}},
	}
	for _, c := range cases {
		prog := mustCompile(t, p, c.goarch)
		for _, nr := range c.nrs {
			if !constAllow(prog, c.x.audit, nr) {
				t.Errorf("%s %d: not a constant ALLOW, the kernel would run the filter on every call", c.x.name, nr)
			}
		}
		if nr := c.x.table()["ioctl"]; constAllow(prog, c.x.audit, nr) {
			t.Errorf("%s ioctl: constant ALLOW, the TIOCSTI check is missing", c.x.name)
		}
	}
}

// TestFarJumps compiles a policy too big for 8-bit jump offsets, which the
// assembler must route through long jumps, and checks it against the model.
func TestFarJumps(t *testing.T) {
	table := map[string]uint32{}
	var rules []denyRule
	for i := range 400 {
		name := fmt.Sprintf("call%d", i)
		table[name] = uint32(1000 + 3*i)
		r := denyRule{calls: []string{name}, errno: errEPERM}
		switch i % 4 {
		case 1:
			r.match, r.arg, r.values = matchArgIn, i%6, []argValue{{"a", uint32(i)}, {"b", 7}}
		case 2:
			r.match, r.arg, r.values, r.errno = matchArgNotIn, 2, []argValue{{"a", 0}}, errENOSYS
		case 3:
			r.match, r.arg, r.values = matchArgAnyBit, 1, []argValue{{"bit", 1 << (i % 32)}}
		}
		rules = append(rules, r)
	}
	tg := filterTarget{
		native: syscallABI{name: "big", audit: auditArchX86_64, nrLimit: x32SyscallBit, table: func() map[string]uint32 { return table }},
		compat: syscallABI{name: "small", audit: auditArchI386, table: func() map[string]uint32 { return map[string]uint32{"call1": 5, "call2": 6} }},
	}
	prog, err := compileFilter(rules, tg)
	if err != nil {
		t.Fatal(err)
	}
	far := false
	for _, ins := range prog {
		if ins.Op == bpfJMP|bpfJA && ins.K > 255 {
			far = true
		}
	}
	if !far {
		t.Fatalf("no long jump in a %d-instruction program; the test does not test relaxation", len(prog))
	}
	vm := newFilterVM(t, prog)
	check := func(d seccompData) {
		if got, want := vm.run(t, d), filterModel(rules, tg, d); got != want {
			t.Fatalf("%+v: %s, want %s", d, verdictName(got), verdictName(want))
		}
	}
	for i := range 400 {
		nr := uint32(1000 + 3*i)
		for _, args := range [][6]uint64{{}, {uint64(i), uint64(i), uint64(i), uint64(i), uint64(i), uint64(i)}, {7, 7, 7, 7, 7, 7}, {^uint64(0), ^uint64(0), ^uint64(0)}} {
			check(seccompData{nr: nr, arch: auditArchX86_64, args: args})
			check(seccompData{nr: nr + 1, arch: auditArchX86_64, args: args})
		}
	}
	for _, nr := range []uint32{5, 6, 7, 1000} {
		check(seccompData{nr: nr, arch: auditArchI386, args: [6]uint64{1, 2, 3}})
	}
	check(seccompData{nr: 0x40000000, arch: auditArchX86_64})
	check(seccompData{nr: 1000, arch: 1})
}

func TestAssembleErrors(t *testing.T) {
	var a bpfAsm
	l := a.newLabel()
	a.jumpIf(bpf.JumpEqual, 1, l, fallThrough)
	a.ret(0)
	if _, err := a.assemble(); err == nil || !strings.Contains(err.Error(), "never bound") {
		t.Errorf("unbound label: %v", err)
	}
	var b bpfAsm
	back := b.newLabel()
	b.bind(back)
	b.load(0)
	b.jumpIf(bpf.JumpEqual, 1, back, fallThrough)
	b.ret(0)
	if _, err := b.assemble(); err == nil || !strings.Contains(err.Error(), "backwards") {
		t.Errorf("backward jump: %v", err)
	}
	var c bpfAsm
	for range bpfMaxInsns + 1 {
		c.ret(0)
	}
	if _, err := c.assemble(); err == nil {
		t.Error("a program over 4096 instructions assembled")
	}
}

func TestCheckProgram(t *testing.T) {
	ret := bpf.RawInstruction{Op: bpfRET | bpfK, K: retAllow}
	tests := []struct {
		name string
		prog []bpf.RawInstruction
		ok   bool
	}{
		{"return", []bpf.RawInstruction{ret}, true},
		{"empty", nil, false},
		{"load args[5] high word", []bpf.RawInstruction{{Op: bpfLD | bpfW | bpfABS, K: 60}, ret}, true},
		{"load past seccomp_data", []bpf.RawInstruction{{Op: bpfLD | bpfW | bpfABS, K: 64}, ret}, false},
		{"unaligned load", []bpf.RawInstruction{{Op: bpfLD | bpfW | bpfABS, K: 2}, ret}, false},
		{"jump past end", []bpf.RawInstruction{{Op: bpfJMP | bpfJEQ | bpfK, Jt: 1}, ret}, false},
		{"long jump past end", []bpf.RawInstruction{{Op: bpfJMP | bpfJA, K: 1}, ret}, false},
		{"no return last", []bpf.RawInstruction{ret, {Op: bpfLD | bpfW | bpfABS}}, false},
		{"ALU", []bpf.RawInstruction{{Op: 0x04}, ret}, false},
	}
	for _, tt := range tests {
		if err := checkFilter(tt.prog); (err == nil) != tt.ok {
			t.Errorf("%s: checkProgram = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestParseRawFilter(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    int
		wantErr string
	}{
		{"empty", nil, 0, "Invalid seccomp data, must not be empty"},
		{"seven bytes", make([]byte, 7), 0, "Invalid seccomp data, must be multiple of 8"},
		{"nine bytes", make([]byte, 9), 0, "Invalid seccomp data, must be multiple of 8"},
		{"one instruction", make([]byte, 8), 1, ""},
		{"three instructions", make([]byte, 24), 3, ""},
	}
	for _, tt := range tests {
		got, err := ParseRawFilter(tt.in)
		if tt.wantErr != "" {
			// bubblewrap's exact wording is the contract here.
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(got) != tt.want {
			t.Errorf("%s: %d instructions, %v; want %d", tt.name, len(got), err, tt.want)
		}
	}

	// A compiled program written as struct sock_filter in host order reads
	// back the same.
	prog := mustCompile(t, mustDefaultPolicy(t), "amd64")
	raw := make([]byte, 0, 8*len(prog))
	for _, ins := range prog {
		raw = binary.NativeEndian.AppendUint16(raw, ins.Op)
		raw = append(raw, ins.Jt, ins.Jf)
		raw = binary.NativeEndian.AppendUint32(raw, ins.K)
	}
	back, err := ParseRawFilter(raw)
	if err != nil || !slices.Equal(back, prog) {
		t.Errorf("round trip: %v, equal %v", err, slices.Equal(back, prog))
	}
	// Field order: code (2 bytes), jt, jf, k (4 bytes).
	one := binary.NativeEndian.AppendUint16(nil, 0x15)
	one = append(one, 3, 4)
	one = binary.NativeEndian.AppendUint32(one, 0xc000003e)
	got, err := ParseRawFilter(one)
	if err != nil || got[0] != (bpf.RawInstruction{Op: 0x15, Jt: 3, Jf: 4, K: 0xc000003e}) {
		t.Errorf("decode one instruction: %+v, %v", got, err)
	}
}
