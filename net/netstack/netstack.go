// Package netstack is the default user-mode network backend: gVisor's
// netstack fed the sandbox's TAP device directly. The sandbox, alone in its
// network namespace, gets a default route to a gateway that lives in the
// parent process; every TCP connection and UDP flow it opens is checked by an
// egress policy and then re-opened from the host as an ordinary socket owned
// by the user (slirp-style NAT). A DNS address answers through a callback,
// the gateway address can stand for the host's loopback, and host ports can be
// published into the sandbox. IPv4 and IPv6 alike (see Config); a sandbox
// whose namespace has no IPv6 gets IPv4 only.
//
// Split of work: the sandbox's init process (in the new network namespace,
// with CAP_NET_ADMIN in its user namespace, before pivot_root because it
// opens the host's /dev/net/tun) calls CreateTAP and sends the fd to the
// parent over SCM_RIGHTS; the parent calls New, then Publish for each
// published port, and Close once the sandbox has exited.
//
// Lifetimes: the TAP fd holds a reference to the sandbox's network
// namespace, so the namespace (and every socket in it) outlives the sandbox
// until Close. Between New and Close the Stack runs goroutines (the TAP
// reader, which also delivers what it reads, the TAP writer, the stack's TCP
// processors, two per TCP connection and UDP flow, one per published port;
// up to maxIdleWorkers more wait to serve the next TCP connections) and owns
// host sockets; idle, it costs no CPU. The
// package itself does nothing at init; the gVisor packages it imports add
// about 1 ms, 200 small allocations and two syscalls (getpid, getrandom) to
// every start of a binary that links it, whether or not networking is used.
package netstack

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrNoTUN reports that no TAP device could be made because /dev/net/tun is
// missing or not usable by this user. Errors from CreateTAP wrap it.
var ErrNoTUN = errors.New("no usable tun/tap device")

// errRefused is what a destination that is never forwarded gets.
var errRefused = errors.New("destination not forwarded")

// Config describes the sandbox side of the virtual network. The zero value is
// not usable; start from DefaultConfig.
type Config struct {
	// MTU of the TAP device and of the stack's NIC. Default 65520.
	MTU uint32
	// SandboxIP is the sandbox's address on the TAP device. Default 10.0.2.100.
	SandboxIP netip.Addr
	// GatewayIP is the sandbox's default route, answered by the stack, and
	// the host loopback alias when HostLoopback is set. Default 10.0.2.2.
	GatewayIP netip.Addr
	// DNSIP is where UDP and TCP port 53 are answered by DNS. Default 10.0.2.3.
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

	// Decide is asked before every new outbound TCP connection and UDP flow
	// (the first packet of a 5-tuple); a non-nil error refuses it (TCP gets
	// a RST, UDP an ICMP port unreachable). dst is the address the sandbox
	// asked for. nil allows every destination that is not refused anyway
	// (see below). DNS queries to DNSIP:53 do not go through Decide: DNS is
	// their policy point.
	//
	// Decide runs on the packet path for UDP and must not block for long.
	// Loopback, unspecified, multicast and broadcast destinations, and the
	// sandbox's own subnet other than GatewayIP and DNSIP, are refused
	// before Decide is asked.
	Decide func(proto string, dst netip.AddrPort) error
	// DNS answers one DNS message (the UDP payload, or the TCP message
	// without its length prefix). nil refuses DNS.
	DNS func(query []byte) ([]byte, error)
	// HostLoopback sends connections to GatewayIP to the host's 127.0.0.1
	// and to GatewayIP6 to the host's ::1 (same port), once Decide allowed
	// them (Decide sees the gateway address as dst).
	HostLoopback bool
	// Logf receives diagnostics; nil discards them.
	Logf func(format string, args ...any)
}

// DefaultConfig returns slirp4netns's classic layout: 10.0.2.100/24 with the
// gateway at 10.0.2.2 and DNS at 10.0.2.3, MTU 65520; and the same host
// numbers in fd73:6278::/64 for IPv6.
func DefaultConfig() Config {
	return Config{
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

// Stats counts what the stack forwarded. Up is sandbox to host, down is host
// to sandbox, payload bytes only.
type Stats struct {
	TCPConns  uint64 // outbound TCP connections forwarded
	UDPFlows  uint64 // outbound UDP flows opened
	Refused   uint64 // connections and flows refused (policy or failed dial)
	Published uint64 // inbound connections and flows through published ports
	BytesUp   uint64
	BytesDown uint64
}

// validate checks the addresses belong together.
func (c *Config) validate() error {
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

// addrFamily is one address family's part of a Config, for validate.
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

// prefix is the TAP subnet.
func (c *Config) prefix() netip.Prefix {
	return netip.PrefixFrom(c.SandboxIP, c.PrefixLen).Masked()
}

// prefix6 is the TAP's IPv6 subnet (invalid without IPv6).
func (c *Config) prefix6() netip.Prefix {
	if !c.SandboxIP6.IsValid() {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(c.SandboxIP6, c.PrefixLen6).Masked()
}

// isGateway, isDNS and inSubnet: ip is a gateway address, a resolver
// address, in one of the TAP's subnets.
func (c *Config) isGateway(ip netip.Addr) bool {
	return ip == c.GatewayIP || (c.SandboxIP6.IsValid() && ip == c.GatewayIP6)
}

func (c *Config) isDNS(ip netip.Addr) bool {
	return ip == c.DNSIP || (c.SandboxIP6.IsValid() && ip == c.DNSIP6)
}

func (c *Config) inSubnet(ip netip.Addr) bool {
	return c.prefix().Contains(ip) || c.prefix6().Contains(ip)
}

func (c *Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// target says where the stack sends a flow.
type target int

const (
	toHost target = iota // dial dst from the host
	toDNS                // answer with Config.DNS
)

// route decides what happens to a new flow from the sandbox to dst: answered
// by DNS, dialled on the host at the returned address, or refused. proto is
// "tcp" or "udp".
func (c *Config) route(proto string, dst netip.AddrPort) (target, netip.AddrPort, error) {
	ip := dst.Addr()
	switch {
	case ip.Is4In6():
		// WARNING: must come first. An IPv4-mapped address is IPv4 to
		// the host's sockets (::ffff:127.0.0.1 is its loopback) but
		// never an IPv6 destination on the wire (RFC 4291 2.5.5.2):
		// only a packet the sandbox crafted carries one.
		return 0, dst, errRefused
	case c.isDNS(ip):
		if dst.Port() != 53 || c.DNS == nil {
			return 0, dst, errRefused
		}
		return toDNS, dst, nil
	case c.isGateway(ip):
		// Decide first even when the host loopback is closed: the policy
		// refuses it too, and logs the attempt.
		err := c.decide(proto, dst)
		if !c.HostLoopback {
			return 0, dst, errRefused
		}
		if err != nil {
			return 0, dst, err
		}
		lo := netip.AddrFrom4([4]byte{127, 0, 0, 1})
		if ip.Is6() {
			lo = netip.IPv6Loopback()
		}
		return toHost, netip.AddrPortFrom(lo, dst.Port()), nil
	case neverForwarded(ip), c.inSubnet(ip), dst.Port() == 0:
		// WARNING: this check stands between raw packets the sandbox
		// crafts and the host's loopback; it must come before Decide
		// and must not depend on it.
		return 0, dst, errRefused
	}
	if err := c.decide(proto, dst); err != nil {
		return 0, dst, err
	}
	return toHost, dst, nil
}

func (c *Config) decide(proto string, dst netip.AddrPort) error {
	if c.Decide == nil {
		return nil
	}
	return c.Decide(proto, dst)
}

// neverForwarded reports addresses no sandbox flow may reach on the host:
// its loopback (only the gateway with HostLoopback leads there), unspecified
// and broadcast addresses, which the kernel would treat as "this host",
// multicast, and IPv4 in IPv6 clothing.
func neverForwarded(ip netip.Addr) bool {
	return !ip.IsValid() || ip.IsLoopback() || ip.IsUnspecified() || ip.IsMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsLinkLocalMulticast() ||
		ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) ||
		(ip.Is4() && ip.As4()[0] == 0) || // 0.0.0.0/8 means "this network"
		ip.Is4In6() || ipv4Compatible.Contains(ip)
}

// ipv4Compatible is ::a.b.c.d (RFC 4291 2.5.5.1, deprecated), which a host
// with a sit tunnel would still carry as IPv4.
var ipv4Compatible = netip.MustParsePrefix("::/96")
