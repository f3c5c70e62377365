package userns

import (
	"fmt"
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
func Layout(inside, outside uint32, ranges []Range) []Mapping {
	maps := []Mapping{{Inside: inside, Outside: outside, Count: 1}}
	next := uint32(0) // next inside id to fill
	for _, r := range ranges {
		start, count := r.Start, r.Count
		for count > 0 && len(maps) < maxMapLines {
			if next == inside {
				next++
			}
			n := count
			if next < inside && next+n > inside {
				n = inside - next // stop below the caller's own id
			}
			if uint64(next)+uint64(n) > 1<<32-1 {
				n = uint32(1<<32 - 1 - uint64(next))
				if n == 0 {
					return maps
				}
			}
			maps = append(maps, Mapping{Inside: next, Outside: start, Count: n})
			next += n
			start += n
			count -= n
		}
	}
	return maps
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
