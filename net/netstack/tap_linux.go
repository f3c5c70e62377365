package netstack

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// tunDevice is the clone device TAP interfaces are made from.
const tunDevice = "/dev/net/tun"

// CreateTAP creates the TAP device name in the calling process's network
// namespace and configures it from cfg: MTU, SandboxIP/PrefixLen, link up,
// and an IPv4 default route via GatewayIP. lo is left alone. It returns the
// TAP's fd (close-on-exec), which the caller passes to the parent (SCM_RIGHTS)
// for New; the device lives as long as that fd is open somewhere.
//
// The configuration goes through raw rtnetlink (golang.org/x/sys/unix), not
// vishvananda/netlink: four messages do not justify the dependency.
//
// When /dev/net/tun cannot be opened, or TUNSETIFF refuses, the error wraps
// ErrNoTUN and names the device and the cause.
//
// Preconditions: CAP_NET_ADMIN in the user namespace that owns the calling
// process's network namespace; /dev/net/tun must be the host's (call it
// before pivot_root).
func CreateTAP(name string, cfg Config) (*os.File, error) {
	if err := cfg.validate(); err != nil {
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
	// IFF_NO_PI: frames without the 4-byte packet information prefix;
	// fdbased reads and writes plain Ethernet frames.
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) {
			return -1, fmt.Errorf("%w: %s: create tap %s: %w (needs CAP_NET_ADMIN in the network namespace's user namespace)", ErrNoTUN, tunDevice, name, err)
		}
		return -1, fmt.Errorf("%w: %s: create tap %s: %w", ErrNoTUN, tunDevice, name, err)
	}
	return fd, nil
}

// configureTAP gives the interface its MTU, address, up state and default
// route.
func configureTAP(name string, cfg Config) error {
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
	if err := nl.addAddr4(index, cfg.SandboxIP.As4(), cfg.PrefixLen); err != nil {
		return fmt.Errorf("add address %v/%d: %w", cfg.SandboxIP, cfg.PrefixLen, err)
	}
	if err := nl.addDefaultRoute4(index, cfg.GatewayIP.As4()); err != nil {
		return fmt.Errorf("add default route via %v: %w", cfg.GatewayIP, err)
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
