package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// rule is one parsed --net-allow or --net-deny text. Exactly one of three
// kinds: an address rule (prefix valid), a domain rule (domain set) or a
// port-only rule (neither: every address).
type rule struct {
	flag   string       // "--net-allow" or "--net-deny"
	text   string       // as the user wrote it, for messages
	proto  string       // "tcp", "udp", or "" for both
	prefix netip.Prefix // the addresses of an address rule
	domain string       // the name of a domain rule: lowercase, no trailing dot
	sub    bool         // domain was written "*.domain": its subdomains, not itself
	lo, hi uint16       // the port range; 0, 0 for every port
}

// String is the rule as it names itself in messages and logs.
func (r *rule) String() string { return r.flag + " " + r.text }

// key is r without the flag and text, so that the same rule written twice
// compares equal.
func (r rule) key() rule {
	r.flag, r.text = "", ""
	return r
}

// anyPort reports whether r applies to every protocol and port.
func (r *rule) anyPort() bool { return r.proto == "" && r.hi == 0 }

// matchesPort reports whether r applies to proto and port.
func (r *rule) matchesPort(proto string, port uint16) bool {
	if r.proto != "" && r.proto != proto {
		return false
	}
	return r.hi == 0 || (port >= r.lo && port <= r.hi)
}

// matchesName reports whether the normalized name is one r names.
func (r *rule) matchesName(name string) bool {
	if r.sub {
		return strings.HasSuffix(name, "."+r.domain)
	}
	return name == r.domain
}

// matches reports whether r applies to a flow to dst over proto, where names
// are the names the resolver bound to dst's address.
func (r *rule) matches(proto string, dst netip.AddrPort, names []string) bool {
	if !r.matchesPort(proto, dst.Port()) {
		return false
	}
	switch {
	case r.domain != "":
		for _, n := range names {
			if r.matchesName(n) {
				return true
			}
		}
		return false
	case r.prefix.IsValid():
		return r.prefix.Contains(dst.Addr())
	default:
		return true
	}
}

// parseRule parses one rule text; the grammar is in the package doc. Errors
// do not name the flag: the caller adds it.
func parseRule(text string) (rule, error) {
	r := rule{text: text}
	s := strings.ToLower(text)
	if s == "" {
		return r, errors.New("empty rule")
	}
	if i := strings.IndexByte(s, '/'); i > 0 && isLetters(s[:i]) {
		r.proto = s[:i]
		if r.proto != "tcp" && r.proto != "udp" {
			return r, fmt.Errorf("unknown protocol %q: want tcp/ or udp/", r.proto)
		}
		s = s[i+1:]
		if s == "" {
			return r, fmt.Errorf("nothing after %s/: want an address, a name or a port", r.proto)
		}
	}
	target, ports, err := splitPorts(s)
	if err != nil {
		return r, err
	}
	if ports != "" {
		if r.lo, r.hi, err = parsePorts(ports); err != nil {
			return r, err
		}
	}
	switch {
	case target == "":
		// A port-only rule: every address.
	case strings.Contains(target, "/"):
		r.prefix, err = parsePrefix(target)
	case strings.Contains(target, ":") || isIPv4Chars(target):
		var a netip.Addr
		if a, err = parseAddr(target); err == nil {
			r.prefix = netip.PrefixFrom(a, a.BitLen())
		}
	case target == "tcp" || target == "udp":
		err = fmt.Errorf("%s is a protocol, not a name: write %s/:1-65535 for every %s port", target, target, target)
	default:
		r.domain, r.sub, err = parseDomain(target)
	}
	return r, err
}

// splitPorts splits s into its target and its port text. Brackets enclose an
// IPv6 address or prefix that has a port; a bare target with two or more
// colons is an IPv6 address or prefix and has none; otherwise the text after
// the one colon is the port.
func splitPorts(s string) (target, ports string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", errors.New("missing ']' after IPv6 address")
		}
		target, rest := s[1:end], s[end+1:]
		if !strings.Contains(target, ":") {
			return "", "", fmt.Errorf("brackets are for IPv6 addresses: write %s without them", target)
		}
		if rest == "" {
			return target, "", nil
		}
		if rest[0] != ':' {
			return "", "", fmt.Errorf("unexpected %q after ']': want :PORT", rest)
		}
		if rest == ":" {
			return "", "", errors.New("missing port after ':'")
		}
		return target, rest[1:], nil
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", nil
	case 1:
		target, ports, _ = strings.Cut(s, ":")
		if ports == "" {
			return "", "", errors.New("missing port after ':'")
		}
		return target, ports, nil
	default:
		return s, "", nil
	}
}

// parsePorts parses "PORT" or "LOW-HIGH".
func parsePorts(s string) (lo, hi uint16, err error) {
	los, his, isRange := strings.Cut(s, "-")
	if lo, err = parsePort(los); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return lo, lo, nil
	}
	if hi, err = parsePort(his); err != nil {
		return 0, 0, err
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("port range %d-%d is backwards: write %d-%d", lo, hi, hi, lo)
	}
	return lo, hi, nil
}

func parsePort(s string) (uint16, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" || len(s) > 5 {
		return 0, fmt.Errorf("invalid port %q: want 1-65535 or LOW-HIGH", s)
	}
	n, _ := strconv.Atoi(s)
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d out of range 1-65535", n)
	}
	return uint16(n), nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, errors.New("invalid CIDR: want ADDRESS/BITS such as 10.1.2.0/24 or 2001:db8::/32")
	}
	if err := checkAddr(p.Addr()); err != nil {
		return p, err
	}
	if m := p.Masked(); m != p {
		return p, fmt.Errorf("CIDR has host bits set: did you mean %s?", m)
	}
	return p, nil
}

func parseAddr(s string) (netip.Addr, error) {
	if strings.Contains(s, "%") {
		return netip.Addr{}, errors.New("IPv6 zones (%IFACE) are not allowed")
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, fmt.Errorf("invalid IP address %q", s)
	}
	return a, checkAddr(a)
}

func checkAddr(a netip.Addr) error {
	if a.Zone() != "" {
		return errors.New("IPv6 zones (%IFACE) are not allowed")
	}
	if a.Is4In6() {
		return fmt.Errorf("IPv4-mapped address: write it as IPv4 (%s)", a.Unmap())
	}
	return nil
}

// parseDomain parses "name" or "*.name".
func parseDomain(s string) (name string, sub bool, err error) {
	if rest, ok := strings.CutPrefix(s, "*."); ok {
		s, sub = rest, true
	}
	if strings.Contains(s, "*") {
		return "", false, errors.New("invalid domain: '*' is allowed only as a whole first label, as in *.example.com")
	}
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", false, errors.New("invalid domain: empty name")
	}
	if len(s) > 253 {
		return "", false, errors.New("invalid domain: longer than 253 characters")
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if err := checkLabel(l); err != nil {
			return "", false, fmt.Errorf("invalid domain: %w", err)
		}
	}
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		return "", false, fmt.Errorf("invalid domain: last label %q is numeric (a mistyped IP address?)", last)
	}
	return s, sub, nil
}

func checkLabel(l string) error {
	switch {
	case l == "":
		return errors.New("empty label")
	case len(l) > 63:
		return fmt.Errorf("label %q is longer than 63 characters", l)
	case l[0] == '-' || l[len(l)-1] == '-':
		return fmt.Errorf("label %q starts or ends with '-'", l)
	}
	for _, c := range []byte(l) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == ',':
			return errors.New("',' in name: give one rule per flag and repeat the flag")
		case c >= 0x80:
			return fmt.Errorf("label %q is not ASCII: write internationalized names in their xn-- form", l)
		default:
			return fmt.Errorf("label %q has %q: want a-z, 0-9, '-' or '_'", l, c)
		}
	}
	return nil
}

func isLetters(s string) bool {
	for _, c := range []byte(s) {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

// isIPv4Chars reports whether s can only be meant as an IPv4 address.
func isIPv4Chars(s string) bool { return strings.Trim(s, "0123456789.") == "" }
