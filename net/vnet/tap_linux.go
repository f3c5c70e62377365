package vnet

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// tunDevice is the clone device TAP interfaces are made from.
const tunDevice = "/dev/net/tun"

// TUNDevice, TAPFlags and TAPOffload are how openTAP makes the device, for
// a process that makes it with raw system calls (the sandbox's fast init).
const (
	TUNDevice  = tunDevice
	TAPFlags   = unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR
	TAPOffload = unix.TUN_F_CSUM
)

// CreateTAP creates the TAP device name in the calling process's network
// namespace and configures it from cfg: MTU, SandboxIP/PrefixLen, link up,
// an IPv4 default route via GatewayIP and, when SandboxIP6 is set and the
// namespace has IPv6, SandboxIP6/PrefixLen6 with an IPv6 default route via
// GatewayIP6. lo is left alone. It returns the TAP's fd (close-on-exec),
// which the caller passes to the parent (SCM_RIGHTS) for New; the device
// lives as long as that fd is open somewhere.
//
// The configuration goes through raw rtnetlink (golang.org/x/sys/unix), not
// vishvananda/netlink: six messages do not justify the dependency.
//
// When /dev/net/tun cannot be opened, or TUNSETIFF refuses, the error wraps
// ErrNoTUN and names the device and the cause.
//
// Preconditions: CAP_NET_ADMIN in the user namespace that owns the calling
// process's network namespace; /dev/net/tun must be the host's (call it
// before pivot_root).
func CreateTAP(name string, cfg Layout) (*os.File, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("create tap %s: %w", name, err)
	}
	fd, err := openTAP(name)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), tunDevice)
	if err := configureTAP(name, cfg); err != nil {
		f.Close()
		return nil, fmt.Errorf("configure tap %s: %w", name, err)
	}
	return f, nil
}

// openTAP opens the clone device and attaches a new TAP interface to it.
func openTAP(name string) (int, error) {
	fd, err := unix.Open(tunDevice, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("%w: open %s: %w", ErrNoTUN, tunDevice, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("create tap %q: %w", name, err)
	}
	// IFF_NO_PI: frames without the 4-byte packet information prefix.
	// IFF_VNET_HDR: each frame behind a struct virtio_net_hdr, which
	// carries checksum offload both ways (see tapLink).
	ifr.SetUint16(TAPFlags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) {
			return -1, fmt.Errorf("%w: %s: create tap %s: %w (needs CAP_NET_ADMIN in the network namespace's user namespace)", ErrNoTUN, tunDevice, name, err)
		}
		return -1, fmt.Errorf("%w: %s: create tap %s: %w", ErrNoTUN, tunDevice, name, err)
	}
	// TUN_F_CSUM: the sandbox's kernel may hand us packets with a partial
	// checksum (CHECKSUM_PARTIAL, flagged in the header) instead of
	// summing every byte it sends; the stack does not check them anyway
	// (RX checksum offload). It also turns on scatter-gather on the device
	// (the kernel drops NETIF_F_SG without a checksum feature), so the
	// sandbox's TCP sends from page fragments rather than copying each
	// segment into one linear buffer. No TSO: at MTU 65520 segments are as
	// large as TSO frames would be. See Documentation/networking/tuntap.rst.
	if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, TAPOffload); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("create tap %s: TUNSETOFFLOAD: %w", name, err)
	}
	// Persistent: closing the last fd then leaves the device alone, and it
	// goes with the sandbox's network namespace, which the kernel tears
	// down in the background once the sandbox and our fd are gone. Without
	// it the stack's last close unregisters the device itself, waiting for
	// RCU grace periods: 10-30 ms on the sandbox's way out (--net user
	// cost 24 ms of start-to-exit, now 8). Nothing outlives the namespace:
	// a tun device (it has rtnl_link_ops) is deleted with it, not moved to
	// the host's. Only speed depends on it: a kernel that refuses it gets
	// the synchronous teardown, not an error.
	_ = unix.IoctlSetInt(fd, unix.TUNSETPERSIST, 1)
	return fd, nil
}

// configureTAP gives the interface its MTU, address, up state and default
// route.
func configureTAP(name string, cfg Layout) error {
	index, err := interfaceIndex(name)
	if err != nil {
		return err
	}
	nl, err := openRtnetlink()
	if err != nil {
		return err
	}
	defer nl.close()
	if err := nl.setLinkUp(index, cfg.MTU); err != nil {
		return fmt.Errorf("set link up, mtu %d: %w", cfg.MTU, err)
	}
	if err := nl.addAddr(index, cfg.SandboxIP, cfg.PrefixLen); err != nil {
		return fmt.Errorf("add address %v/%d: %w", cfg.SandboxIP, cfg.PrefixLen, err)
	}
	if err := nl.addDefaultRoute(index, cfg.GatewayIP); err != nil {
		return fmt.Errorf("add default route via %v: %w", cfg.GatewayIP, err)
	}
	if !cfg.SandboxIP6.IsValid() {
		return nil
	}
	err = nl.addAddr(index, cfg.SandboxIP6, cfg.PrefixLen6)
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EAFNOSUPPORT) {
		// IPv6 is off in this namespace (net.ipv6.conf.*.disable_ipv6
		// inherited from the host, with net.core.devconf_inherit_init_net)
		// or in the kernel (ipv6.disable=1): the sandbox gets IPv4 only,
		// as the host has.
		return nil
	}
	if err != nil {
		return fmt.Errorf("add address %v/%d: %w", cfg.SandboxIP6, cfg.PrefixLen6, err)
	}
	if err := nl.addDefaultRoute(index, cfg.GatewayIP6); err != nil {
		return fmt.Errorf("add default route via %v: %w", cfg.GatewayIP6, err)
	}
	return nil
}

func interfaceIndex(name string) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, fmt.Errorf("look up interface index: %w", err)
	}
	return int(ifr.Uint32()), nil
}
