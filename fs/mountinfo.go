package fs

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// MountInfo is one line of /proc/PID/mountinfo (proc(5)).
type MountInfo struct {
	ID, Parent int
	Root       string
	MountPoint string
	Options    string
	FSType     string
	Source     string
	SuperOpts  string
}

// ParseMountinfo parses /proc/PID/mountinfo. Paths are unescaped (\040 is a
// space, as the kernel writes it).
func ParseMountinfo(r io.Reader) ([]MountInfo, error) {
	var out []MountInfo
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			return nil, fmt.Errorf("mountinfo: no separator in %q", line)
		}
		// The kernel separates fields with single spaces and escapes
		// spaces inside them; an empty field (a mount source of "") stays.
		f := strings.Split(pre, " ")
		g := strings.Split(post, " ")
		if len(f) < 6 || len(g) < 2 {
			return nil, fmt.Errorf("mountinfo: short line %q", line)
		}
		var m MountInfo
		if _, err := fmt.Sscanf(f[0]+" "+f[1], "%d %d", &m.ID, &m.Parent); err != nil {
			return nil, fmt.Errorf("mountinfo: bad ids in %q", line)
		}
		m.Root, m.MountPoint, m.Options = unescape(f[3]), unescape(f[4]), f[5]
		m.FSType, m.Source = g[0], unescape(g[1])
		if len(g) > 2 {
			m.SuperOpts = g[2]
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// unescape decodes the kernel's octal escapes (\040, \011, \012, \134).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOct(s[i+1]) && isOct(s[i+2]) && isOct(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOct(c byte) bool { return c >= '0' && c <= '7' }
