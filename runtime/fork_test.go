package runtime

import (
	"testing"

	"golang.org/x/net/bpf"

	"sandbox/spec"
)

// TestCanFork: init starts the program itself unless something the program
// needs is per process or would apply to the fork.
func TestCanFork(t *testing.T) {
	filter := []bpf.RawInstruction{{Op: 0x06, K: 0x7fff0000}}
	cases := []struct {
		name string
		edit func(*Plan)
		want bool
	}{
		{"plain", func(*Plan) {}, true},
		{"default seccomp and landlock", func(p *Plan) { p.Seccomp, p.Landlock = filter, true }, true},
		{"cgroup limits", func(p *Plan) { p.CgroupPayload = "/sys/fs/cgroup/x/payload" }, false},
		{"late cgroup namespace", func(p *Plan) { p.LateCgroupNS = true }, false},
		{"caller's seccomp filter", func(p *Plan) { p.UserFilters = [][]bpf.RawInstruction{filter} }, false},
		{"rlimits", func(p *Plan) { p.Spec.Limits.Rlimits = []spec.Rlimit{{Name: "nofile", Soft: 64, Hard: 64}} }, false},
	}
	for _, c := range cases {
		p := &Plan{Spec: &spec.Spec{}}
		c.edit(p)
		if got := canFork(p); got != c.want {
			t.Errorf("%s: canFork = %v, want %v", c.name, got, c.want)
		}
	}
}
