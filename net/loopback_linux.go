// Package net sets up the sandbox's network namespace. With the network
// unshared the sandbox gets only a loopback interface, brought up here.
package net

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// LoopbackUp brings up "lo" in the current network namespace. The kernel
// gives a new namespace's lo its 127.0.0.1/8 and ::1 addresses itself once
// the link is up.
//
// Preconditions: CAP_NET_ADMIN in the user namespace owning the network
// namespace.
func LoopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: Failed to look up lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: Failed to bring up lo: %w", err)
	}
	return nil
}
