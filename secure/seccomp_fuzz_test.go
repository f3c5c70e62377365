package secure

import (
	"slices"
	"testing"
)

// fuzzPolicies are the policies the fuzz test runs: the default, each group
// allowed alone, and every group allowed.
func fuzzPolicies(f *testing.F) []*Policy {
	ps := []*Policy{mustDefaultPolicy(f), mustDefaultPolicy(f, Groups()...)}
	for _, g := range Groups() {
		ps = append(ps, mustDefaultPolicy(f, g))
	}
	return ps
}

// FuzzFilter runs compiled filters on random seccomp_data and checks that
// the VM never fails, the verdict is one the policy can give, a foreign
// architecture is always killed, calls the policy always refuses are never
// allowed on the native ABI, and the verdict is the model's.
func FuzzFilter(f *testing.F) {
	policies := fuzzPolicies(f)
	goarches := []string{"amd64", "arm64"}
	vms := make(map[[2]int]filterVM)
	for i, p := range policies {
		for j, goarch := range goarches {
			vms[[2]int{i, j}] = newFilterVM(f, mustCompile(f, p, goarch))
		}
	}
	// pick steers half the inputs to a known ABI and a named call, which
	// random 32-bit values would almost never hit.
	f.Add(uint8(0), uint8(0), uint32(0), uint32(auditArchX86_64), uint64(0), uint64(0))
	f.Add(uint8(0), uint8(0), uint32(16), uint32(auditArchX86_64), uint64(0), uint64(0x5412|1<<32))
	f.Add(uint8(0), uint8(0), uint32(54), uint32(auditArchI386), uint64(1), uint64(0x541c))
	f.Add(uint8(0), uint8(0), uint32(0x40000000|250), uint32(auditArchX86_64), uint64(0), uint64(0))
	f.Add(uint8(1), uint8(0), uint32(97), uint32(auditArchAarch64), uint64(0x10000000), uint64(0))
	f.Add(uint8(1), uint8(0), uint32(3), uint32(auditArchX86_64), uint64(0), uint64(0))
	f.Add(uint8(2), uint8(0xff), uint32(0), uint32(0), uint64(0xffffffff), uint64(0))
	f.Add(uint8(0), uint8(0x0f), uint32(0), uint32(0), uint64(8), uint64(1<<63))
	f.Fuzz(func(t *testing.T, variant, pick uint8, nr, arch uint32, a0, a1 uint64) {
		pi, ai := int(variant>>1)%len(policies), int(variant&1)
		p, tg := policies[pi], filterTargets[goarches[ai]]
		if pick&1 != 0 {
			x := []syscallABI{tg.native, tg.compat}[pick>>1&1]
			arch = x.audit
			if pick&4 != 0 {
				names := sortedNames(x)
				nr = x.table()[names[int(pick>>3)%len(names)]]
			}
		}
		d := seccompData{nr: nr, arch: arch, ip: a0 ^ a1, args: [6]uint64{a0, a1, a1, a0, ^a0, ^a1}}
		got := vms[[2]int{pi, ai}].run(t, d)
		switch got {
		case vAllow, vEPERM, vENOSYS, vKill:
		default:
			t.Fatalf("%+v: verdict %#x is none of ALLOW, EPERM, ENOSYS, KILL_PROCESS", d, got)
		}
		if arch != tg.native.audit && arch != tg.compat.audit && got != vKill {
			t.Fatalf("%+v: foreign arch %#x got %s, want KILL_PROCESS", d, arch, verdictName(got))
		}
		if arch == tg.native.audit && got == vAllow {
			for _, r := range p.rules {
				for _, c := range r.calls {
					if nr2, ok := tg.native.table()[c]; ok && nr2 == nr && r.match == matchAlways {
						t.Fatalf("%+v: %s is always refused, got ALLOW", d, c)
					}
				}
			}
		}
		if want := filterModel(p.rules, tg, d); got != want {
			t.Fatalf("%+v: %s, model says %s", d, verdictName(got), verdictName(want))
		}
	})
}

func sortedNames(x syscallABI) []string {
	var names []string
	for n := range x.table() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
