// Package vnet is the part of the user-mode network that needs no network
// stack: the addresses of the virtual network (Layout), the TAP device the
// sandbox's init creates in its network namespace (CreateTAP), and the
// request the parent sends to the stack's own process (Request, see
// helper.go). It imports no gVisor package, so the stages of every sandbox
// link it for free; the stack itself (package netstack) runs only in the
// network helper, a separate executable started for --net user.
package vnet

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrNoTUN reports that no TAP device could be made because /dev/net/tun is
// missing or not usable by this user. Errors from CreateTAP wrap it.
var ErrNoTUN = errors.New("no usable tun/tap device")

// Layout is the addressing of the virtual network, shared by the TAP device
// in the sandbox and the stack behind it. The zero value is not usable;
// start from DefaultLayout.
type Layout struct {
	// MTU of the TAP device and of the stack's NIC. Default 65520.
	MTU uint32
	// SandboxIP is the sandbox's address on the TAP device. Default 10.0.2.100.
	SandboxIP netip.Addr
	// GatewayIP is the sandbox's default route, answered by the stack, and
	// the host loopback alias when the host's loopback is allowed. Default
	// 10.0.2.2.
	GatewayIP netip.Addr
	// DNSIP is where UDP and TCP port 53 are answered by the stack's
	// resolver. Default 10.0.2.3.
	DNSIP netip.Addr
	// PrefixLen is the length of the TAP subnet's prefix. Default 24.
	PrefixLen int

	// SandboxIP6, GatewayIP6 and DNSIP6 are the IPv6 counterparts of
	// SandboxIP, GatewayIP and DNSIP, in one /PrefixLen6 subnet. An
	// invalid SandboxIP6 means no IPv6 (the TAP gets no IPv6 address and
	// the stack none either). Defaults fd73:6278::100, ::2 and ::3 in
	// fd73:6278::/64 ("sbx" in the RFC 4193 global ID): slirp4netns's
	// layout in a prefix of its own, not its fd00::/64, which slirp4netns,
	// pasta and QEMU user networking put hosts in, and which the sandbox
	// then could not tell from its host's own subnet.
	SandboxIP6, GatewayIP6, DNSIP6 netip.Addr
	PrefixLen6                     int
}

// DefaultLayout returns slirp4netns's classic layout: 10.0.2.100/24 with the
// gateway at 10.0.2.2 and DNS at 10.0.2.3, MTU 65520; and the same host
// numbers in fd73:6278::/64 for IPv6.
func DefaultLayout() Layout {
	return Layout{
		MTU:        65520,
		SandboxIP:  netip.AddrFrom4([4]byte{10, 0, 2, 100}),
		GatewayIP:  netip.AddrFrom4([4]byte{10, 0, 2, 2}),
		DNSIP:      netip.AddrFrom4([4]byte{10, 0, 2, 3}),
		PrefixLen:  24,
		SandboxIP6: netip.MustParseAddr("fd73:6278::100"),
		GatewayIP6: netip.MustParseAddr("fd73:6278::2"),
		DNSIP6:     netip.MustParseAddr("fd73:6278::3"),
		PrefixLen6: 64,
	}
}

// Validate checks the addresses belong together.
func (c *Layout) Validate() error {
	if c.MTU < 1280 || c.MTU > 65520 {
		return fmt.Errorf("mtu %d out of range 1280-65520", c.MTU)
	}
	v4 := addrFamily{sandbox: c.SandboxIP, gateway: c.GatewayIP, dns: c.DNSIP, plen: c.PrefixLen, min: 8, max: 30,
		ok: netip.Addr.Is4, want: "an IPv4 address"}
	if err := v4.check(); err != nil || !c.SandboxIP6.IsValid() {
		return err
	}
	v6 := addrFamily{label: "ipv6 ", sandbox: c.SandboxIP6, gateway: c.GatewayIP6, dns: c.DNSIP6, plen: c.PrefixLen6, min: 48, max: 126,
		ok: func(ip netip.Addr) bool {
			return ip.Is6() && !ip.Is4In6() && ip.Zone() == "" && ip.IsGlobalUnicast()
		}, want: "a unicast IPv6 address"}
	return v6.check()
}

// addrFamily is one address family's part of a Layout, for Validate.
type addrFamily struct {
	label                 string // prefix of the prefix-length message
	sandbox, gateway, dns netip.Addr
	plen, min, max        int
	ok                    func(netip.Addr) bool
	want                  string
}

func (f addrFamily) check() error {
	for _, a := range []struct {
		name string
		ip   netip.Addr
	}{{"sandbox", f.sandbox}, {"gateway", f.gateway}, {"dns", f.dns}} {
		if !f.ok(a.ip) {
			return fmt.Errorf("%s address %v: want %s", a.name, a.ip, f.want)
		}
	}
	if f.plen < f.min || f.plen > f.max {
		return fmt.Errorf("%sprefix length %d out of range %d-%d", f.label, f.plen, f.min, f.max)
	}
	p := netip.PrefixFrom(f.sandbox, f.plen).Masked()
	if !p.Contains(f.gateway) || !p.Contains(f.dns) {
		return fmt.Errorf("gateway %v and dns %v must be inside %v", f.gateway, f.dns, p)
	}
	if f.sandbox == f.gateway || f.sandbox == f.dns || f.gateway == f.dns {
		return fmt.Errorf("sandbox %v, gateway %v and dns %v must differ", f.sandbox, f.gateway, f.dns)
	}
	return nil
}
