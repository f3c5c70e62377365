package spec

import (
	"reflect"
	"testing"
)

func TestCanonicalCap(t *testing.T) {
	tests := []struct {
		name   string
		strict bool
		want   string
		ok     bool
	}{
		{"CAP_KILL", true, "CAP_KILL", true},
		{"cap_kill", true, "CAP_KILL", true},
		{"Cap_Net_Admin", true, "CAP_NET_ADMIN", true},
		{"5", true, "CAP_KILL", true},
		{"0", true, "CAP_CHOWN", true},
		{"40", true, "CAP_CHECKPOINT_RESTORE", true},
		{"ALL", true, "ALL", true},
		{"all", true, "ALL", true},
		{"kill", true, "", false},
		{"kill", false, "CAP_KILL", true},
		{"net_admin", false, "CAP_NET_ADMIN", true},
		{"CAP_NOPE", false, "", false},
		{"-1", false, "", false},
		{"99", false, "", false},
		{"", false, "", false},
		{"CAP_", false, "", false},
	}
	for _, tt := range tests {
		got, ok := CanonicalCap(tt.name, tt.strict)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CanonicalCap(%q, %v) = %q, %v; want %q, %v", tt.name, tt.strict, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCapNumber(t *testing.T) {
	for n, name := range CapNames {
		if got := CapNumber(name); got != n {
			t.Errorf("CapNumber(%s) = %d, want %d", name, got, n)
		}
	}
	if got := CapNumber("ALL"); got != -1 {
		t.Errorf("CapNumber(ALL) = %d, want -1", got)
	}
	// capabilities(7): the numbers are the kernel's ABI.
	for name, n := range map[string]int{"CAP_CHOWN": 0, "CAP_KILL": 5, "CAP_NET_ADMIN": 12, "CAP_SYS_ADMIN": 21, "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40} {
		if got := CapNumber(name); got != n {
			t.Errorf("CapNumber(%s) = %d, want %d", name, got, n)
		}
	}
}

func TestApplyEnv(t *testing.T) {
	base := []string{"PATH=/bin", "HOME=/home/u", "A=1", "NOEQ"}
	tests := []struct {
		name string
		ops  []EnvOp
		want []string
	}{
		{name: "nothing", want: base},
		{name: "set new", ops: []EnvOp{{Kind: EnvSet, Name: "B", Value: "2"}}, want: []string{"PATH=/bin", "HOME=/home/u", "A=1", "NOEQ", "B=2"}},
		{name: "set existing replaces", ops: []EnvOp{{Kind: EnvSet, Name: "A", Value: "x=y"}}, want: []string{"PATH=/bin", "HOME=/home/u", "NOEQ", "A=x=y"}},
		{name: "set empty", ops: []EnvOp{{Kind: EnvSet, Name: "A", Value: ""}}, want: []string{"PATH=/bin", "HOME=/home/u", "NOEQ", "A="}},
		{name: "unset", ops: []EnvOp{{Kind: EnvUnset, Name: "HOME"}}, want: []string{"PATH=/bin", "A=1", "NOEQ"}},
		{name: "unset entry without =", ops: []EnvOp{{Kind: EnvUnset, Name: "NOEQ"}}, want: []string{"PATH=/bin", "HOME=/home/u", "A=1"}},
		{name: "unset missing", ops: []EnvOp{{Kind: EnvUnset, Name: "ZZZ"}}, want: base},
		{name: "clear", ops: []EnvOp{{Kind: EnvClear}}, want: []string{}},
		{name: "clear then set", ops: []EnvOp{{Kind: EnvClear}, {Kind: EnvSet, Name: "B", Value: "2"}}, want: []string{"B=2"}},
		{name: "set then clear", ops: []EnvOp{{Kind: EnvSet, Name: "B", Value: "2"}, {Kind: EnvClear}}, want: []string{}},
		{name: "set unset set", ops: []EnvOp{{Kind: EnvSet, Name: "B", Value: "1"}, {Kind: EnvUnset, Name: "B"}, {Kind: EnvSet, Name: "B", Value: "3"}}, want: []string{"PATH=/bin", "HOME=/home/u", "A=1", "NOEQ", "B=3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]string(nil), base...)
			got := ApplyEnv(in, tt.ops)
			if len(got) == 0 && len(tt.want) == 0 {
				got, tt.want = nil, nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ApplyEnv = %q, want %q", got, tt.want)
			}
			if !reflect.DeepEqual(in, base) {
				t.Errorf("ApplyEnv changed its input to %q", in)
			}
		})
	}
}
