package policy

import (
	"net/netip"
	"sync"
)

// defaultRange is one range refused by default.
type defaultRange struct {
	prefix netip.Prefix
	what   string
	// fixed ranges are refused whatever the allow rules say: through the
	// host's stack they reach the host itself.
	fixed bool
}

// String names the range as refusals report it.
func (d defaultRange) String() string {
	if d.prefix.IsSingleIP() {
		return d.what + " " + d.prefix.Addr().String()
	}
	return d.what + " " + d.prefix.String()
}

// fixedRanges are refused whatever the allow rules say. Linux connects 127/8,
// ::1 and the unspecified addresses to the local host: through the stack they
// are the host's loopback, which only the gateway address and
// --net-allow-host-loopback may open.
// Built on first use, as standardRanges are: every process of the sandbox
// links this package, and only the network helper needs them.
var fixedRanges = sync.OnceValue(func() []defaultRange {
	return []defaultRange{
		{netip.MustParsePrefix("127.0.0.0/8"), "loopback", true},
		{netip.MustParsePrefix("::1/128"), "loopback", true},
		{netip.MustParsePrefix("0.0.0.0/32"), "unspecified address", true},
		{netip.MustParsePrefix("::/128"), "unspecified address", true},
	}
})

// standardRanges are the other ranges refused by default, in the order
// refusals name them. Documentation ranges (192.0.2.0/24, 198.51.100.0/24,
// 203.0.113.0/24, 2001:db8::/32) are not here: they are routed nowhere and
// refusing them would only make examples fail.
var standardRanges = sync.OnceValue(func() []defaultRange {
	return []defaultRange{
		{netip.MustParsePrefix("169.254.0.0/16"), "link-local", false},
		{netip.MustParsePrefix("fe80::/10"), "link-local", false},
		{netip.MustParsePrefix("10.0.0.0/8"), "private range", false},
		{netip.MustParsePrefix("172.16.0.0/12"), "private range", false},
		{netip.MustParsePrefix("192.168.0.0/16"), "private range", false},
		{netip.MustParsePrefix("fc00::/7"), "private range", false},
		{netip.MustParsePrefix("fec0::/10"), "site-local (deprecated private) range", false},
		{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64 range", false},
		{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (CGNAT)", false},
		{netip.MustParsePrefix("0.0.0.0/8"), "this-network range", false},
		{netip.MustParsePrefix("224.0.0.0/4"), "multicast", false},
		{netip.MustParsePrefix("ff00::/8"), "multicast", false},
		{netip.MustParsePrefix("255.255.255.255/32"), "broadcast", false},
		{netip.MustParsePrefix("240.0.0.0/4"), "reserved range", false},
	}
})

// nat64 is the first 96 bits of the well-known NAT64 prefix 64:ff9b::/96
// (RFC 6052): a host network with a NAT64 gateway carries 64:ff9b::a.b.c.d
// to the IPv4 address a.b.c.d, so such an address is refused when its IPv4
// address is.
var nat64 = [12]byte{0x00, 0x64, 0xff, 0x9b}

const nat64Bits = 96

// embeddedIPv4 returns the IPv4 address a NAT64 address stands for.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() || a.Zone() != "" { // as netip.Prefix.Contains
		return netip.Addr{}, false
	}
	b := a.As16()
	if [12]byte(b[:12]) != nat64 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte(b[12:])), true
}

// defaultDeny returns the default range that refuses addr, given that the
// most specific address allow rule matching the flow has allowBits bits (-1
// for none). An allow rule opens a default range only if it lies within it,
// that is, has at least as many bits: --net-allow 10.99.0.0/24 opens that
// part of 10.0.0.0/8, but --net-allow 0.0.0.0/0 opens no default range.
func (p *Policy) defaultDeny(addr netip.Addr, allowBits int) (defaultRange, bool) {
	for _, d := range p.defaults {
		if d.prefix.Contains(addr) && (d.fixed || d.prefix.Bits() > allowBits) {
			return d, true
		}
	}
	if v4, ok := embeddedIPv4(addr); ok {
		// The IPv4 range a.b.c.d/n is the NAT64 range 64:ff9b::a.b.c.d/96+n.
		if d, ok := p.defaultDeny(v4, allowBits-nat64Bits); ok {
			d.what = "NAT64 of " + d.what
			return d, true
		}
	}
	return defaultRange{}, false
}

// buildDefaults returns every range refused by default: the fixed ones, the
// host's own addresses, then the standard ones.
func buildDefaults(hostAddrs []netip.Addr) []defaultRange {
	ds := append([]defaultRange(nil), fixedRanges()...)
	seen := map[netip.Addr]bool{}
	for _, a := range hostAddrs {
		a = a.Unmap().WithZone("")
		if !a.IsValid() || seen[a] {
			continue
		}
		seen[a] = true
		ds = append(ds, defaultRange{netip.PrefixFrom(a, a.BitLen()), "host address", false})
	}
	return append(ds, standardRanges()...)
}
