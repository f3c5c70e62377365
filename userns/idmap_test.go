package userns

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

func TestLayout(t *testing.T) {
	tests := []struct {
		name            string
		inside, outside uint32
		ranges          []Range
		want            []Mapping
	}{
		{
			name:   "no ranges: one id",
			inside: 1000, outside: 1000,
			want: []Mapping{{1000, 1000, 1}},
		},
		{
			name:   "inside 0",
			inside: 0, outside: 1000,
			ranges: []Range{{100000, 65536}},
			want:   []Mapping{{0, 1000, 1}, {1, 100000, 65536}},
		},
		{
			name:   "inside 1000 splits the range around it",
			inside: 1000, outside: 1000,
			ranges: []Range{{100000, 65536}},
			want:   []Mapping{{1000, 1000, 1}, {0, 100000, 1000}, {1001, 101000, 64536}},
		},
		{
			name:   "range ends just below inside",
			inside: 1000, outside: 1000,
			ranges: []Range{{100000, 1000}},
			want:   []Mapping{{1000, 1000, 1}, {0, 100000, 1000}},
		},
		{
			name:   "range smaller than inside",
			inside: 1000, outside: 1000,
			ranges: []Range{{100000, 10}},
			want:   []Mapping{{1000, 1000, 1}, {0, 100000, 10}},
		},
		{
			name:   "inside 1 with a range of one",
			inside: 1, outside: 1000,
			ranges: []Range{{100000, 1}, {200000, 1}},
			want:   []Mapping{{1, 1000, 1}, {0, 100000, 1}, {2, 200000, 1}},
		},
		{
			name:   "several ranges in order",
			inside: 0, outside: 1000,
			ranges: []Range{{100000, 10}, {200000, 20}},
			want:   []Mapping{{0, 1000, 1}, {1, 100000, 10}, {11, 200000, 20}},
		},
		{
			name:   "several ranges, inside in the second",
			inside: 15, outside: 1000,
			ranges: []Range{{100000, 10}, {200000, 20}},
			want:   []Mapping{{15, 1000, 1}, {0, 100000, 10}, {10, 200000, 5}, {16, 200005, 15}},
		},
		{
			name:   "inside at the top of the id space",
			inside: 4294967294, outside: 1000,
			ranges: []Range{{100000, 65536}},
			want:   []Mapping{{4294967294, 1000, 1}, {0, 100000, 65536}},
		},
		{
			name:   "outside range at the top of the id space",
			inside: 0, outside: 1000,
			ranges: []Range{{4294000000, 967295}},
			want:   []Mapping{{0, 1000, 1}, {1, 4294000000, 967295}},
		},
		{
			name:   "inside ids stop at 2^32-1",
			inside: 0, outside: 0,
			ranges: []Range{{1, 4294967295}},
			want:   []Mapping{{0, 0, 1}, {1, 1, 4294967294}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Layout(tt.inside, tt.outside, tt.ranges)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Layout(%d, %d, %v)\n got %v\nwant %v", tt.inside, tt.outside, tt.ranges, got, tt.want)
			}
			checkLayout(t, tt.inside, tt.outside, tt.ranges, got, true)
		})
	}
}

func TestLayoutMaxLines(t *testing.T) {
	var ranges []Range
	for i := range 400 {
		ranges = append(ranges, Range{Start: uint32(100000 + 10*i), Count: 5})
	}
	got := Layout(1000, 1000, ranges)
	if len(got) != 340 {
		t.Errorf("Layout with 400 ranges gave %d lines, want the kernel's limit of 340", len(got))
	}
	if got[0] != (Mapping{1000, 1000, 1}) {
		t.Errorf("first line %v, want the caller's own id", got[0])
	}
	checkLayout(t, 1000, 1000, ranges, got, true)
}

// TestLayoutOverlappingInput: /etc/subuid may list the caller under both
// its name and its uid, or give a range holding the caller's own uid. The
// kernel refuses an id map whose outside ranges overlap (mappings_overlap
// in kernel/user_namespace.c), so Layout must not emit them.
func TestLayoutOverlappingInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		subuid string
	}{
		{"same range by name and by uid", "alice:100000:65536\n1000:100000:65536\n"},
		{"overlapping ranges", "alice:100000:65536\nalice:150000:65536\n"},
		{"range holding the caller's uid", "alice:500:1000\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := ParseSubIDs(strings.NewReader(tc.subuid), "alice", 1000)
			if err != nil {
				t.Fatal(err)
			}
			maps := Layout(0, 1000, rs)
			if a, b, ok := outsideOverlap(maps); ok {
				t.Fatalf("Layout emits overlapping outside ranges %v and %v for %q; newuidmap/the kernel refuse the map", a, b, tc.subuid)
			}
		})
	}
}

// TestLayoutWrap: a range large enough that next+count wraps uint32 must
// still be split around the caller's id.
func TestLayoutWrap(t *testing.T) {
	ranges := []Range{{Start: 0, Count: 1}, {Start: 1, Count: 4294967295}}
	maps := Layout(1000, 4000000000, ranges)
	n := 0
	for _, m := range maps {
		if 1000 >= uint64(m.Inside) && 1000 < uint64(m.Inside)+uint64(m.Count) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("inside id 1000 mapped %d times in %v: next+n overflows uint32 in Layout's split check", n, maps)
	}
}

func outsideOverlap(maps []Mapping) (a, b Mapping, ok bool) {
	for i := range maps {
		for j := i + 1; j < len(maps); j++ {
			x, y := maps[i], maps[j]
			if uint64(x.Outside) < uint64(y.Outside)+uint64(y.Count) && uint64(y.Outside) < uint64(x.Outside)+uint64(x.Count) {
				return x, y, true
			}
		}
	}
	return Mapping{}, Mapping{}, false
}

// checkLayout asserts what the kernel and the caller need of an id map.
// outsideDisjoint also checks the outside ranges (only meaningful when the
// input ranges are disjoint and do not hold the caller's id).
func checkLayout(t *testing.T, inside, outside uint32, ranges []Range, maps []Mapping, outsideDisjoint bool) {
	t.Helper()
	if len(maps) == 0 || len(maps) > maxMapLines {
		t.Fatalf("Layout gave %d lines, want 1..%d", len(maps), maxMapLines)
	}
	if maps[0] != (Mapping{inside, outside, 1}) {
		t.Fatalf("first line %v, want {%d %d 1}", maps[0], inside, outside)
	}
	covering := 0
	for i, m := range maps {
		if m.Count == 0 {
			t.Fatalf("line %d %v has count 0", i, m)
		}
		// The kernel refuses first+count overflowing 32 bits (map_write).
		if uint64(m.Inside)+uint64(m.Count) > 1<<32-1 || uint64(m.Outside)+uint64(m.Count) > 1<<32 {
			t.Fatalf("line %d %v leaves the 32-bit id space", i, m)
		}
		if uint64(inside) >= uint64(m.Inside) && uint64(inside) < uint64(m.Inside)+uint64(m.Count) {
			covering++
		}
		for j := i + 1; j < len(maps); j++ {
			o := maps[j]
			if uint64(m.Inside) < uint64(o.Inside)+uint64(o.Count) && uint64(o.Inside) < uint64(m.Inside)+uint64(m.Count) {
				t.Fatalf("inside ranges overlap: %v and %v in %v", m, o, maps)
			}
		}
		if i > 0 && !withinRanges(m, ranges) {
			t.Fatalf("line %d %v maps outside ids not in the subordinate ranges %v", i, m, ranges)
		}
	}
	if covering != 1 {
		t.Fatalf("caller's id %d mapped %d times in %v", inside, covering, maps)
	}
	if outsideDisjoint {
		if a, b, ok := outsideOverlap(maps); ok {
			t.Fatalf("outside ranges overlap: %v and %v", a, b)
		}
	}
}

func withinRanges(m Mapping, ranges []Range) bool {
	for _, r := range ranges {
		if m.Outside >= r.Start && uint64(m.Outside)+uint64(m.Count) <= uint64(r.Start)+uint64(r.Count) {
			return true
		}
	}
	return false
}

// FuzzLayout lays out arbitrary valid subordinate ranges (as ParseSubIDs
// returns them: count > 0, start+count <= 2^32).
func FuzzLayout(f *testing.F) {
	enc := func(rs ...Range) []byte {
		var b []byte
		for _, r := range rs {
			b = binary.LittleEndian.AppendUint32(b, r.Start)
			b = binary.LittleEndian.AppendUint32(b, r.Count)
		}
		return b
	}
	f.Add(uint32(1000), uint32(1000), enc(Range{100000, 65536}))
	f.Add(uint32(0), uint32(1000), enc(Range{100000, 65536}, Range{200000, 10}))
	f.Add(uint32(15), uint32(1000), enc(Range{100000, 10}, Range{200000, 20}))
	f.Add(uint32(4294967294), uint32(5), enc(Range{1, 4294967294}))
	f.Add(uint32(1000), uint32(0), enc(Range{1, 999}, Range{2000, 4294965296}))
	f.Fuzz(func(t *testing.T, inside, outside uint32, data []byte) {
		if inside == 1<<32-1 {
			inside-- // (uid_t)-1 is not an id
		}
		var ranges []Range
		for len(data) >= 8 {
			r := Range{Start: binary.LittleEndian.Uint32(data), Count: binary.LittleEndian.Uint32(data[4:])}
			data = data[8:]
			if r.Count == 0 || uint64(r.Start)+uint64(r.Count) > 1<<32 {
				continue
			}
			ranges = append(ranges, r)
		}
		maps := Layout(inside, outside, ranges)
		if wraps(inside, ranges) {
			return // TestLayoutWrap's bug; remove when fixed
		}
		// Overlapping input is TestLayoutOverlappingInput's bug: check
		// everything else for it.
		checkLayout(t, inside, outside, ranges, maps, inputDisjoint(outside, ranges))
	})
}

func inputDisjoint(outside uint32, ranges []Range) bool {
	for i, r := range ranges {
		if outside >= r.Start && uint64(outside) < uint64(r.Start)+uint64(r.Count) {
			return false
		}
		for _, o := range ranges[i+1:] {
			if uint64(r.Start) < uint64(o.Start)+uint64(o.Count) && uint64(o.Start) < uint64(r.Start)+uint64(r.Count) {
				return false
			}
		}
	}
	return true
}

// wraps reports whether the inside ids before the caller's id plus a
// range's count reach 2^32 (see TestLayoutWrap).
func wraps(inside uint32, ranges []Range) bool {
	var next uint64
	for _, r := range ranges {
		if next < uint64(inside) && next+uint64(r.Count) >= 1<<32 {
			return true
		}
		next += uint64(r.Count)
	}
	return false
}

func TestFormatArgs(t *testing.T) {
	maps := []Mapping{{1000, 1000, 1}, {0, 100000, 1000}, {1001, 101000, 64536}}
	if got, want := Format(maps), "1000 1000 1\n0 100000 1000\n1001 101000 64536\n"; got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	if got, want := Args(maps), []string{"1000", "1000", "1", "0", "100000", "1000", "1001", "101000", "64536"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Args = %q, want %q", got, want)
	}
	if got := Format(nil); got != "" {
		t.Errorf("Format(nil) = %q, want empty", got)
	}
	if got := Args(nil); len(got) != 0 {
		t.Errorf("Args(nil) = %q, want none", got)
	}
	big := []Mapping{{4294967294, 4294967295, 1}}
	if got, want := Format(big), "4294967294 4294967295 1\n"; got != want {
		t.Errorf("Format = %q, want %q (unsigned)", got, want)
	}
}

func TestContains(t *testing.T) {
	maps := []Mapping{{1000, 1000, 1}, {0, 100000, 1000}, {4294967290, 1, 5}}
	for id, want := range map[uint32]bool{0: true, 999: true, 1000: true, 1001: false, 4294967289: false, 4294967294: true, 4294967295: false} {
		if got := Contains(maps, id); got != want {
			t.Errorf("Contains(%d) = %v, want %v", id, got, want)
		}
	}
}
