package dns

import (
	"errors"
	"net/netip"
	"strings"
)

// Upstreams returns the servers of the nameserver lines of a resolv.conf(5)
// file's contents (its text, not its path), port 53, in file order. Lines
// whose address does not parse are skipped, as glibc skips them; none left
// is an error.
func Upstreams(resolvConf string) ([]netip.AddrPort, error) {
	var ups []netip.AddrPort
	for line := range strings.Lines(resolvConf) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil {
			continue
		}
		ups = append(ups, netip.AddrPortFrom(a.Unmap(), 53))
	}
	if len(ups) == 0 {
		if s := strings.TrimSpace(resolvConf); strings.HasPrefix(s, "/") && !strings.ContainsAny(s, " \t\n") {
			return nil, errors.New("resolv.conf: no nameserver line: Upstreams takes the file's contents, not its path")
		}
		return nil, errors.New("resolv.conf: no nameserver line with an IP address")
	}
	return ups, nil
}
