package secure

import (
	"testing"

	"sandbox/spec"
)

const (
	capKill          = 5
	capNetAdmin      = 12
	capSysAdmin      = 21
	capCheckpointRst = 40
)

func bit(n int) CapSet { return CapSet(1) << uint(n) }

func add(name string) spec.CapOp  { return spec.CapOp{Add: true, Name: name} }
func drop(name string) spec.CapOp { return spec.CapOp{Add: false, Name: name} }

func TestAllCaps(t *testing.T) {
	tests := []struct {
		last int
		want CapSet
	}{
		{-1, 0},
		{0, 1},
		{5, 0x3f},
		{40, 1<<41 - 1},
		{62, 1<<63 - 1},
		{63, ^CapSet(0)},
		{100, ^CapSet(0)},
	}
	for _, tt := range tests {
		if got := AllCaps(tt.last); got != tt.want {
			t.Errorf("AllCaps(%d) = %#x, want %#x", tt.last, uint64(got), uint64(tt.want))
		}
	}
}

func TestHas(t *testing.T) {
	s := bit(capKill) | bit(63)
	for n, want := range map[int]bool{0: false, capKill: true, 6: false, 63: true} {
		if got := s.Has(n); got != want {
			t.Errorf("Has(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestResolveCaps(t *testing.T) {
	const last = 40
	all := AllCaps(last)
	tests := []struct {
		name  string
		start CapSet
		ops   []spec.CapOp
		last  int
		want  CapSet
	}{
		{name: "nothing asked keeps the start", start: bit(capKill) | bit(capSysAdmin), last: last, want: bit(capKill) | bit(capSysAdmin)},
		{name: "add one", ops: []spec.CapOp{add("CAP_NET_ADMIN")}, last: last, want: bit(capNetAdmin)},
		{name: "add ALL", ops: []spec.CapOp{add(spec.CapAll)}, last: last, want: all},
		{name: "drop ALL", start: all, ops: []spec.CapOp{drop(spec.CapAll)}, last: last, want: 0},
		{name: "drop one from the start", start: all, ops: []spec.CapOp{drop("CAP_KILL")}, last: last, want: all &^ bit(capKill)},
		{name: "drop ALL then add", start: all, ops: []spec.CapOp{drop(spec.CapAll), add("CAP_KILL"), add("CAP_NET_ADMIN")}, last: last, want: bit(capKill) | bit(capNetAdmin)},
		{name: "add ALL then drop", ops: []spec.CapOp{add(spec.CapAll), drop("CAP_SYS_ADMIN")}, last: last, want: all &^ bit(capSysAdmin)},
		{name: "drop then add the same: added", ops: []spec.CapOp{drop("CAP_KILL"), add("CAP_KILL")}, last: last, want: bit(capKill)},
		{name: "add then drop the same: dropped", start: bit(capKill), ops: []spec.CapOp{add("CAP_KILL"), drop("CAP_KILL")}, last: last, want: 0},
		{name: "add ALL after drops wins", ops: []spec.CapOp{drop("CAP_KILL"), add(spec.CapAll)}, last: last, want: all},
		{name: "drop ALL after adds wins", ops: []spec.CapOp{add("CAP_KILL"), drop(spec.CapAll)}, last: last, want: 0},
		{name: "cap above last is not added", ops: []spec.CapOp{add("CAP_CHECKPOINT_RESTORE")}, last: 39, want: 0},
		{name: "cap at last is added", ops: []spec.CapOp{add("CAP_CHECKPOINT_RESTORE")}, last: 40, want: bit(capCheckpointRst)},
		{name: "ALL is masked to last", ops: []spec.CapOp{add(spec.CapAll)}, last: 37, want: AllCaps(37)},
		{name: "start is masked to last", start: ^CapSet(0), last: 37, want: AllCaps(37)},
		{name: "unknown name changes nothing", start: bit(capKill), ops: []spec.CapOp{add("CAP_NOPE"), drop("CAP_NOPE")}, last: last, want: bit(capKill)},
		{name: "old kernel: last 36", ops: []spec.CapOp{add(spec.CapAll), drop("CAP_KILL")}, last: 36, want: AllCaps(36) &^ bit(capKill)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ResolveCaps(tt.start, tt.ops, tt.last); got != tt.want {
				t.Errorf("ResolveCaps(%#x, %v, %d) = %#x, want %#x", uint64(tt.start), tt.ops, tt.last, uint64(got), uint64(tt.want))
			}
		})
	}
}

// TestResolveCapsFromParse runs caps through the bwrap command line, as the
// runtime does: bubblewrap's own example from its tests.
func TestResolveCapsFromParse(t *testing.T) {
	s, _, err := spec.Parse(spec.Bwrap, []string{"--cap-drop", "ALL", "--cap-add", "cap_net_admin", "--cap-add", "5", "true"}, spec.Options{RealUID: 0, RealGID: 0})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ResolveCaps(AllCaps(40), s.Caps, 40), bit(capNetAdmin)|bit(capKill); got != want {
		t.Errorf("ResolveCaps = %#x, want %#x", uint64(got), uint64(want))
	}
}

// TestCapNames: every name spec knows resolves to its own bit.
func TestCapNames(t *testing.T) {
	for n, name := range spec.CapNames {
		if got := ResolveCaps(0, []spec.CapOp{add(name)}, len(spec.CapNames)-1); got != bit(n) {
			t.Errorf("%s resolves to %#x, want bit %d", name, uint64(got), n)
		}
	}
}
