// Package netstack is the default user-mode network backend: gVisor's
// netstack fed the sandbox's TAP device directly. The sandbox, alone in its
// network namespace, gets a default route to a gateway that lives in the
// network helper's process; every TCP connection and UDP flow it opens is
// checked by an egress policy and then re-opened from the host as an
// ordinary socket owned by the user (slirp-style NAT). A DNS address answers
// through a callback, the gateway address can stand for the host's loopback,
// and host ports can be published into the sandbox. IPv4 and IPv6 alike (see
// Config); a sandbox whose namespace has no IPv6 gets IPv4 only.
//
// Split of work: the sandbox's init process (in the new network namespace,
// with CAP_NET_ADMIN in its user namespace, before pivot_root because it
// opens the host's /dev/net/tun) calls vnet.CreateTAP and sends the fd over
// SCM_RIGHTS to the network helper (./cmd/sandbox-net), which calls New,
// then Publish for each published port; the parent kills the helper once the
// sandbox has exited. Only the helper links this package: its gVisor
// packages cost about 3 ms and 100 page faults at the start of every process
// that links them (measured), networking or not.
//
// Lifetimes: the TAP fd holds a reference to the sandbox's network
// namespace, so the namespace (and every socket in it) outlives the sandbox
// until Close. Between New and Close the Stack runs goroutines (the TAP
// reader, which also delivers what it reads, the TAP writer, the stack's TCP
// processors, two per TCP connection and UDP flow, one per published port;
// up to maxIdleWorkers more wait to serve the next TCP connections) and owns
// host sockets; idle, it costs no CPU. The package itself does nothing at
// init.
package netstack

import (
	"errors"
	"net/netip"

	"sandbox/net/vnet"
)

// errRefused is what a destination that is never forwarded gets.
var errRefused = errors.New("destination not forwarded")

// Config describes the sandbox side of the virtual network: its addresses
// (vnet.Layout, whose fields it promotes) and how flows are decided and
// answered. The zero value is not usable; start from DefaultConfig.
type Config struct {
	vnet.Layout

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

// DefaultConfig returns vnet.DefaultLayout with nothing decided: every
// destination not refused by the stack itself is allowed, DNS is refused.
func DefaultConfig() Config {
	return Config{Layout: vnet.DefaultLayout()}
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
