package userns

import (
	"fmt"
	"sort"
	"strings"
)

// Mapping is one line of /proc/PID/uid_map or gid_map.
type Mapping struct {
	Inside, Outside, Count uint32
}

// maxMapLines is the kernel's limit on lines in an id map (since Linux 4.15).
const maxMapLines = 340

// Layout maps inside to the caller's own id outside, and fills the inside ids
// from 0 upward, skipping inside, with the subordinate ranges in order. The
// program thus sees its own id as inside, files of the caller as its own, and
// every other id up to the total of the ranges is usable (chown works).
//
// Ranges are normalised first: duplicates and overlaps merged, and the
// caller's own id removed, since the kernel refuses a map whose outside
// ranges overlap.
func Layout(inside, outside uint32, ranges []Range) []Mapping {
	maps := []Mapping{{Inside: inside, Outside: outside, Count: 1}}
	const maxID = 1<<32 - 2 // 4294967295 is (uid_t)-1, never valid
	in := uint64(inside)
	next := uint64(0) // next inside id to fill
	for _, r := range normalize(ranges, outside) {
		start, count := uint64(r.Start), uint64(r.Count)
		for count > 0 && len(maps) < maxMapLines {
			if next == in {
				next++
			}
			if next > maxID {
				return maps
			}
			n := count
			if next < in && next+n > in {
				n = in - next // stop below the caller's own id
			}
			if next+n > maxID+1 {
				n = maxID + 1 - next
			}
			maps = append(maps, Mapping{Inside: uint32(next), Outside: uint32(start), Count: uint32(n)})
			next += n
			start += n
			count -= n
		}
	}
	return maps
}

// normalize sorts and merges ranges and cuts the id own out of them.
func normalize(ranges []Range, own uint32) []Range {
	type span struct{ lo, hi uint64 } // [lo, hi)
	var spans []span
	for _, r := range ranges {
		if r.Count > 0 {
			spans = append(spans, span{uint64(r.Start), uint64(r.Start) + uint64(r.Count)})
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].lo < spans[j].lo })
	var merged []span
	for _, sp := range spans {
		if n := len(merged); n > 0 && sp.lo <= merged[n-1].hi {
			if sp.hi > merged[n-1].hi {
				merged[n-1].hi = sp.hi
			}
			continue
		}
		merged = append(merged, sp)
	}
	var out []Range
	add := func(lo, hi uint64) {
		for lo < hi {
			n := hi - lo
			if n > 1<<32-1 {
				n = 1<<32 - 1
			}
			if lo > 1<<32-1 {
				return
			}
			out = append(out, Range{Start: uint32(lo), Count: uint32(n)})
			lo += n
		}
	}
	o := uint64(own)
	for _, sp := range merged {
		if o >= sp.lo && o < sp.hi {
			add(sp.lo, o)
			add(o+1, sp.hi)
			continue
		}
		add(sp.lo, sp.hi)
	}
	return out
}

// Format renders maps as the kernel and newuidmap want them.
func Format(maps []Mapping) string {
	var b strings.Builder
	for _, m := range maps {
		fmt.Fprintf(&b, "%d %d %d\n", m.Inside, m.Outside, m.Count)
	}
	return b.String()
}

// Args renders maps as newuidmap/newgidmap arguments after the pid.
func Args(maps []Mapping) []string {
	var a []string
	for _, m := range maps {
		a = append(a, fmt.Sprint(m.Inside), fmt.Sprint(m.Outside), fmt.Sprint(m.Count))
	}
	return a
}

// Contains reports whether inside id is mapped.
func Contains(maps []Mapping, id uint32) bool {
	for _, m := range maps {
		if id >= m.Inside && uint64(id) < uint64(m.Inside)+uint64(m.Count) {
			return true
		}
	}
	return false
}
