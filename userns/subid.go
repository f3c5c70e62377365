// Package userns plans and writes the id maps of a new user namespace: the
// caller's subordinate ranges through newuidmap/newgidmap when configured,
// else one id, as bubblewrap maps it.
package userns

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Range is a block of subordinate ids on the host.
type Range struct {
	Start, Count uint32
}

// ParseSubIDs returns the ranges of /etc/subuid or /etc/subgid content that
// belong to the user named name or to the numeric id. Lines are
// "owner:start:count"; blank lines, comments and malformed lines are skipped,
// as shadow's own parser does.
func ParseSubIDs(r io.Reader, name string, id uint32) ([]Range, error) {
	var out []Range
	idStr := strconv.FormatUint(uint64(id), 10)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 || (f[0] != name && f[0] != idStr) {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || count == 0 || start+count > 1<<32 {
			continue
		}
		out = append(out, Range{Start: uint32(start), Count: uint32(count)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read subordinate ids: %w", err)
	}
	return out, nil
}

// ParseGetsubids parses the output of shadow's getsubids(1):
// "0: alice 100000 65536" per range.
func ParseGetsubids(out string) []Range {
	var rs []Range
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || !strings.HasSuffix(f[0], ":") {
			continue
		}
		start, err1 := strconv.ParseUint(f[2], 10, 32)
		count, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil || count == 0 || start+count > 1<<32 {
			continue
		}
		rs = append(rs, Range{Start: uint32(start), Count: uint32(count)})
	}
	return rs
}

// ParsePasswdName finds the name of the user with uid id in an /etc/passwd
// ("name:password:uid:gid:gecos:home:shell"); "" when no line has it. The
// first match wins, as getpwuid's does. (os/user does the same without cgo,
// and would be linked into the binary for this one lookup.)
func ParsePasswdName(r io.Reader, id uint32) string {
	idStr := strconv.FormatUint(uint64(id), 10)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), ":", 4)
		if len(f) == 4 && f[2] == idStr && f[0] != "" && !strings.HasPrefix(f[0], "#") {
			return f[0]
		}
	}
	return ""
}
